"""A long video track is fitted in overlapping windows with one shape; it comes out as the whole fit does."""
import numpy as np
import pytest

from inference.body_model import SMPLBody
from inference.fitting import windows
from inference.fitting.fit import fit_landmarks
from contract.smpl_file import read_smpl_model
from test_fitting import FOCAL, IMAGE_SIZE, SYNTHETIC, joint_error_mm, moving_scene, observe


@pytest.mark.parametrize("n, window, overlap", [(1501, 1500, 100), (36000, 1500, 100), (120, 50, 15), (7, 3, 1)])
def test_windows_cover_the_track_once_and_reach_past_what_they_keep(monkeypatch, n, window, overlap):
    monkeypatch.setattr(windows, "WINDOW_ROWS", window)
    monkeypatch.setattr(windows, "OVERLAP_ROWS", overlap)
    spans = windows.window_spans(n)
    kept = np.concatenate([np.arange(n)[solved][inner] for solved, inner in spans])
    assert kept.tolist() == list(range(n))
    for solved, inner in spans:
        assert solved.stop - solved.start <= window
        assert inner.start >= min(overlap, solved.start) and (solved.stop - solved.start) - inner.stop >= min(
            overlap, n - solved.stop)
    assert len(windows.shape_rows(n)) <= window and windows.needs_windows(n) == (n > window)


def test_a_long_track_in_windows_matches_the_whole_fit(monkeypatch):
    """Windows of 50 rows over 120 (overlap 15): the seams do not show, one shape holds, and the joints land
    within a few millimetres of the whole fit's (a track of 10 minutes at 60 fps would otherwise need some
    9 GB for the solver)."""
    body = SMPLBody(read_smpl_model(SYNTHETIC))
    rng = np.random.default_rng(11)
    pose, betas, cam_t = moving_scene(rng, 120)
    pixels, visibility, world, truth = observe(body, pose, betas, cam_t, rng)

    def fit():
        return fit_landmarks(body, pixels, visibility, world, IMAGE_SIZE, FOCAL, temporal_weight=1.0)

    whole = fit()
    monkeypatch.setattr(windows, "WINDOW_ROWS", 50)
    monkeypatch.setattr(windows, "OVERLAP_ROWS", 15)
    windowed = fit()
    assert np.ptp(windowed.betas, axis=0).max() < 1e-5  # one shape over every window
    relative = [result.joints3d - result.joints3d[:, :1] for result in (whole, windowed)]
    gap = 1000 * np.linalg.norm(relative[0] - relative[1], axis=-1).mean()
    error = [joint_error_mm(result.joints3d, truth).mean() for result in (whole, windowed)]
    print(f"\nwindowed vs whole {gap:.1f} mm; joint error {error[0]:.1f} -> {error[1]:.1f} mm")
    assert gap < 10.0 and error[1] < error[0] + 5.0
    # No step at the seams (kept ranges end at rows 40 and 80): their acceleration is like the rest's.
    accel = 1000 * np.linalg.norm(np.diff(windowed.joints3d, n=2, axis=0), axis=-1).mean(axis=1)
    seams = [s + inner.stop - 2 for s, inner in ((solved.start, inner) for solved, inner in windows.window_spans(120))
             ][:-1]
    assert max(accel[seam - 1:seam + 2].max() for seam in seams) < 3.0 * np.median(accel) + 2.0
