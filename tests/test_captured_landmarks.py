"""Landmarks one track took from another person are left unseen on that track, not on the person's own."""
import numpy as np

from inference.captured_landmarks import taken_landmarks
from inference.duplicate_tracks import mirror_order
from inference.fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES

MIRROR = mirror_order(BLAZEPOSE_LANDMARK_NAMES)
FACE = list(range(11))  # nose, eyes, ears, mouth


def person(rng: np.random.Generator, frames: int, centre: tuple[float, float], height: float) -> np.ndarray:
    """(frames, 33, 2) landmarks of a person `height` px tall around `centre`, moving a little."""
    shape = rng.uniform([-0.25, -0.5], [0.25, 0.5], (33, 2)) * height
    return np.asarray(centre) + shape + np.cumsum(rng.normal(0.0, 2.0, (frames, 1, 2)), axis=0)


def whole_frames(taken: np.ndarray, first: int = 0) -> list[int]:
    """The frame numbers (rows from `first`) whose landmarks were all taken."""
    return (np.flatnonzero(taken.all(axis=1)) + first).tolist()


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
    taken = taken_landmarks(frames, [her, his_landmarks], confidence, MIRROR)
    assert not taken[0].any()
    assert whole_frames(taken[1]) == list(range(78, 100)) and not taken[1][:78].any()
    # Whichever order the tracks come in.
    taken = taken_landmarks(frames[::-1], [his_landmarks, her], confidence[::-1], MIRROR)
    assert whole_frames(taken[0]) == list(range(78, 100)) and not taken[0][:78].any() and not taken[1].any()


def test_a_track_that_starts_elsewhere_and_comes_onto_a_tracked_person_loses_those_frames():
    """The real footage's camera 2 cut below the knees: a third track, started on frame 62 beside the person,
    has the person's landmarks from frame 85; the person's own track (whose box, on part of them, fits their
    landmarks worse than the newcomer's) keeps all its frames."""
    rng = np.random.default_rng(8)
    tracked = person(rng, 100, (680.0, 560.0), 500.0)
    newcomer = person(rng, 38, (790.0, 530.0), 300.0)
    newcomer[23:] = tracked[85:] + rng.normal(0.0, 5.0, (15, 33, 2))
    confidence = [np.full((100, 33), 0.9), np.full((38, 33), 0.9)]
    taken = taken_landmarks([np.arange(100), np.arange(62, 100)], [tracked, newcomer], confidence, MIRROR)
    assert not taken[0].any() and whole_frames(taken[1], 62) == list(range(85, 100))
    assert not taken[1][:23].any()
    # With no frames shared before the landmarks coincide, the track that started later took them.
    taken = taken_landmarks([np.arange(100), np.arange(85, 100)], [tracked, newcomer[23:]],
                            [confidence[0], confidence[1][23:]], MIRROR)
    assert not taken[0].any() and not taken[1].any()  # all its frames coincide: a repeat, not judged here


def test_people_side_by_side_and_repeats_lose_nothing_here():
    rng = np.random.default_rng(6)
    one, two = person(rng, 60, (300.0, 400.0), 400.0), person(rng, 60, (420.0, 410.0), 400.0)
    confidence = [np.full((60, 33), 0.9)] * 2
    frames = [np.arange(60), np.arange(60)]
    taken = taken_landmarks(frames, [one, two], confidence, MIRROR)
    assert not any(t.any() for t in taken)
    # A second box on one person for most of its life is a repeat (`duplicate_tracks` leaves it out whole).
    repeat = one[20:30] + rng.normal(0.0, 4.0, (10, 33, 2))
    taken = taken_landmarks([np.arange(60), np.arange(20, 30)], [one, repeat], [confidence[0], confidence[0][:10]],
                            MIRROR)
    assert not any(t.any() for t in taken)
    # Landmarks the model did not see are not compared: unseen ones on the other person take nothing.
    unseen = two.copy()
    unseen[:, :20] = one[:, :20]
    low = np.full((60, 33), 0.9)
    low[:, :20] = 0.1
    taken = taken_landmarks(frames, [one, unseen], [confidence[0], low], MIRROR)
    assert not any(t.any() for t in taken)


