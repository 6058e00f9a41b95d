"""Online tracker on generated box sequences: crossing, occlusion, entry/exit, flickers, tiny people, jitter."""
import itertools

import numpy as np
import pytest

from contract.errors import UserError
from inference.people.assignment import min_cost_assignment
from inference.people.tracking import OnlineTracker, TrackSummary, box_iou, choose_tracks, keep_tracks

JITTER = 0.02  # detector box noise, as a fraction of the person's height (a few pixels on a 200 px person)


def person(frames, x0, vx, y=100.0, height=200.0, width=80.0, jitter=JITTER, seed=0):
    """{frame: (x, y, w, h, score)} of one walker moving vx px/frame, with seeded box jitter."""
    rng = np.random.default_rng(seed)
    boxes = {}
    for f in frames:
        n = rng.normal(size=4) * jitter * height
        w, h = width + n[2], height + n[3]
        cx, cy = x0 + vx * f + n[0], y + height / 2 + n[1]
        boxes[f] = np.array([cx - w / 2, cy - h / 2, w, h, 0.9])
    return boxes


def run(people, frames, tracker=None):
    """Feed each frame's detections (shuffled) -> ({(person, frame): (id, box)}, tracker)."""
    tracker = tracker or OnlineTracker()
    rng = np.random.default_rng(123)
    seen = {}
    for f in frames:
        present = [p for p, boxes in enumerate(people) if f in boxes]
        order = rng.permutation(len(present))  # detection order must not matter
        dets = np.array([people[present[i]][f] for i in order]).reshape(-1, 5)
        for i, (track_id, box) in zip(order, tracker.update(f, dets)):
            seen[(present[i], f)] = (track_id, box)
    return seen, tracker


def ids_of(seen, p):
    return {track_id for (q, _), (track_id, _) in seen.items() if q == p}


def test_hungarian_matches_brute_force_including_forbidden_pairs_and_ties():
    rng = np.random.default_rng(0)
    for _ in range(400):
        rows, cols = rng.integers(1, 6, size=2)
        cost = rng.random((rows, cols))
        if rng.random() < 0.3:
            cost = np.round(cost * 3)  # ties
        cost[rng.random((rows, cols)) < 0.3] = np.inf
        got = min_cost_assignment(cost)
        assert len({r for r, _ in got}) == len({c for _, c in got}) == len(got)
        assert all(np.isfinite(cost[r, c]) for r, c in got)
        best = None
        small, transposed = (cost, False) if rows <= cols else (cost.T, True)
        for perm in itertools.permutations(range(small.shape[1]), small.shape[0]):
            pairs = [(r, c) for r, c in enumerate(perm) if np.isfinite(small[r, c])]
            key = (-len(pairs), sum(small[r, c] for r, c in pairs))
            if best is None or key[0] < best[0] or (key[0] == best[0] and key[1] < best[1] - 1e-12):
                best = key
        total = sum(cost[r, c] for r, c in got)
        assert -len(got) == best[0] and total == pytest.approx(best[1], abs=1e-9)


def test_box_iou():
    a = np.array([[0, 0, 10, 10.0]])
    b = np.array([[0, 0, 10, 10.0], [5, 0, 10, 10.0], [20, 20, 5, 5.0]])
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0]])


@pytest.mark.parametrize("stride", [1, 3])
@pytest.mark.parametrize("hide_back_person", [False, True])
def test_two_people_crossing_keep_their_ids(stride, hide_back_person):
    frames = range(0, 100, stride)
    front = person(frames, x0=100, vx=6, height=220, seed=1)
    back = person(frames, x0=700, vx=-6, height=190, y=110, seed=2)
    if hide_back_person:  # the detector loses the person behind while the two overlap (about 14 frames)
        back = {f: b for f, b in back.items() if abs((100 + 6 * f) - (700 - 6 * f)) > 80}
    seen, tracker = run([front, back], frames)
    assert len(ids_of(seen, 0)) == 1 and len(ids_of(seen, 1)) == 1
    assert ids_of(seen, 0) != ids_of(seen, 1)
    assert len(tracker.finish()) == 2


def test_short_occlusion_keeps_the_id():
    walker = person(range(80), x0=50, vx=4, seed=3)
    walker = {f: b for f, b in walker.items() if not 30 <= f < 38}  # hidden for 8 frames
    seen, tracker = run([walker], range(80))
    assert len(ids_of(seen, 0)) == 1
    (summary,) = tracker.finish()
    assert (summary.first_frame, summary.last_frame, summary.frames_seen) == (0, 79, 72)


