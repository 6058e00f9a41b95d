"""A second track on one body is recognised by its joints and left out; people who overlap are kept."""
import numpy as np

from contract.skeleton import JOINT_NAMES
from inference.duplicate_tracks import mirror_order, nested, repeated_tracks


def body(rng: np.random.Generator, frames: int, centre: tuple[float, float], height: float = 200.0) -> np.ndarray:
    """(frames, 24, 2) joints of a person `height` px tall around `centre`, moving a little."""
    shape = rng.uniform([-0.25, -0.5], [0.25, 0.5], (24, 2)) * height
    drift = np.cumsum(rng.normal(0.0, 2.0, (frames, 1, 2)), axis=0)
    return np.asarray(centre) + shape + drift


def test_a_short_track_on_the_same_body_is_a_repeat_and_the_longer_one_stays():
    rng = np.random.default_rng(0)
    person = body(rng, 90, (300.0, 200.0))
    frames = [np.arange(90), np.arange(17, 22)]
    # The repeat's estimate comes from another crop: its joints are close (about 5 % of the body) but not equal.
    repeat = person[17:22] + rng.normal(0.0, 8.0, (5, 24, 2))
    assert repeated_tracks(frames, [person, repeat]) == {1}
    assert repeated_tracks(frames[::-1], [repeat, person]) == {0}  # whatever the order, the longer one stays


def test_a_repeat_labelled_left_for_right_is_still_a_repeat():
    """Each track's landmarks are relabelled along that track: a second box that starts inside a run the
    landmark model mislabelled can keep the run's left-for-right labels while the first track's are put right
    (issue 9's real footage at a quarter of its size: a second rig on the person for 60 frames)."""
    rng = np.random.default_rng(3)
    person = body(rng, 100, (300.0, 200.0))
    mirror = mirror_order(JOINT_NAMES)
    repeat = person[39:][:, mirror] + rng.normal(0.0, 8.0, (61, 24, 2))
    frames = [np.arange(100), np.arange(39, 100)]
    assert repeated_tracks(frames, [person, repeat]) == set()  # labels alone tell them apart
    assert repeated_tracks(frames, [person, repeat], mirror) == {1}
    assert [JOINT_NAMES[i] for i in mirror[:3]] == ["pelvis", "right_hip", "left_hip"]


def test_people_whose_boxes_overlap_are_not_repeats():
    rng = np.random.default_rng(1)
    behind = body(rng, 60, (300.0, 200.0), height=150.0)
    in_front = body(rng, 60, (330.0, 230.0), height=220.0)  # mostly covers the other one, a different body
    assert repeated_tracks([np.arange(60), np.arange(60)], [behind, in_front]) == set()
    # Two people pressed together (a hug seen from the side): the same build, joints 12 % of the body's size
    # apart (a little less than a chest's depth).
    size = np.linalg.norm(np.ptp(behind, axis=1), axis=-1).mean()
    hugging = behind + [0.12 * size, 0.0]
    assert repeated_tracks([np.arange(60), np.arange(10, 50)], [behind, hugging[10:50]]) == set()


def squares_around(joints: np.ndarray) -> np.ndarray:
    """(n, J, 2) -> (n, 4) x, y, w, h: the square crop box around each frame's joints, with a margin."""
    low, high = joints.min(axis=1), joints.max(axis=1)
    side = 1.2 * (high - low).max(axis=1, keepdims=True)
    return np.concatenate([(low + high) / 2 - side / 2, np.repeat(side, 2, axis=1)], axis=1)


def test_a_box_on_part_of_a_person_is_a_repeat_by_its_head():
    """Pose2Sim's two-person take, camera 1: a box on the woman's head and raised hands gives a squashed body
    (joints a third of her size off hers) for 17 frames, under the same head; the job left it as a fourth
    rig. A person further back, whose box lies inside the nearer one's, has a head of their own and stays."""
    rng = np.random.default_rng(4)
    head = JOINT_NAMES.index("head")
    person = body(rng, 80, (400.0, 400.0), height=600.0)
    size = np.linalg.norm(np.ptp(person, axis=1), axis=-1)[:, None, None]
    partial = person[30:50] + rng.uniform(-0.45, 0.45, (20, 24, 2)) * size[30:50]
    partial[:, head] = person[30:50, head] + rng.normal(0.0, 3.0, (20, 2))
    part_box = np.concatenate([partial[:, head] - 60.0, np.full((20, 2), 120.0)], axis=1)
    frames, boxes = [np.arange(80), np.arange(30, 50)], [squares_around(person), part_box]
    assert repeated_tracks(frames, [person, partial]) == set()  # the joints alone are too far apart
    assert repeated_tracks(frames, [person, partial], None, boxes, head) == {1}
    further_back = body(rng, 20, (380.0, 300.0), height=150.0)
    assert repeated_tracks(frames, [person, further_back], None, [boxes[0], squares_around(further_back)],
                           head) == set()
    assert bool(nested(squares_around(further_back), boxes[0][30:50]).all())


def test_a_repeat_that_outlives_its_body_by_a_frame_or_two_is_still_a_repeat():
    rng = np.random.default_rng(3)
    person = body(rng, 98, (300.0, 200.0))
    repeat = person[94:98] + rng.normal(0.0, 8.0, (4, 24, 2))
    repeat = np.concatenate([repeat, repeat[-1:] + 3.0, repeat[-1:] + 6.0])  # frames 94-99
    assert repeated_tracks([np.arange(98), np.arange(94, 100)], [person, repeat]) == {1}


def test_a_track_that_mostly_lives_elsewhere_in_time_is_kept():
    rng = np.random.default_rng(2)
    person = body(rng, 40, (300.0, 200.0))
    later = np.concatenate([person[30:40], body(rng, 30, (300.0, 200.0))])  # 10 shared frames of 40
    assert repeated_tracks([np.arange(40), np.arange(30, 70)], [person, later]) == set()
    assert repeated_tracks([], []) == set()


def test_the_job_drops_a_repeat_with_its_report_and_refinement_figures():
    from types import SimpleNamespace

    from inference.estimate_job import without_repeats

    rng = np.random.default_rng(3)
    person, other = body(rng, 50, (300.0, 200.0)), body(rng, 50, (700.0, 220.0))
    tracks = [SimpleNamespace(frame=np.arange(50), joints2d=person, bbox_xywh=squares_around(person)),
              SimpleNamespace(frame=np.arange(10, 15), joints2d=person[10:15] + 3.0,
                              bbox_xywh=squares_around(person[10:15])),
              SimpleNamespace(frame=np.arange(50), joints2d=other, bbox_xywh=squares_around(other))]
    figures = [{"track": 4}, {"track": 7}, {"track": 9}]
    kept, ids, kept_figures, reports = without_repeats(tracks, [4, 7, 9], figures, ["a", "b", "c"])
    assert ids == [4, 9] and kept == [tracks[0], tracks[2]] and reports == ["a", "c"]
    assert kept_figures == [{"track": 4}, {"track": 9}]
