"""Turns on a shared speech engine, with callers who wait in silence going first.

On two cores one inference at a time is fastest, so every call queues for the
engine. First come, first served would make a caller who has just stopped
talking wait behind the second and third sentences of other calls' replies,
which are not needed until their first sentence has played. `urgent` turns go
before those; within a priority it is first come, first served.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class EngineQueue:
    """A lock whose waiters are served urgent first, then in arrival order. Thread-safe."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._busy = False
        self._waiting: list[tuple[int, int]] = []  # (0 urgent | 1 normal, arrival)
        self._arrivals = itertools.count()

    @contextmanager
    def turn(self, *, urgent: bool = False) -> Iterator[None]:
        ticket = (0 if urgent else 1, next(self._arrivals))
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
    def waiting(self) -> int:
        """How many are queued (not counting the one holding the engine)."""
        return len(self._waiting)
