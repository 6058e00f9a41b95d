"""Run an iterator in a background thread so its work overlaps the consumer's (decode + detect + crop
while a GPU runs the network's batch; on the CPU the two take turns instead, see
`estimate_job.estimate_people`). OpenCV, the detector and torch release the GIL in their heavy parts, so a
thread is enough. The queue is bounded, so a fast producer never piles frames up in memory.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterable[T], max_ahead: int) -> Iterator[T]:
    """Yield `items` as produced by a daemon thread, at most `max_ahead` ahead of the consumer.

    An exception in the producer is re-raised in the consumer. When the consumer stops early (break,
    exception, cancel), the producer is told to stop at its next item and the thread ends.
    """
    buffer: queue.Queue = queue.Queue(maxsize=max(1, max_ahead))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            put(_Failure(error))
        finally:
            close = getattr(iterator, "close", None)  # a generator releases its video capture now
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="frame-producer", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
