"""The frame producer's torch work runs on one CPU thread without touching the network's thread count."""
import threading

import torch

from inference.cpu_threads import use_one_thread_here
from inference.prefetch import prefetched


def _in_a_thread(work):
    answers = []
    thread = threading.Thread(target=lambda: answers.append(work()))
    thread.start()
    thread.join()
    return answers[0]


def test_one_thread_in_the_helper_and_the_callers_count_kept():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        def helper():
            applied = use_one_thread_here()
            image = torch.ones(1, 3, 32, 32)
            out = torch.nn.functional.conv2d(image, torch.ones(4, 3, 3, 3), padding=1)  # an OpenMP op still works
            return applied, torch.get_num_threads(), float(out[0, 0, 16, 16])

        applied, helper_threads, centre = _in_a_thread(helper)
        assert centre == 27.0
        assert torch.get_num_threads() == 2, "the calling thread's (the network's) thread count changed"
        if "OpenMP" in torch.__config__.parallel_info():  # Linux and macOS builds: the runtime is reachable
            assert applied and helper_threads == 1
        else:
            assert not applied
    finally:
        torch.set_num_threads(before)


def test_setup_runs_in_the_producer_thread_before_the_items():
    seen = []

    def items():
        seen.append(("item", threading.current_thread().name))
        yield 1

    out = list(prefetched(items(), max_ahead=2, setup=lambda: seen.append(("setup", threading.current_thread().name))))
    assert out == [1]
    assert seen == [("setup", "frame-producer"), ("item", "frame-producer")]
