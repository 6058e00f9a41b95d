"""Where a tracked person's landmarks are looked for next (`inference/people/landmark_regions.py`): the region
their last landmarks give, unless it no longer holds them, or stands upside down round an upright box while the
track's body was never read turned."""
import numpy as np

from inference.keypoints.roi import Roi
from inference.people.landmark_regions import LandmarkRegions

TALL_BOX = np.array([100.0, 50.0, 80.0, 200.0])  # x, y, w, h: a person standing, or standing on their hands
UPSIDE_DOWN = Roi(140.0, 150.0, 260.0, np.pi)


def followed(read_turned: bool) -> LandmarkRegions:
    """Regions of track 0 started at frame 0 from a body read in a turned region or an upright one, then found
    upside down at frame 1 in the region that followed."""
    regions = LandmarkRegions()
    regions.found(0, 0, UPSIDE_DOWN, continued=False, read_turned=read_turned)
    regions.found(0, 1, UPSIDE_DOWN, continued=True)
    return regions


def test_a_region_that_turned_upside_down_round_an_upright_box_is_left():
    """A spin's landmarks, wrong for a frame, turn the region over: the next look starts from the box."""
    assert followed(read_turned=False).region(0, 2, TALL_BOX) is None


def test_a_body_read_turned_is_followed_upside_down():
    """A handstand, or footage filmed upside down: the search chose a turned read over the upright one, so the
    region that follows it stays (read from the box afresh each frame, the body was lost to upright reads)."""
    region = followed(read_turned=True).region(0, 2, TALL_BOX)
    assert region is not None and np.cos(region.rotation) < -0.99


def test_a_track_started_again_upright_forgets_it_was_read_turned():
    regions = followed(read_turned=True)
    regions.found(0, 2, UPSIDE_DOWN, continued=False, read_turned=False)
    regions.found(0, 3, UPSIDE_DOWN, continued=True)
    assert regions.region(0, 4, TALL_BOX) is None
