"""People lying down, upside down or filmed sideways (docs/detection.md, "Turned people"): the landmark model
reads them in a region turned their way up, and the whole job estimates them."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.people import measures as measures_module
from inference.people.measures import PersonMeasures

ROOT = Path(__file__).resolve().parents[1]
QUALITY = ROOT / "bench" / "quality_data"
sys.path.insert(0, str(ROOT / "bench"))
from clip_variants import rewrite_clip, turned_pixels  # noqa: E402
from quality_metrics import LIMB_JOINTS, pa_mpjpe  # noqa: E402


def quality_frame(clip: str, index: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB frame `index` of a quality clip and the person's mask in it."""
    capture = cv2.VideoCapture(str(QUALITY / f"{clip}.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = capture.read()
    assert ok
    bits = np.load(QUALITY / f"{clip}_truth.npz")["mask_bits"][index]
    return np.ascontiguousarray(bgr[..., ::-1]), np.unpackbits(bits, axis=-1, count=bgr.shape[1]).astype(bool)


def mask_box(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1], np.float64)


@pytest.mark.parametrize("clip,index", [("walk", 0), ("dance", 30)])
@pytest.mark.parametrize("turns", [1, 2, 3])
def test_a_person_turned_is_read_as_they_are_read_upright(monkeypatch, clip, index, turns):
    """The whole frame turned: the person's landmarks, read from their box, are the upright read's turned with
    the picture (the region turned by whole quarters samples the same pixels). Read upright only, they miss by
    tens of pixels: the model draws an upright body into a person lying down."""
    image, mask = quality_frame(clip, index)
    measures = PersonMeasures(crops=False, landmarks=True)
    upright = measures.measure(image, mask_box(mask), None)["landmarks_image"]
    expected, _ = turned_pixels(upright, turns, image.shape[:2])
    picture, person = np.ascontiguousarray(np.rot90(image, -turns)), mask_box(np.rot90(mask, -turns))
    read = measures.measure(picture, person, None)["landmarks_image"]
    assert np.median(np.linalg.norm(read - expected, axis=1)) < 1.0
    monkeypatch.setattr(measures_module, "FITS_BOX", -1.0)  # no turned read
    plain = measures.measure(picture, person, None)["landmarks_image"]
    assert np.median(np.linalg.norm(plain - expected, axis=1)) > 15.0


@pytest.mark.parametrize("clip,turns", [("walk", 1), ("dance", 2)])
def test_a_person_turned_is_estimated_on_them(tmp_path, clip, turns):
    """A quality clip turned a quarter (the walker: no frame of it had a person box before the detector looked
    at turned pictures, "Nobody was found") or upside down (the dancer, arms overhead: read upright from frame
    13 on, 150-340 mm off, before an upside-down read was followed as such): one body over the frames, its
    limbs within 80 mm of the truth after alignment (the upright clips' 55 and 62)."""
    frames = 30
    turned = rewrite_clip(QUALITY / f"{clip}.mp4", tmp_path / "turned.avi", lambda bgr: np.rot90(bgr, -turns),
                          codec="MJPG")
    truth = np.load(QUALITY / f"{clip}_truth.npz")
    out = tmp_path / "turned.npz"
    done = subprocess.run([sys.executable, "-m", "inference", "estimate", "--input", str(turned), "--output",
                           str(out), "--progress", "none", "--focal-length", str(truth["intrinsics"][0, 0]),
                           "--frame-range", f"0:{frames}"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = np.load(out)
    assert [key for key in result.files if key.startswith("person_") and key.endswith("/frame")] == ["person_0/frame"]
    frame = result["person_0/frame"]
    assert len(frame) >= frames - 3
    limbs = pa_mpjpe(result["person_0/joints3d"], truth["joints_camera"][frame], LIMB_JOINTS)
    # mm; turning the camera turns the joints with it, which the per-frame alignment takes out
    assert limbs < 80.0, limbs
