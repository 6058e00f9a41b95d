"""Landmarks one track took from another person are left unseen on that track, not on the person's own."""
import numpy as np

from inference.captured_landmarks import captured_frames
from inference.duplicate_tracks import mirror_order
from inference.fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES

MIRROR = mirror_order(BLAZEPOSE_LANDMARK_NAMES)


def person(rng: np.random.Generator, frames: int, centre: tuple[float, float], height: float) -> np.ndarray:
    """(frames, 33, 2) landmarks of a person `height` px tall around `centre`, moving a little."""
    shape = rng.uniform([-0.25, -0.5], [0.25, 0.5], (33, 2)) * height
    return np.asarray(centre) + shape + np.cumsum(rng.normal(0.0, 2.0, (frames, 1, 2)), axis=0)


def test_the_track_that_came_onto_the_other_person_loses_those_frames():
    """Pose2Sim's two-person take, camera 3: from frame 78 the man's track has the woman's landmarks; hers keeps
    them, his is left unseen there, left and right labelled either way."""
    rng = np.random.default_rng(5)
    her = person(rng, 100, (300.0, 760.0), 560.0)
    him = person(rng, 100, (420.0, 800.0), 760.0)
    his_landmarks = him.copy()
    his_landmarks[78:] = her[78:][:, MIRROR] + rng.normal(0.0, 6.0, (22, 33, 2))  # taken, sides swapped
    his_landmarks[88] = her[88] + 0.12 * 560.0  # drifting just past the limit inside the run: still taken
    frames = [np.arange(100), np.arange(100)]
    confidence = [np.full((100, 33), 0.9), np.full((100, 33), 0.9)]
    taken = captured_frames(frames, [her, his_landmarks], confidence, MIRROR)
    assert len(taken[0]) == 0
    assert taken[1].tolist() == list(range(78, 100))
    # Whichever order the tracks come in.
    taken = captured_frames(frames[::-1], [his_landmarks, her], confidence[::-1], MIRROR)
    assert taken[0].tolist() == list(range(78, 100)) and len(taken[1]) == 0


def test_a_track_that_starts_elsewhere_and_comes_onto_a_tracked_person_loses_those_frames():
    """The real footage's camera 2 cut below the knees: a third track, started on frame 62 beside the person,
    has the person's landmarks from frame 85; the person's own track (whose box, on part of them, fits their
    landmarks worse than the newcomer's) keeps all its frames."""
    rng = np.random.default_rng(8)
    tracked = person(rng, 100, (680.0, 560.0), 500.0)
    newcomer = person(rng, 38, (790.0, 530.0), 300.0)
    newcomer[23:] = tracked[85:] + rng.normal(0.0, 5.0, (15, 33, 2))
    confidence = [np.full((100, 33), 0.9), np.full((38, 33), 0.9)]
    taken = captured_frames([np.arange(100), np.arange(62, 100)], [tracked, newcomer], confidence, MIRROR)
    assert len(taken[0]) == 0 and taken[1].tolist() == list(range(85, 100))
    # With no frames shared before the landmarks coincide, the track that started later took them.
    taken = captured_frames([np.arange(100), np.arange(85, 100)], [tracked, newcomer[23:]],
                            [confidence[0], confidence[1][23:]], MIRROR)
    assert len(taken[0]) == 0 and len(taken[1]) == 0  # all its frames coincide: a repeat, not judged here


def test_people_side_by_side_and_repeats_lose_nothing_here():
    rng = np.random.default_rng(6)
    one, two = person(rng, 60, (300.0, 400.0), 400.0), person(rng, 60, (420.0, 410.0), 400.0)
    confidence = [np.full((60, 33), 0.9)] * 2
    frames = [np.arange(60), np.arange(60)]
    taken = captured_frames(frames, [one, two], confidence, MIRROR)
    assert all(len(t) == 0 for t in taken)
    # A second box on one person for most of its life is a repeat (`duplicate_tracks` leaves it out whole).
    repeat = one[20:30] + rng.normal(0.0, 4.0, (10, 33, 2))
    taken = captured_frames([np.arange(60), np.arange(20, 30)], [one, repeat], [confidence[0], confidence[0][:10]],
                            MIRROR)
    assert all(len(t) == 0 for t in taken)
    # Landmarks the model did not see are not compared: unseen ones on the other person take nothing.
    unseen = two.copy()
    unseen[:, :20] = one[:, :20]
    low = np.full((60, 33), 0.9)
    low[:, :20] = 0.1
    taken = captured_frames(frames, [one, unseen], [confidence[0], low], MIRROR)
    assert all(len(t) == 0 for t in taken)


def test_the_taken_frames_are_left_unseen_on_the_raw_track():
    from inference.finalize import RawTrack, without_landmarks

    rng = np.random.default_rng(7)
    landmarks = person(rng, 10, (300.0, 400.0), 400.0)
    raw = RawTrack(frame=np.arange(5, 15), box_xywh=np.zeros((10, 4)), landmarks_image=landmarks,
                   landmarks_confidence=np.full((10, 33), 0.9, dtype=np.float32),
                   landmarks_world=np.zeros((10, 33, 3)))
    kept = without_landmarks(raw, np.array([8, 9, 30]))
    assert (kept.landmarks_confidence.max(axis=1) > 0).tolist() == [True] * 3 + [False] * 2 + [True] * 5
    assert np.isnan(kept.landmarks_image[3:5]).all() and np.array_equal(kept.landmarks_image[5:], landmarks[5:])
    assert kept.landmarks_confidence.dtype == np.float32 and without_landmarks(raw, np.zeros(0)) is raw