def test_a_track_whose_face_lies_on_the_other_persons_loses_only_its_face_there():
    """Camera 3 again, earlier: with his back turned, the man's face landmarks lie on the woman's face from frame
    42 while the rest of his landmarks stay on him; those are left unseen on his track, nothing else."""
    rng = np.random.default_rng(9)
    her = person(rng, 100, (300.0, 760.0), 560.0)
    him = person(rng, 100, (520.0, 800.0), 760.0)
    his_landmarks = him.copy()
    his_landmarks[42:70, FACE] = her[42:70, FACE] + rng.normal(0.0, 5.0, (28, len(FACE), 2))
    his_landmarks[55, FACE] += 0.15 * 560.0  # a frame drifting past the limit: the run goes on, that frame kept
    confidence = [np.full((100, 33), 0.9), np.full((100, 33), 0.9)]
    taken = taken_landmarks([np.arange(100), np.arange(100)], [her, his_landmarks], confidence, MIRROR)
    assert not taken[0].any()
    expected = np.zeros((100, 33), dtype=bool)
    expected[42:70, FACE] = True
    expected[55] = False
    assert np.array_equal(taken[1], expected)


def test_one_hand_on_the_others_takes_nothing():
    """A handshake: one hand's four landmarks coincide with the other person's, both people's own."""
    rng = np.random.default_rng(10)
    one, two = person(rng, 40, (300.0, 400.0), 400.0), person(rng, 40, (520.0, 400.0), 400.0)
    hand = [15, 17, 19, 21]
    two[:, hand] = one[:, hand] + rng.normal(0.0, 3.0, (40, 4, 2))
    confidence = [np.full((40, 33), 0.9)] * 2
    taken = taken_landmarks([np.arange(40), np.arange(40)], [one, two], confidence, MIRROR)
    assert not any(t.any() for t in taken)


def test_the_taken_landmarks_are_left_unseen_on_the_raw_track():
    from inference.finalize import RawTrack, without_landmarks

    rng = np.random.default_rng(7)
    landmarks = person(rng, 10, (300.0, 400.0), 400.0)
    raw = RawTrack(frame=np.arange(5, 15), box_xywh=np.zeros((10, 4)), landmarks_image=landmarks,
                   landmarks_confidence=np.full((10, 33), 0.9, dtype=np.float32),
                   landmarks_world=np.zeros((10, 33, 3)))
    stored = np.arange(5, 16)  # the store's frames: the raw track was cut after its last detection
    taken = np.zeros((11, 33), dtype=bool)
    taken[3:5] = True  # frames 8 and 9 whole
    taken[6, FACE] = True  # frame 11's face
    taken[10] = True  # frame 15: not in the raw track
    kept = without_landmarks(raw, stored, taken)
    assert (kept.landmarks_confidence.max(axis=1) > 0).tolist() == [True] * 3 + [False] * 2 + [True] * 5
    assert np.isnan(kept.landmarks_image[3:5]).all() and np.isnan(kept.landmarks_image[6, FACE]).all()
    assert (kept.landmarks_confidence[6, FACE] == 0).all() and (kept.landmarks_confidence[6, 11:] == 0.9).all()
    unchanged = np.ones(10, dtype=bool)
    unchanged[[3, 4, 6]] = False
    assert np.array_equal(kept.landmarks_image[unchanged], landmarks[unchanged])
    assert np.array_equal(kept.landmarks_image[6, 11:], landmarks[6, 11:])
    assert kept.landmarks_confidence.dtype == np.float32
    assert without_landmarks(raw, stored, np.zeros((11, 33), dtype=bool)) is raw
