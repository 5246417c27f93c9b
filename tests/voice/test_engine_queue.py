"""Calls take turns on a speech engine; a caller waiting in silence goes first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from voice.engine_queue import EngineQueue


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _held(queue: EngineQueue) -> bool:
    return queue._busy  # the holder has the engine


def test_urgent_turns_go_before_earlier_normal_ones_and_each_priority_is_fifo() -> None:
    queue = EngineQueue()
    order: list[str] = []
    release = threading.Event()

    def holder() -> None:
        with queue.turn():
            release.wait(5)

    def waiter(name: str, urgent: bool) -> None:
        with queue.turn(urgent=urgent):
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    _wait_until(lambda: queue.waiting == 0 and order == [] and _held(queue))
    arrivals = [("second sentence A", False), ("second sentence B", False)]
    arrivals += [("reply C", True), ("reply D", True)]
    for count, (name, urgent) in enumerate(arrivals, start=1):
        thread = threading.Thread(target=waiter, args=(name, urgent))
        thread.start()
        threads.append(thread)
        _wait_until(lambda count=count: queue.waiting == count)
    release.set()
    for thread in threads:
        thread.join(5)
    assert order == ["reply C", "reply D", "second sentence A", "second sentence B"]


def test_a_turn_that_raises_frees_the_engine() -> None:
    queue = EngineQueue()
    try:
        with queue.turn():
            raise RuntimeError("synthesis failed")
    except RuntimeError:
        pass
    done = threading.Event()

    def next_call() -> None:
        with queue.turn():
            done.set()

    threading.Thread(target=next_call).start()
    assert done.wait(5)
