"""Body keypoints per person: MediaPipe's BlazePose landmark model (33 image landmarks + metric 3D landmarks)."""