def test_entry_and_exit():
    a = person(range(0, 60), x0=100, vx=3, seed=4)
    b = person(range(30, 140), x0=900, vx=-2, seed=5)
    c = person(range(120, 160), x0=100 + 3 * 59 - 3 * 120, vx=3, seed=6)  # where `a` left, 61 frames later
    seen, tracker = run([a, b, c], range(160), OnlineTracker(max_gap=30))
    ids = [ids_of(seen, p) for p in range(3)]
    assert all(len(i) == 1 for i in ids) and len(set.union(*ids)) == 3
    by_id = {s.id: s for s in tracker.finish()}
    sa, sb, sc = (by_id[next(iter(i))] for i in ids)
    assert (sa.first_frame, sa.last_frame) == (0, 59)
    assert (sb.first_frame, sb.last_frame, sb.frames_seen) == (30, 139, 110)
    assert (sc.first_frame, sc.last_frame) == (120, 159) and sc.id > sb.id


def test_a_one_frame_false_positive_and_a_tiny_far_person_are_dropped():
    walker = person(range(60), x0=100, vx=3, seed=7)
    flicker = {20: np.array([500, 50, 60, 150, 0.6])}
    tiny = person(range(60), x0=900, vx=1, height=30, width=12, seed=8)
    seen, tracker = run([walker, flicker, tiny], range(60))
    summaries = tracker.finish()
    assert len(summaries) == 3
    kept = keep_tracks(summaries)
    assert kept == ids_of(seen, 0)
    assert ids_of(seen, 2) <= {s.id for s in summaries}  # the tiny person was tracked, then dropped
    assert keep_tracks(summaries, min_frames=1, min_height_px=0) == {s.id for s in summaries}


def test_fast_small_person_reversing_is_kept_by_the_centre_fallback():
    frames = range(40)
    x = np.where(np.arange(40) < 20, 12.0 * np.arange(40), 12.0 * (40 - np.arange(40)))  # turns at frame 20
    walker = {f: np.array([x[f], 300, 30, 80, 0.8]) for f in frames}
    seen, tracker = run([walker], frames)
    # the prediction overshoots by 24 px on a 30 px wide box: IoU ~0.1, centre 0.3 heights away
    assert len(ids_of(seen, 0)) == 1


def test_a_person_bending_over_keeps_their_id_and_a_small_box_there_does_not_take_it():
    # The `near` quality clip, frames 18 -> 22: a standing dancer's box (280 x 537) becomes, as she bends over
    # with an arm out, a wide low one (362 x 323) whose centre moved 0.31 heights: IoU 0.297 with the
    # prediction, height 0.6 of before, size (square root of the area) 0.88.
    standing = {f: np.array([371.0, -10.0, 280.0, 537.0, 0.8]) for f in range(10)}
    bent = {f: np.array([464.0, 200.0, 362.0, 323.0, 0.8]) for f in range(10, 20)}
    seen, _ = run([{**standing, **bent}], range(20))
    assert len(ids_of(seen, 0)) == 1
    # A far, small person (size 0.4 of hers) at that spot while she is missed is somebody else.
    small = {f: np.array([560.0, 250.0, 110.0, 220.0, 0.8]) for f in range(10, 20)}
    seen, _ = run([standing, small], range(20), OnlineTracker(box_smoothing=None))
    assert ids_of(seen, 0).isdisjoint(ids_of(seen, 1))


def test_a_person_lying_down_who_moves_across_their_length_keeps_their_id():
    # The `dance` quality clip turned a quarter, frames 50 -> 51: the dancer lying (box 218 x 86) moved 55 px
    # across her length in a frame: IoU 0.23 with the prediction, centre 0.64 of the box's height away but 0.25
    # of its length (a person lying down is as long as standing up).
    lying = {f: np.array([71.0, 275.0, 218.0, 86.0, 0.8]) for f in range(10)}
    moved = {f: np.array([74.0, 323.0, 166.0, 90.0, 0.8]) for f in range(10, 20)}
    seen, _ = run([{**lying, **moved}], range(20))
    assert len(ids_of(seen, 0)) == 1


