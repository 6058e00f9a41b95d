"""The background producer and the per-track store that let a clip stream through with bounded memory."""
import os
import threading
import time

import numpy as np
import pytest

from inference.prefetch import prefetched
from inference.track_store import TrackStore


def test_background_yields_everything_in_order():
    assert list(prefetched(iter(range(50)), max_ahead=3)) == list(range(50))


def test_background_stays_bounded_ahead_of_the_consumer():
    produced = []

    def items():
        for i in range(100):
            produced.append(i)
            yield i

    stream = prefetched(items(), max_ahead=4)
    assert next(stream) == 0
    time.sleep(0.3)
    assert len(produced) <= 1 + 4 + 1  # the one consumed, the queue, the one waiting to be put
    stream.close()


def test_background_reraises_producer_errors():
    def items():
        yield 1
        raise ValueError("corrupt frame 2")

    stream = prefetched(items(), max_ahead=2)
    assert next(stream) == 1
    with pytest.raises(ValueError, match="corrupt frame 2"):
        next(stream)


def test_background_stops_the_producer_when_the_consumer_leaves():
    closed = threading.Event()

    def items():
        try:
            for i in range(10_000):
                yield i
        finally:
            closed.set()

    for i in prefetched(items(), max_ahead=2):
        if i == 3:
            break
    assert closed.wait(2), "the producer's generator was not closed"
    assert not [t for t in threading.enumerate() if t.name == "frame-producer"]


def test_track_store_round_trip_with_spilled_maps():
    rng = np.random.default_rng(0)
    rows = {0: [], 5: []}
    with TrackStore() as store:
        for frame in range(6):
            for track in ([0, 5] if frame % 2 else [0]):
                out = {"betas": rng.normal(size=10).astype(np.float32),
                       "part_attention": rng.random((24, 56, 56)).astype(np.float32)}
                rows[track].append((frame, out))
                store.add(track, frame, np.array([frame, 0, 10, 10.0]), out)
        assert store.track_ids() == [0, 5]
        np.testing.assert_array_equal(store.frames(5), [1, 3, 5])
        np.testing.assert_array_equal(store.boxes(0)[:, 0], range(6))
        np.testing.assert_array_equal(store.column(5, "betas"), np.stack([o["betas"] for _, o in rows[5]]))
        maps = store.maps(0, "part_attention")
        assert maps.dtype == np.float16 and maps.shape == (6, 24, 56, 56)
        np.testing.assert_array_equal(maps, np.stack([o["part_attention"] for _, o in rows[0]]).astype(np.float16))
        assert store.maps(0, "part_segmentation") is None
        folder = store._folder.name
    assert not os.path.exists(folder)


def test_predicted_frames_after_the_last_detection_are_trimmed():
    from inference.finalize import RawTrack, trim_after_last_detection

    raw = RawTrack(frame=np.arange(5), box_xywh=np.zeros((5, 4)), betas=np.arange(50.0).reshape(5, 10),
                   detected=np.array([True, False, True, False, False]))
    trimmed = trim_after_last_detection(raw)
    np.testing.assert_array_equal(trimmed.frame, [0, 1, 2])  # the brief miss inside stays
    assert trimmed.betas.shape == (3, 10) and trimmed.pose_rotmat is None
    assert trim_after_last_detection(RawTrack(frame=np.arange(2), box_xywh=np.zeros((2, 4)))).frame.size == 2


class _Clip:
    """Frames 0..n-1 of a tiny blank video; `frame_count` as a real source has it."""

    def __init__(self, n: int) -> None:
        self.frame_count = n

    def __iter__(self):
        return ((i, np.zeros((8, 8, 3), np.uint8)) for i in range(self.frame_count))


class _People:
    """Track 0 in every frame, kept from its 4th frame on; track 1 a flicker in frames 2-3, never kept; track 2
    in frames 5-9, kept only once the clip has passed."""

    margin = 1.0

    def __init__(self) -> None:
        self.frame = -1
        self.threads: set[str] = set()

    def boxes(self, index, image):
        self.frame = index
        self.threads.add(threading.current_thread().name)
        ids = [0] + ([1] if index in (2, 3) else []) + ([2] if 5 <= index <= 9 else [])
        return [(i, np.array([i, 0, 4, 4.0]), True) for i in ids]

    def keeps(self, track_id):
        return track_id == 0 and self.frame >= 3

    def turns(self, track_id):
        return 0

    def kept_tracks(self):
        return {0, 2}


class _Measures:
    def measure(self, image, box, square, key, turns):
        track_id, index = key
        return {"crop": np.full((2, 2, 3), 10 * track_id + index, np.uint8), "crop_turns": np.asarray(turns)}


class _Network:
    def __init__(self, on_cpu: bool = True) -> None:
        self.network_on_cpu = on_cpu
        self.batches: list[list[int]] = []

    def run(self, crops, turns):
        assert not np.any(turns)  # nobody here was found turned
        self.batches.append([int(c[0, 0, 0]) for c in crops])
        return {"seen": crops[:, 0, 0, 0].astype(np.float32)}


def test_only_kept_tracks_reach_the_network_in_full_batches_and_frame_order():
    from inference.estimate_job import estimate_people

    network = _Network()
    with TrackStore() as store:
        frames_read, last = estimate_people(network, _Clip(12), _People(), _Measures(), store, batch_size=4)
        assert (frames_read, last) == (12, 11)
        assert store.track_ids() == [0, 2]
        np.testing.assert_array_equal(store.frames(0), range(12))
        np.testing.assert_array_equal(store.frames(2), range(5, 10))
        np.testing.assert_array_equal(store.column(0, "seen"), range(12))  # each frame's own output
        np.testing.assert_array_equal(store.column(2, "seen"), [20 + i for i in range(5, 10)])
    seen = [code for batch in network.batches for code in batch]
    assert sorted(seen) == sorted([*range(12), *range(25, 30)])  # no crop of the flicker (codes 12, 13)
    assert [len(b) for b in network.batches] == [4, 4, 4, 4, 1]


@pytest.mark.parametrize("on_cpu,producer", [(True, "MainThread"), (False, "frame-producer")])
def test_frames_are_made_beside_a_gpu_network_and_in_turn_with_a_cpu_one(on_cpu, producer):
    """On the CPU a producer thread beside the network cost it more than the producer's own work (bench/README.md,
    "Speed"); a GPU network leaves the CPU to it. The same crops reach the network in the same batches either way."""
    from inference.estimate_job import estimate_people

    network, people = _Network(on_cpu), _People()
    with TrackStore() as store:
        assert estimate_people(network, _Clip(12), people, _Measures(), store, batch_size=4) == (12, 11)
    assert people.threads == {producer}
    assert [len(b) for b in network.batches] == [4, 4, 4, 4, 1]
