"""The bundled person detector: license-free photos of people, nobody, frame sizes, faithful conversion."""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from contract.errors import UserError
from inference.image_io import read_image_rgb
from inference.people import detector as detector_module
from inference.people.detector import DEFAULT_SCORE_THRESHOLD, MODEL_PATH, PersonDetector, unturned
from inference.people import nanodet
from inference.people.graph_program import GraphProgram

SAMPLES = Path(__file__).resolve().parents[1] / "assets" / "samples"

# Hand-drawn boxes [x, y, w, h] around each person in the samples (assets/samples/LICENSES.md).
ASTRONAUT = [20, 12, 345, 500]  # upper body, facing the camera
CAMERAMAN = [0, 62, 330, 450]  # side view, down to the knees
ASCENT_BACKPACKER = [398, 240, 114, 160]  # seen from behind, legs hidden by the railing


@pytest.fixture(scope="module")
def detector() -> PersonDetector:
    return PersonDetector.load()


def iou(a, b) -> float:
    (ax, ay, aw, ah), (bx, by, bw, bh) = a[:4], b[:4]
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def best_iou(boxes: np.ndarray, expected) -> float:
    return max((iou(row, expected) for row in boxes), default=0.0)


def check_contract(boxes: np.ndarray, image: np.ndarray) -> None:
    height, width = image.shape[:2]
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 6
    assert set(boxes[:, 5].tolist()) <= {0.0, 1.0, 2.0, 3.0}, "whole quarter turns"
    assert np.all(np.diff(boxes[:, 4]) <= 0), "sorted by score, best first"
    assert np.all(boxes[:, 4] >= DEFAULT_SCORE_THRESHOLD) and np.all(boxes[:, 4] <= 1)
    assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2:4] > 0)
    assert np.all(boxes[:, 0] + boxes[:, 2] <= width + 1e-3) and np.all(boxes[:, 1] + boxes[:, 3] <= height + 1e-3)


@pytest.mark.parametrize("name,expected,min_iou", [
    ("astronaut.jpg", ASTRONAUT, 0.75),
    ("cameraman.png", CAMERAMAN, 0.75),
    ("ascent.png", ASCENT_BACKPACKER, 0.6),
])
def test_each_person_in_a_photo_gets_a_box_that_covers_them(detector, name, expected, min_iou):
    image = read_image_rgb(SAMPLES / name)
    boxes = detector.detect(image)
    check_contract(boxes, image)
    assert best_iou(boxes, expected) >= min_iou, boxes


def test_one_box_per_person_in_a_single_person_photo(detector):
    boxes = detector.detect(read_image_rgb(SAMPLES / "astronaut.jpg"))
    assert len(boxes) == 1


@pytest.mark.parametrize("image", [
    read_image_rgb(SAMPLES / "rocket.jpg"),  # a launch site, nobody in it
    np.full((480, 640, 3), (90, 140, 60), np.uint8),
    np.zeros((240, 320, 3), np.uint8),
], ids=["rocket-launch", "flat-green", "black"])
def test_nobody_yields_no_box(detector, image):
    boxes = detector.detect(image)
    assert boxes.shape == (0, 6) and boxes.dtype == np.float32


@pytest.mark.parametrize("width,height", [(320, 240), (640, 480), (1280, 720), (1920, 1080), (1080, 1920),
                                          (480, 640)])
