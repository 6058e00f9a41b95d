"""Landmarks that went onto another person are looked for again with that person painted out."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.duplicate_tracks import mirror_order
from inference.finalize import RawTrack
from inference.fitting.landmarks import BLAZEPOSE_LANDMARK_NAMES
from inference.landmarks_again import (GREY, Retry, box_within, boxes_round_another, landmarks_again, painted_out,
                                       retries_of, with_found_again)

ROOT = Path(__file__).resolve().parents[1]
MIRROR = mirror_order(BLAZEPOSE_LANDMARK_NAMES)
HER_BOX = np.array([100.0, 100.0, 100.0, 300.0])
HIS_BOX = np.array([150.0, 80.0, 140.0, 340.0])


def body(centre: tuple[float, float], height: float, seed: int) -> np.ndarray:
    """(33, 2) landmarks of a body `height` px tall round `centre`."""
    shape = np.random.default_rng(seed).uniform([-0.25, -0.5], [0.25, 0.5], (33, 2)) * height
    return np.asarray(centre) + shape


HER = body((150.0, 250.0), 300.0, 1)
HIM = body((220.0, 250.0), 340.0, 2)


@dataclass
class Found:
    image: np.ndarray
    confidence: np.ndarray
    world: np.ndarray
    roi: str


class FakeModel:
    """Her box gives her landmarks; his box gives hers too unless she is painted out, then his own, or (with
    `his_arm_on_her`) his with five landmarks on hers, or (with `nobody`) none."""

    def __init__(self, his_arm_on_her: bool = False, nobody: bool = False):
        self.his_arm_on_her, self.nobody = his_arm_on_her, nobody

    def landmarks(self, image_rgb: np.ndarray, box_xywh: np.ndarray):
        ones = np.ones(33)
        if np.allclose(box_xywh, HER_BOX):
            return Found(HER, ones, np.zeros((33, 3)), "her region")
        if not (image_rgb == GREY).all(axis=-1).any():
            return Found(HER, ones, np.zeros((33, 3)), "his region")
        if self.nobody:
            return None
        his = HIM.copy()
        if self.his_arm_on_her:
            his[[13, 15, 17, 19, 21]] = HER[[13, 15, 17, 19, 21]]
        return Found(his, ones, np.ones((33, 3)), "his region")

    def person_mask(self, image_rgb: np.ndarray, roi) -> np.ndarray:
        assert roi == "her region"
        mask = np.zeros(image_rgb.shape[:2], dtype=bool)
        mask[100:400, 100:200] = True
        return mask


def retry() -> Retry:
    return Retry(track=3, frame=7, other_track=9, own_box=HIS_BOX, other_box=HER_BOX, other_landmarks=HER,
                 other_confidence=np.ones(33))


def frames() -> list[tuple[int, np.ndarray]]:
    return [(index, np.full((480, 640, 3), 90, np.uint8)) for index in range(10)]


def test_painting_out_greys_the_person_and_a_margin_round_her():
    image = np.full((50, 60, 3), 7, np.uint8)
    mask = np.zeros((50, 60), dtype=bool)
    mask[20:30, 20:30] = True
    out = painted_out(image, mask, growth_px=3)
    assert (out[17:33, 17:33] == 128).all() and (out[:16] == 7).all() and (out[:, :16] == 7).all()
    assert (image == 7).all()  # the frame itself is left as it was


def test_his_own_body_is_kept_where_she_is_painted_out():
    found = landmarks_again(frames(), [retry()], FakeModel(), MIRROR)
    landmarks, still_on_her = found[(3, 7)]
    assert np.array_equal(landmarks.image, HIM) and not still_on_her.any()


def test_a_part_still_on_her_stays_unseen_and_finding_her_or_nobody_again_keeps_nothing():
    _, still_on_her = landmarks_again(frames(), [retry()], FakeModel(his_arm_on_her=True), MIRROR)[(3, 7)]
    assert np.flatnonzero(still_on_her).tolist() == [13, 15, 17, 19, 21]
    assert landmarks_again(frames(), [retry()], FakeModel(nobody=True), MIRROR) == {}

    class SeesHerAnyway(FakeModel):
        def person_mask(self, image_rgb, roi):
            return np.zeros(image_rgb.shape[:2], dtype=bool)  # nothing painted out: his box still gives her

    assert landmarks_again(frames(), [retry()], SeesHerAnyway(), MIRROR) == {}


def test_retries_are_the_frames_wholly_taken_each_with_the_person_they_lay_on():
    frames_of = {3: np.arange(5, 10), 8: np.arange(0, 10), 9: np.arange(0, 10)}
    elsewhere = body((500.0, 250.0), 300.0, 3)
    landmarks = {3: np.stack([HIM, HIM, HER, HER, HIM]), 8: np.repeat(elsewhere[None], 10, 0),
                 9: np.repeat(HER[None], 10, 0)}
    confidence = {track: np.ones(points.shape[:2]) for track, points in landmarks.items()}
    boxes = {track: np.tile([10.0, 20.0, 120.0, 120.0], (len(f), 1)) for track, f in frames_of.items()}
    taken = {3: np.zeros((5, 33), dtype=bool), 8: np.zeros((10, 33), dtype=bool), 9: np.zeros((10, 33), dtype=bool)}
    taken[3][2:4] = True  # frames 7 and 8
    found = retries_of(frames_of, boxes, landmarks, confidence, taken, margin=1.2, mirror=MIRROR)
    assert [(r.track, r.frame) for r in found] == [(3, 7), (3, 8)]
    assert np.array_equal(found[0].other_landmarks, HER)
    np.testing.assert_allclose(found[0].own_box, [20.0, 30.0, 100.0, 100.0])
    np.testing.assert_allclose(box_within(np.array([0.0, 0.0, 150.0, 150.0]), 1.5), [25.0, 25.0, 100.0, 100.0])


def test_found_landmarks_replace_the_taken_ones_on_the_raw_track():
    n = 4
    raw = RawTrack(frame=np.arange(10, 10 + n), box_xywh=np.zeros((n, 4)),
                   landmarks_image=np.full((n, 33, 2), np.nan), landmarks_confidence=np.zeros((n, 33)),
                   landmarks_world=np.full((n, 33, 3), np.nan))
    taken = np.zeros((n + 1, 33), dtype=bool)  # one stored frame more: the raw track was cut after it
    taken[1:] = True
    arm = np.zeros(33, dtype=bool)
    arm[[13, 15]] = True
    found = Found(HIM, np.full(33, 0.9), np.ones((33, 3)), "his region")
    new_raw, new_taken = with_found_again(raw, np.arange(10, 11 + n), taken, {12: (found, arm)})
    assert np.array_equal(new_raw.landmarks_image[2], HIM) and np.isnan(new_raw.landmarks_image[1]).all()
    assert (new_raw.landmarks_confidence[2] == 0.9).all() and np.isnan(raw.landmarks_image[2]).all()
    assert np.array_equal(new_taken[2], arm) and new_taken[1].all() and new_taken[3:].all() and taken[2].all()
    assert with_found_again(raw, np.arange(10, 11 + n), taken, {}) == (raw, taken)


def test_a_box_round_another_person_with_nobody_left_in_it_is_a_second_box_round_them():
    """Track 4's box holds hers in the frames its landmarks lay on her; painted out, she leaves nobody in it."""
    round_her = np.array([50.0, 50.0, 400.0, 400.0])
    frames_taken = (3, 4, 5, 6)
    retries = [Retry(4, frame, 9, round_her, HER_BOX, HER, np.ones(33)) for frame in frames_taken]
    assert boxes_round_another(retries, {}, {4: 16}) == {4}
    found_in_most = {(4, frame): "his landmarks" for frame in frames_taken[1:]}
    assert boxes_round_another(retries, found_in_most, {4: 16}) == set()  # a person of his own
    assert boxes_round_another(retries, {}, {4: 17}) == set()  # too few of his frames (4 < a quarter of 17)
    behind_her = [Retry(4, frame, 9, np.array([120.0, 150.0, 60.0, 150.0]), HER_BOX, HER, np.ones(33))
                  for frame in frames_taken]
    assert boxes_round_another(behind_her, {}, {4: 16}) == set()  # a box inside hers: someone further back
    her_round_his = [Retry(9, frame, 4, round_her, HER_BOX, HIM, np.ones(33)) for frame in (8, 9, 10, 11, 12)]
    assert boxes_round_another(retries + her_round_his, {}, {4: 16, 9: 20}) == {4}  # one person boxed twice: one goes


def test_the_man_passing_in_front_of_the_woman_keeps_his_body(tmp_path):
    """Pose2Sim's two-person take, camera 3 (bench/multiview_data, BSD-3-Clause), every other frame: from frame
    76 the man's crop gave the woman's landmarks and his body ended there. Now it lasts the take, and stays off
    hers (not two bodies on her)."""
    from inference.estimate_job import run_estimate
    from contract.result_file import read_result

    output = tmp_path / "result.npz"
    run_estimate(ROOT / "bench" / "multiview_data" / "two_people" / "cam03.mp4", output, {"stride": 2})
    people = read_result(output, include_maps=False).persons
    assert len(people) == 2
    woman, man = sorted(people, key=lambda person: person.joints2d[:, 0, 0].mean())  # she stands to his left
    assert man.frame.max() >= 96 and len(man.frame) >= 48
    shared, his_rows, her_rows = np.intersect1d(man.frame, woman.frame, return_indices=True)
    late = shared >= 76
    apart = np.linalg.norm(man.joints2d[his_rows] - woman.joints2d[her_rows], axis=-1).mean(axis=1)
    her_size = np.ptp(woman.joints2d[her_rows][..., 1], axis=1)
    assert (apart[late] > 0.08 * her_size[late]).all()
