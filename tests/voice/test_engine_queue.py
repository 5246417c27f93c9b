"""Calls take turns on a speech engine, earliest due first."""

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


def test_the_earliest_due_goes_first_and_equal_dues_keep_their_order() -> None:
    queue = EngineQueue()
    order: list[str] = []
    release = threading.Event()

    def holder() -> None:
        with queue.turn():
            release.wait(5)

    def waiter(name: str, due: float) -> None:
        with queue.turn(due=due):
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    _wait_until(lambda: queue.waiting == 0 and order == [] and queue.busy)
    now = time.monotonic()
    # Second sentences due once their first ones have played; then two replies due now.
    arrivals = [("second sentence A", now + 4), ("second sentence B", now + 4)]
    arrivals += [("reply C", now), ("reply D", now), ("second sentence E", now + 2)]
    for count, (name, due) in enumerate(arrivals, start=1):
        thread = threading.Thread(target=waiter, args=(name, due))
        thread.start()
        threads.append(thread)
        _wait_until(lambda count=count: queue.waiting == count)
    release.set()
    for thread in threads:
        thread.join(5)
    assert order == [
        "reply C",
        "reply D",
        "second sentence E",
        "second sentence A",
        "second sentence B",
    ]


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