def test_box_is_in_the_pixels_of_frames_of_any_size_and_orientation(detector, width, height):
    """The cameraman photo pasted, scaled to half the frame height, off-centre into a flat frame."""
    photo = read_image_rgb(SAMPLES / "cameraman.png")
    side = min(height // 2, width // 2)
    scale = side / photo.shape[0]
    frame = np.full((height, width, 3), (96, 120, 80), np.uint8)
    left, top = width - side - width // 10, height - side - height // 10
    frame[top:top + side, left:left + side] = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
    expected = [left + CAMERAMAN[0] * scale, top + CAMERAMAN[1] * scale, CAMERAMAN[2] * scale,
                CAMERAMAN[3] * scale]
    boxes = detector.detect(frame)
    check_contract(boxes, frame)
    assert best_iou(boxes, expected) >= 0.7, (boxes, expected)


def test_same_boxes_from_a_worker_thread(detector):
    image = read_image_rgb(SAMPLES / "cameraman.png")
    with ThreadPoolExecutor(max_workers=1) as worker:
        in_thread = worker.submit(PersonDetector.load().detect, image).result()
    np.testing.assert_allclose(in_thread, detector.detect(image), atol=1e-4)


def test_rejects_what_is_not_an_rgb_uint8_image(detector):
    with pytest.raises(ValueError):
        detector.detect(np.zeros((48, 64), np.uint8))
    with pytest.raises(ValueError):
        detector.detect(np.zeros((48, 64, 3), np.float32))


def test_missing_model_file_is_a_user_error_naming_it(tmp_path):
    missing = tmp_path / "nanodet_g_416_coco.npz"
    with pytest.raises(UserError, match="nanodet_g_416_coco.npz"):
        PersonDetector.load(missing)


# Outputs of the published TensorFlow.js graph (tfjs-converter 4.x, CPU backend) for the input
# numpy.random.RandomState(0).standard_normal((1, 3, 416, 416)): per output shape, [0, 100, :4] and the maximum.
TFJS_REFERENCE = {
    (1, 169, 80): ([0.039725486, 0.011035412, 0.016170144, 0.010173028], 0.24391754),
    (1, 169, 44): ([-0.40770528, 0.07147671, 0.23338200, 0.45337552], 3.979638),
    (1, 676, 80): ([0.017409811, 0.005862611, 0.007975532, 0.005605021], 0.024414264),
    (1, 676, 44): ([-0.16564168, 0.31932977, 0.31960711, 0.68789881], 1.9466501),
    (1, 2704, 80): ([0.004622615, 0.009220167, 0.004637362, 0.004067320], 0.036180444),
    (1, 2704, 44): ([0.32612485, 0.79952878, 0.54754686, 0.85341471], 4.597067),
}


def test_converted_network_reproduces_the_published_graph():
    program = GraphProgram.load(MODEL_PATH)
    noise = np.random.RandomState(0).standard_normal((1, 3, 416, 416)).astype(np.float32)
    outputs = program(torch.from_numpy(noise))
    assert sorted(tuple(out.shape) for out in outputs) == sorted(TFJS_REFERENCE)
    for out in outputs:
        entries, maximum = TFJS_REFERENCE[tuple(out.shape)]
        np.testing.assert_allclose(out[0, 100, :4].numpy(), entries, atol=1e-4)
        assert abs(float(out.max()) - maximum) < 1e-4


@pytest.mark.parametrize("height,width,long_side", [(1080, 1920, 416), (1080, 1920, 1440), (517, 301, 200), (5, 9, 32)])
def test_network_input_is_the_image_in_bgr_on_black_normalised_in_float32(height, width, long_side):
    """The same floats as the published pipeline's arithmetic: a float canvas, BGR pixels, minus mean, over std."""
    image = np.random.default_rng(height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    tensor, scale, (left, top) = nanodet.network_input(image, long_side)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    canvas = np.zeros((tensor.shape[2], tensor.shape[3], 3), np.float32)
    canvas[top:top + new_h, left:left + new_w] = cv2.resize(image, (new_w, new_h))[:, :, ::-1]
    expected = (canvas - np.float32(nanodet.MEAN_BGR)) / np.float32(nanodet.STD_BGR)
    assert tensor.shape[2] % 32 == 0 and tensor.shape[3] % 32 == 0 and max(new_w, new_h) == long_side
    assert tensor.is_contiguous(memory_format=torch.channels_last)
    assert np.array_equal(tensor[0].permute(1, 2, 0).numpy(), expected)


def test_a_bf16_program_computes_what_autocast_computes_on_its_float32_weights():
    """Its weights are cast once when loaded, not on every call: the same arithmetic, the same outputs."""
    noise = torch.from_numpy(np.random.RandomState(1).standard_normal((1, 3, 64, 96)).astype(np.float32))
    program = GraphProgram.load(MODEL_PATH, bf16=True)
    assert all(value.dtype == torch.bfloat16 for value in program.params.values())
    float32 = GraphProgram.load(MODEL_PATH)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = [out.float() for out in float32._run(noise)]
    assert all(torch.equal(out, ref) for out, ref in zip(program(noise), expected))


# Small people (docs/detection.md, "Small people"): the stand-in body rendered in bench/quality_data/walk.mp4,
# cut out with its mask and pasted into a plain 1920x1080 frame.
GREY = (150, 150, 150)


class CountingProgram:
    """The network, recording the input shape of each call (one call per pass or window)."""

    def __init__(self, program: GraphProgram):
        self.program, self.shapes = program, []

    def __call__(self, tensor: torch.Tensor):
        self.shapes.append(tuple(tensor.shape[2:]))
        return self.program(tensor)


@pytest.fixture(scope="module")
def walker() -> tuple[np.ndarray, np.ndarray]:
    """RGB pixels and mask of the rendered walker in the first frame of the walk clip."""
    data = Path(__file__).resolve().parents[1] / "bench" / "quality_data"
    mask = np.unpackbits(np.load(data / "walk_truth.npz")["mask_bits"][0], axis=-1).astype(bool)
    ok, bgr = cv2.VideoCapture(str(data / "walk.mp4")).read()
    assert ok
    ys, xs = np.nonzero(mask)
    rows, cols = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    return np.ascontiguousarray(bgr[rows, cols, ::-1]), mask[rows, cols]


def paste_person(frame: np.ndarray, person: tuple[np.ndarray, np.ndarray], height: int, x: int, y: int) -> list:
    """Blend the person in, `height` px tall, top-left at (x, y); their box [x, y, w, h]."""
    rgb, mask = person
    size = (max(1, round(rgb.shape[1] * height / rgb.shape[0])), height)
    alpha = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)[..., None]
    region = frame[y:y + height, x:x + size[0]]
    region[:] = region * (1 - alpha) + cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) * alpha
    return [x, y, size[0], height]