def test_jittery_boxes_are_smoothed_without_lag():
    height, frames = 200.0, range(200)
    raw = {"still": person(frames, x0=300, vx=0, height=height, seed=9),
           "walking": person(frames, x0=100, vx=5, height=height, seed=10)}
    for name, boxes in raw.items():
        seen, _ = run([boxes], frames)
        truth = np.array([100 + 5 * f if name == "walking" else 300 for f in frames])
        centre_raw = np.array([boxes[f][0] + boxes[f][2] / 2 for f in frames])
        centre_out = np.array([seen[(0, f)][1][0] + seen[(0, f)][1][2] / 2 for f in frames])
        err_raw, err_out = (centre_raw - truth)[20:], (centre_out - truth)[20:]
        jitter_raw, jitter_out = np.diff(centre_raw).std(), np.diff(centre_out).std()
        print(f"{name}: rms error {np.sqrt(np.mean(err_raw ** 2)):.2f} -> {np.sqrt(np.mean(err_out ** 2)):.2f} px, "
              f"frame-to-frame jitter {jitter_raw:.2f} -> {jitter_out:.2f} px, mean offset {err_out.mean():.2f} px")
        assert jitter_out < jitter_raw / 2.5
        assert np.sqrt(np.mean(err_out ** 2)) < 0.7 * np.sqrt(np.mean(err_raw ** 2))
        # no lag behind the walker: under 2 px on 200 px (a low-pass as steady would trail by 7.5 px)
        assert abs(err_out.mean()) < 0.01 * height
        size_out = np.array([seen[(0, f)][1][3] for f in frames])
        assert np.diff(size_out).std() < np.diff([boxes[f][3] for f in frames]).std() / 2.5


def test_smoothing_off_returns_the_raw_boxes():
    boxes = person(range(30), x0=100, vx=4, seed=11)
    seen, _ = run([boxes], range(30), OnlineTracker(box_smoothing=None))
    for f in range(30):
        np.testing.assert_array_equal(seen[(0, f)][1], boxes[f][:4])


def test_empty_frames_bad_boxes_and_frame_order():
    tracker = OnlineTracker()
    assert tracker.update(0, np.zeros((0, 5))) == []
    out = tracker.update(1, np.array([[10, 10, 0, 50, 0.9], [10, 10, 20, np.nan, 0.9], [10, 10, 20, 50, 0.9]]))
    assert len(out) == 1
    np.testing.assert_allclose(out[0][1], [10, 10, 20, 50], rtol=1e-12)
    with pytest.raises(ValueError):
        tracker.update(1, np.zeros((0, 5)))


def summaries():
    return [TrackSummary(0, 0, 50, 40, 120.0, 0.9), TrackSummary(2, 10, 90, 60, 100.0, 0.8),
            TrackSummary(5, 0, 99, 60, 180.0, 0.7)]


def test_choose_tracks():
    assert choose_tracks(summaries(), "all") == [0, 2, 5]
    assert choose_tracks(summaries(), "most-visible") == [5]  # 60 frames like id 2, but taller
    assert choose_tracks(summaries(), " 5, 0,5 ") == [5, 0]
    assert choose_tracks([], "all") == [] and choose_tracks([], "most-visible") == []
    with pytest.raises(UserError, match=r"no track 3.*tracks found: 0, 2, 5"):
        choose_tracks(summaries(), "0,3")
    with pytest.raises(UserError, match="tracks found: 0, 2, 5"):
        choose_tracks(summaries(), "first")


def test_coasting_predicts_briefly_missed_confirmed_people_only():
    tracker = OnlineTracker()
    for frame in range(5):  # a person walking right 10 px a frame: confirmed
        tracker.update(frame, np.array([[100 + 10 * frame, 50, 40, 100, 0.9]]))
    tracker.update(5, np.array([[400, 300, 40, 100, 0.9]]))  # a new, tentative person far away
    (track_id, box), = tracker.coasting(5, max_frames=3)
    assert track_id == 0 and abs(box[0] - 150) < 5  # predicted where the walker should be
    for frame in (6, 7):
        tracker.update(frame, np.zeros((0, 5)))
    assert [i for i, _ in tracker.coasting(7, max_frames=3)] == [0]  # last seen at frame 4
    tracker.update(8, np.zeros((0, 5)))
    assert tracker.coasting(8, max_frames=3) == []  # missed for longer than that: no guess


