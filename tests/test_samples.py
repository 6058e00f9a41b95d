"""A track's gaps in samples: one sample is the smallest frame step between rows of one person (the stride)."""
import numpy as np

from inference.samples import sample_gaps


def test_gaps_count_the_stride_as_one_sample():
    gaps, step = sample_gaps(np.array([0, 2, 4, 10, 12]))  # --stride 2 with a gap of three samples
    assert step == 2.0 and gaps.tolist() == [1.0, 1.0, 3.0, 1.0]


def test_only_linked_rows_set_the_step():
    """Two people's rows one after the other (track ids 7, 7, 3, 3): the step between people does not count."""
    frames = np.array([10, 13, 0, 3])
    gaps, step = sample_gaps(frames, np.array([True, False, True]))
    assert step == 3.0 and gaps.tolist() == [1.0, -13 / 3, 1.0]
    assert sample_gaps(np.array([5]))[1] == 1.0 and sample_gaps(np.array([4, 4]), np.array([True]))[1] == 1.0