def counting_detector(**options) -> tuple[PersonDetector, CountingProgram]:
    program = CountingProgram(GraphProgram.load(MODEL_PATH))
    return PersonDetector(program, **options), program


def test_a_65_px_person_in_1080p_is_found_by_the_second_pass_only(walker):
    frame = np.full((1080, 1920, 3), GREY, np.uint8)
    expected = paste_person(frame, walker, 65, 900, 500)
    detector, program = counting_detector()
    assert best_iou(detector.detect(frame, scan=False), expected) < 0.5
    boxes = detector.detect(frame)  # the first pass finds nobody: the whole frame is scanned zoomed
    check_contract(boxes, frame)
    assert len(boxes) == 1 and iou(boxes[0], expected) >= 0.6, boxes
    assert program.shapes == [(256, 416), (256, 416), (832, 1440)]


def test_first_pass_alone_when_it_finds_enough_people(walker):
    frame = np.full((1080, 1920, 3), GREY, np.uint8)
    near = paste_person(frame, walker, 500, 200, 300)
    far = paste_person(frame, walker, 65, 1500, 400)
    detector, program = counting_detector()
    boxes = detector.detect(frame)
    assert program.shapes == [(256, 416)], "one network call: the first pass"
    assert best_iou(boxes, near) >= 0.7 and best_iou(boxes, far) < 0.5
    assert best_iou(counting_detector(min_people=2)[0].detect(frame), far) >= 0.6, "fewer than two: scanned"