def test_follow_predicts_only_when_sure_of_everyone():
    """Between detections the tracker answers with predicted boxes only when every live person has been found
    often enough to know their velocity, was found by the last detection, and moves steadily."""
    walker = person(range(40), x0=100, vx=3, jitter=0.0)
    tracker = OnlineTracker()
    for frame in range(0, 8, 2):
        tracker.update(frame, walker[frame][None])
        assert tracker.follow(frame + 1) is None  # too young: its velocity has not settled
    tracker.update(8, walker[8][None])
    (track_id, box), = tracker.follow(9)
    np.testing.assert_allclose(box, walker[9][:4], atol=1.0)  # where the walker is at frame 9
    tracker.update(10, walker[10][None])
    (track_id, box), = tracker.follow(11)
    assert track_id == 0
    np.testing.assert_allclose(box, walker[11][:4], atol=1.0)
    tracker.update(12, np.zeros((0, 5)))  # missed: lost people are looked for, not followed
    assert tracker.follow(13) is None
    tracker.update(14, np.array([walker[14], [500, 50, 40, 100, 0.9]]))  # found again, with a newcomer
    assert tracker.follow(15) is None  # the newcomer is not sure yet
    with pytest.raises(ValueError):
        tracker.follow(14)  # frames still in order


def test_a_weak_detection_where_a_followed_person_is_expected_keeps_them():
    """A walker seen long enough to be kept, whose detection drops below the detector's threshold (a pose, blur,
    partial cover), stays one track through weak boxes where they are expected; a weak box elsewhere, or beside
    a newcomer, starts nothing, and a young track (a duplicate box, say) is not kept alive by weak boxes."""
    walker = person(range(20), x0=100, vx=3, jitter=0.0)
    tracker = OnlineTracker()
    for frame in range(10):
        tracker.update(frame, walker[frame][None])
    elsewhere = np.array([[600.0, 50.0, 60.0, 150.0, 0.25]])
    for frame in range(10, 16):
        weak = np.concatenate([walker[frame][None] * [1, 1, 1, 1, 0.3], elsewhere])
        (track_id, box), = tracker.update(frame, np.zeros((0, 5)), weak=weak)
        assert track_id == 0
        np.testing.assert_allclose(box, walker[frame][:4], atol=1.0)
    assert tracker.coasting(16, max_frames=5) == []  # seen, not lost
    newcomer = np.array([[300.0, 50.0, 60.0, 150.0, 0.9]])
    tracker.update(16, newcomer, weak=newcomer * [1, 1, 1, 1, 0.3] + [2, 0, 0, 0, 0])
    assert [s.frames_seen for s in tracker.finish()] == [16, 1]  # the walker missed once; no third track
    for frame in range(17, 20):  # the newcomer, confirmed but young, then only weakly seen: not sustained
        tracker.update(frame, newcomer if frame < 19 else np.zeros((0, 5)), weak=newcomer * [1, 1, 1, 1, 0.3])
    assert [s.frames_seen for s in tracker.finish()] == [16, 3]


def test_a_fast_person_is_not_followed():
    runner = person(range(10), x0=100, vx=15, height=200.0, jitter=0.0)  # 7.5 % of their height per frame
    tracker = OnlineTracker()
    for frame in range(8):
        tracker.update(frame, runner[frame][None])
    assert tracker.follow(8) is None


class CountingDetector:
    """Stands in for the bundled detector: this frame's boxes of generated people, and how often it ran."""

    def __init__(self, people):
        self.people, self.calls, self.frame, self.expected, self.scans = people, 0, 0, {}, []

    score_threshold = 0.35

    def detect(self, image, expected=None, scan=None, weak_threshold=None):
        self.calls += 1
        self.expected[self.frame] = expected
        if scan:
            self.scans.append(self.frame)
        found = [boxes[self.frame] for boxes in self.people if self.frame in boxes]
        return np.array(found, dtype=np.float32).reshape(-1, 5)


def detected_people(people, frames, fps=None):
    """Run `DetectedPeople` (for footage at `fps`, None: unknown) with a counting stand-in detector -> (answers per
    frame, detector, people)."""
    from inference.people.boxes import DetectedPeople

    tracked = DetectedPeople.for_footage(fps)
    tracked.detector = CountingDetector(people)
    answers = {}
    for frame in frames:
        tracked.detector.frame = frame
        answers[frame] = tracked.boxes(frame, np.zeros((4, 4, 3), np.uint8))
    return answers, tracked.detector, tracked


