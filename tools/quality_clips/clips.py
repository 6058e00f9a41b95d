"""The benchmark's clips: which capture, which body and clothes, and where the camera stands."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .blender_scene import Outfit

MOTIONS = Path(__file__).resolve().parent / "motions"
FPS = 30.0
SIZE = (640, 360)


@dataclass(frozen=True)
class ClipSpec:
    name: str
    what: str  # one line for the tables
    motion: str  # file in motions/
    frames: int
    outfit: Outfit
    azimuth_deg: float  # where the camera stands around the person's mean position (0 = in front at the start)
    distance_m: float
    height_m: float = 1.5
    pan_deg: float = 0.0  # a slow pan over the whole clip (0: the camera stands still)
    start_s: float = 0.0
    denoise: bool = False  # a moving camera turns render grain into new detail every frame: 4x the video size
    size: tuple[int, int] = SIZE  # pixels (width, height)
    betas: np.ndarray = field(default_factory=lambda: np.zeros(10))

    @property
    def focal_px(self) -> float:
        """The image diagonal: the estimator's own default focal length, so a user's run needs no --focal."""
        return float(np.hypot(*self.size))


CLIPS: tuple[ClipSpec, ...] = (
    ClipSpec("walk", "walking past a still camera, three-quarter view", "humanoid3d_walk.txt", 90,
             Outfit(skin=(0.8, 0.58, 0.45), shirt=(0.15, 0.3, 0.6), trousers=(0.12, 0.12, 0.14)),
             azimuth_deg=50.0, distance_m=6.0),
    ClipSpec("turn", "turning on the spot (two pirouettes), still camera", "humanoid3d_spin.txt", 90,
             Outfit(skin=(0.45, 0.3, 0.22), shirt=(0.7, 0.2, 0.15), trousers=(0.35, 0.3, 0.25)),
             azimuth_deg=-20.0, distance_m=5.0, height_m=1.6, start_s=0.5,
             betas=np.array([-0.8, 0.5, 0, 0, 0, 0, 0, 0, 0, 0])),
    ClipSpec("fast", "a spinning kick, side view, still camera", "humanoid3d_spinkick.txt", 72,
             Outfit(skin=(0.9, 0.7, 0.6), shirt=(0.85, 0.85, 0.8), trousers=(0.2, 0.25, 0.45)),
             azimuth_deg=90.0, distance_m=5.5, betas=np.array([1.0, -0.5, 0, 0, 0, 0, 0, 0, 0, 0])),
    ClipSpec("pan", "jumping forward, the camera slowly panning 24 degrees", "humanoid3d_jump.txt", 90,
             Outfit(skin=(0.65, 0.45, 0.33), shirt=(0.2, 0.45, 0.25), trousers=(0.5, 0.45, 0.35)),
             azimuth_deg=30.0, distance_m=6.5, height_m=1.4, pan_deg=24.0, denoise=True),
    ClipSpec("dance", "dancing with the arms raised overhead, still camera", "humanoid3d_dance_a.txt", 90,
             Outfit(skin=(0.55, 0.38, 0.28), shirt=(0.8, 0.65, 0.2), trousers=(0.15, 0.15, 0.3)),
             azimuth_deg=-15.0, distance_m=6.0, betas=np.array([0.3, 0.8, 0, 0, 0, 0, 0, 0, 0, 0])),
    ClipSpec("near", "dancing close to the camera, 530 px tall in 1280x720",
             "humanoid3d_dance_a.txt", 60,
             Outfit(skin=(0.85, 0.62, 0.5), shirt=(0.25, 0.25, 0.28), trousers=(0.2, 0.22, 0.35)),
             azimuth_deg=25.0, distance_m=3.8, height_m=1.3, start_s=1.0, size=(1280, 720)),
    ClipSpec("floor", "getting up from lying on the back, still camera", "humanoid3d_getup_faceup.txt", 112,
             Outfit(skin=(0.7, 0.5, 0.38), shirt=(0.55, 0.15, 0.35), trousers=(0.25, 0.3, 0.2)),
             azimuth_deg=70.0, distance_m=5.0, height_m=1.6),
)