def test_an_expected_person_the_first_pass_missed_is_looked_for_in_one_window(walker):
    frame = np.full((1080, 1920, 3), GREY, np.uint8)
    near = paste_person(frame, walker, 500, 200, 300)
    far = paste_person(frame, walker, 65, 1500, 400)
    predicted = np.array([near, [far[0] + 6, far[1] - 5, far[2], far[3] + 8]], np.float32)  # a tracker's guess
    detector, program = counting_detector()
    boxes = detector.detect(frame, expected=predicted)
    check_contract(boxes, frame)
    assert program.shapes[0] == (256, 416) and len(program.shapes) == 2, "the first pass, then one window"
    assert program.shapes[1] == (192, 192), "three times the person at scale 0.75, not a whole 416 input"
    assert len(boxes) == 2 and best_iou(boxes, near) >= 0.7 and best_iou(boxes, far) >= 0.6, boxes


def test_boxes_of_several_passes_and_windows_merge_into_one_per_person(walker):
    frame = np.full((1080, 1920, 3), GREY, np.uint8)
    big = paste_person(frame, walker, 300, 1200, 300)  # found by the first pass and by the zoomed one
    small = paste_person(frame, walker, 65, 600, 700)
    detector, _ = counting_detector()
    scanned = detector.detect(frame, scan=True)
    assert len(scanned) == 2 and best_iou(scanned, big) >= 0.7 and best_iou(scanned, small) >= 0.6, scanned
    guesses = np.array([[small[0] - 40, small[1], *small[2:]], [small[0] + 40, small[1] + 20, *small[2:]]])
    windowed = detector.detect(frame, expected=guesses)  # two overlapping windows both see the small person
    assert len(windowed) == 2 and best_iou(windowed, small) >= 0.6, windowed


def test_no_second_pass_on_frames_near_the_network_size():
    detector, program = counting_detector()
    image = read_image_rgb(SAMPLES / "ascent.png")
    detector.detect(image, scan=True, expected=np.array([[10.0, 10.0, 20.0, 40.0]]))
    assert program.shapes == [(416, 416)] * 4, "the first pass and the three turned ones, no zoomed pass"


def test_expected_boxes_must_be_rows_of_four_numbers(detector):
    frame = np.full((1080, 1920, 3), GREY, np.uint8)
    with pytest.raises(ValueError, match="expected"):
        detector.detect(frame, expected=np.array([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(ValueError, match="expected"):
        detector.detect(frame, expected=np.array([[1.0, np.nan, 3.0, 4.0]]))
    assert detector.detect(frame, expected=np.zeros((0, 4))).shape == (0, 6)


def test_a_distant_person_beside_a_near_one_is_tracked_through_a_clip(walker):
    """DetectedPeople on a 1080p clip: a near walker the first pass finds, and a 65 px one it never does. The
    first detection looks closer over the whole frame and finds the far one; from then on the tracker's
    expected box brings a window there, so they keep one track, with boxes on them in every frame."""
    from inference.people.boxes import DetectedPeople

    people = DetectedPeople()
    far_boxes = {}
    for frame_index in range(16):
        frame = np.full((1080, 1920, 3), GREY, np.uint8)
        paste_person(frame, walker, 500, 200 + 2 * frame_index, 300)
        far_boxes[frame_index] = paste_person(frame, walker, 65, 1500 - frame_index, 400)
        found = people.boxes(frame_index, frame)
        far = [(track, box) for track, box, _ in found if iou(box, far_boxes[frame_index]) >= 0.5]
        assert len(far) == 1, (frame_index, found)
    assert len(people.chosen_tracks("all")) == 2


def test_weak_boxes_come_after_the_sure_ones_which_stay_as_they_were():
    """pan.mp4 frame 86: the jumping body lands in a pose the detector scores 0.21; `weak_threshold` returns
    it after the sure boxes, while a photo's sure boxes are the same with it as without."""
    from inference.frames import FrameRange, open_frames

    detector = PersonDetector.load()
    (_, landing), = open_frames(SAMPLES.parents[1] / "bench" / "quality_data" / "pan.mp4", FrameRange(86, 87))
    assert len(detector.detect(landing)) == 0
    weak = detector.detect(landing, weak_threshold=0.2)
    assert len(weak) >= 1 and 0.2 <= weak[0, 4] < detector.score_threshold
    assert weak[0, 3] > 150  # the whole body (about 210 px), not a part
    photo = read_image_rgb(SAMPLES / "cameraman.png")
    sure = detector.detect(photo)
    with_weak = detector.detect(photo, weak_threshold=0.1)
    np.testing.assert_array_equal(with_weak[:len(sure)], sure)
    assert (with_weak[len(sure):, 4] < detector.score_threshold).all()


# Turned people (docs/detection.md, "Turned people"): the walker pasted upright, then the whole picture turned.
def lying_walker(walker, height: int, turns: int, x: int, y: int) -> tuple[np.ndarray, list]:
    """A 360x640 picture of the walker (`height` px tall) turned `turns` quarter turns clockwise from a 640x360
    upright one where their box's top-left is (x, y); the picture and their box in it."""
    upright = np.full((640, 360, 3), GREY, np.uint8)
    bx, by, bw, bh = paste_person(upright, walker, height, x, y)
    lying = [640 - by - bh, bx, bh, bw] if turns == 1 else [by, 360 - bx - bw, bh, bw]
    return np.ascontiguousarray(np.rot90(upright, -turns)), lying


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_boxes_found_in_a_turned_picture_are_mapped_back_to_the_picture(turns):
    mask = np.zeros((30, 50), bool)
    mask[4:24, 7:19] = True
    ys, xs = np.nonzero(np.rot90(mask, -turns))
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]])  # corners x1, y1, x2, y2
    np.testing.assert_array_equal(unturned(found, turns, np.rot90(mask, -turns).shape), [[7, 4, 19, 24]])