def test_a_steady_walker_is_detected_on_one_frame_in_four_and_followed_in_between():
    from inference.people.boxes import DETECT_EVERY

    walker = person(range(60), x0=100, vx=2, jitter=0.01)
    answers, detector, tracked = detected_people([walker], range(60))
    assert DETECT_EVERY == 4 and detector.calls <= 5 + 55 / DETECT_EVERY + 1
    overlaps = []
    for frame, found in answers.items():
        (track_id, box, detected), = found
        assert track_id == 0 and detected
        overlaps.append(box_iou(box[None], walker[frame][None, :4])[0, 0])
    # On the walker all along (detecting every frame: mean 0.95, least 0.91 with this jitter).
    assert np.mean(overlaps) > 0.88 and np.min(overlaps) > 0.75
    assert tracked.chosen_tracks("all") == [0]


def test_zoomed_scans_keep_their_duration_on_faster_footage_and_their_frame_count_on_slower():
    from inference.people.boxes import DETECT_EVERY, DetectedPeople

    def cadence(fps):
        people = DetectedPeople.for_footage(fps)
        return people.detect_every, people.scan_every

    assert cadence(30) == cadence(None) == (DETECT_EVERY, 32)
    assert cadence(60) == (DETECT_EVERY, 64) and cadence(50) == (DETECT_EVERY, 53)
    assert cadence(24) == cadence(25) == (DETECT_EVERY, 32)
    assert cadence(90000) == (DETECT_EVERY, 128)  # a rate no camera films at counts as 120 fps


def test_a_walker_filmed_at_60_fps_gets_as_many_zoomed_scans_as_at_30_fps():
    # The same walk over the same four seconds: 120 frames at 30 fps, 240 at 60 fps (half the motion per frame).
    at_30 = person(range(120), x0=100, vx=2, jitter=0.01)
    at_60 = person(range(240), x0=100, vx=1, jitter=0.01)
    _, detector_30, _ = detected_people([at_30], range(120), fps=30)
    answers, detector_60, tracked = detected_people([at_60], range(240), fps=60)
    assert detector_30.scans == [0, 32, 64, 96] and detector_60.scans == [0, 64, 128, 192]
    overlaps = [box_iou(found[0][1][None], at_60[frame][None, :4])[0, 0] for frame, found in answers.items()]
    assert np.mean(overlaps) > 0.88 and np.min(overlaps) > 0.75
    assert tracked.chosen_tracks("all") == [0]


def test_a_newcomer_brings_detection_back_to_every_frame():
    walker = person(range(40), x0=100, vx=2, jitter=0.0)
    newcomer = person(range(20, 40), x0=600, vx=-2, jitter=0.0, seed=1)
    answers, detector, tracked = detected_people([walker, newcomer], range(40))
    ids = {track_id for track_id, _, _ in answers[20]}
    assert len(ids) == 2  # found in the frame they appear, although the walker was being followed
    assert tracked.chosen_tracks("all") == [0, 1]


def test_a_clip_shorter_than_the_minimum_track_keeps_its_person():
    walker = person(range(4), x0=100, vx=2, jitter=0.0)
    _, _, tracked = detected_people([walker], range(4))
    assert tracked.chosen_tracks("all") == [0]


def test_a_lost_person_does_not_hold_the_detector_to_every_frame():
    """Two steady walkers; one is missed by a detection: the other is still followed in the frames after it,
    and the missed one is guessed at its predicted box there (coasting), until the next detection finds it."""
    left, right = (person(range(30), x0=x0, vx=2, jitter=0.0, seed=s) for x0, s in ((100, 0), (600, 1)))
    tracker = OnlineTracker()
    for frame in range(10):
        tracker.update(frame, np.array([left[frame], right[frame]]))
    tracker.update(10, left[10][None])  # the right walker is hidden
    (followed_id, _), = tracker.follow(11)
    (lost_id, box), = tracker.coasting(11, max_frames=5)
    assert followed_id != lost_id
    np.testing.assert_allclose(box, right[11][:4], atol=1.0)
    tracker.update(12, np.array([left[12], right[12]]))
    assert tracker.coasting(12, max_frames=5) == [] and len(tracker.follow(13)) == 2
