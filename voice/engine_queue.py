"""Turns on a shared speech engine, earliest deadline first.

On two cores one inference at a time is fastest, so every call queues for the
engine. First come, first served would make a caller who has just stopped
talking wait behind the second and third sentences of other calls' replies,
which are not needed until the sentence before them has played. So each turn
says when its result is due (a reply's first sentence: now; a later one: when
the audio before it runs out) and the earliest due goes first. Work that is
late keeps its place, so nothing starves.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class EngineQueue:
    """A lock whose waiters are served by due time, then arrival. Thread-safe."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._busy = False
        self._waiting: list[tuple[float, int]] = []  # (due, arrival)
        self._arrivals = itertools.count()

    @contextmanager
    def turn(self, *, due: float | None = None) -> Iterator[None]:
        """Hold the engine. `due`: time.monotonic() by which the result is needed (now)."""
        ticket = (time.monotonic() if due is None else due, next(self._arrivals))
        with self._condition:
            heapq.heappush(self._waiting, ticket)
            while self._busy or self._waiting[0] != ticket:
                self._condition.wait()
            heapq.heappop(self._waiting)
            self._busy = True
        try:
            yield
        finally:
            with self._condition:
                self._busy = False
                self._condition.notify_all()

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def waiting(self) -> int:
        """How many are queued (not counting the one holding the engine)."""
        return len(self._waiting)