@pytest.mark.parametrize("turns", [1, 3])
def test_a_person_lying_on_their_side_is_found_in_the_picture_turned_upright(walker, turns):
    frame, lying = lying_walker(walker, 250, turns, 60, 200)
    detector, _ = counting_detector()
    assert len(detector.detect(frame, scan=False)) == 0, "the first pass knows upright people only"
    boxes = detector.detect(frame, scan=True)
    check_contract(boxes, frame)
    assert len(boxes) == 1 and iou(boxes[0], lying) >= 0.8, boxes


def test_a_tracked_person_missed_is_looked_for_turned_around_their_expected_box(walker):
    frame, lying = lying_walker(walker, 250, 1, 60, 200)
    detector, program = counting_detector(min_people=0)  # no scan for want of people: windows only
    guess = np.array([[lying[0] + 8, lying[1] - 6, lying[2], lying[3]]])
    boxes = detector.detect(frame, expected=guess)
    assert program.shapes == [(256, 416), (416, 320), (416, 320)], "the first pass, then a quarter turn each way"
    assert len(boxes) == 1 and iou(boxes[0], lying) >= 0.8, boxes
    program.shapes.clear()
    detector.detect(frame, expected=np.array([[lying[0], lying[1], lying[3], lying[2]]]))
    assert len(program.shapes) == 2, "an expected box standing upright gets one look: upside down"


def test_the_turned_passes_add_no_box_beside_upright_people(detector, monkeypatch):
    """Turned, an upright person's box can take in what stands beside them (a frame of the sample clip); a
    turned box only counts where no upright one is."""
    from inference.frames import FrameRange, open_frames

    (_, clip_frame), = open_frames(SAMPLES / "park_jumping_walking.mp4", FrameRange(8, 9))
    pictures = [read_image_rgb(SAMPLES / name) for name in ("astronaut.jpg", "cameraman.png", "ascent.png")]
    pictures.append(clip_frame)
    turned = [detector.detect(picture, scan=True) for picture in pictures]
    monkeypatch.setattr(detector_module, "TURNS", ())
    for picture, boxes in zip(pictures, turned):
        np.testing.assert_array_equal(boxes, detector.detect(picture, scan=True))
