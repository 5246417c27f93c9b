"""The phone line's Prometheus series: calls, turn latency and its stages, recognition,
inbound lag. Recorded where the pipeline already measures them; served by the app's
/metrics (dutyline/metrics_route.py).

Labels stay few and bounded (an outcome, a stage name): never a call sid or a number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from prometheus_client import Counter, Gauge, Histogram

ACTIVE_CALLS = Gauge(
    "dutyline_active_calls", "Calls whose media stream is open on this replica now."
)
CALLS_ENDED = Counter(
    "dutyline_calls_ended",
    "Calls (media streams) ended on this replica, by the outcome given to the call's record.",
    ["outcome"],
)
TURN_LATENCY = Histogram(
    "dutyline_turn_latency_seconds",
    "From the end of the caller's speech to the first audio of the bot's reply.",
    buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0),
)
TURN_STAGE = Histogram(
    "dutyline_turn_stage_seconds",
    "Where a bot turn's latency went: end_of_turn, recognition, dialogue, synthesis.",
    ["stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
)
RECOGNITION_CONFIDENCE = Histogram(
    "dutyline_recognition_confidence",
    "The speech recognizer's confidence (0..1) in each caller turn it transcribed.",
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
)
INBOUND_LAG = Histogram(
    "dutyline_inbound_lag_seconds",
    "How far behind the caller's audio reaches the pipeline: arrival time against the "
    "stream's own media timestamps, sampled once a second of audio.",
    buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
)


def call_started() -> None:
    ACTIVE_CALLS.inc()


def call_ended(outcome: str | None) -> None:
    ACTIVE_CALLS.dec()
    CALLS_ENDED.labels(outcome=outcome or "unknown").inc()


def bot_turn(latency_ms: int | None, stage_ms: Mapping[str, int]) -> None:
    """A bot turn that answered the caller: its latency and where it went."""
    if latency_ms is None:
        return
    TURN_LATENCY.observe(latency_ms / 1000)
    for stage, value in stage_ms.items():
        TURN_STAGE.labels(stage=stage).observe(value / 1000)


def recognized(confidence: float | None) -> None:
    if confidence is not None:
        RECOGNITION_CONFIDENCE.observe(confidence)


class InboundClock:
    """One stream's inbound lag. The media timestamps (ms since the stream began) say when
    each frame was sent; the earliest (arrival - timestamp) seen is the stream's origin,
    so a frame's lag is how much later than that it arrived. Per frame: one subtraction
    and a comparison; one histogram sample per `every` frames (Twilio's are 20 ms)."""

    __slots__ = ("_clock", "_count", "_every", "_origin")

    def __init__(self, every: int = 50, clock: Callable[[], float] = time.monotonic) -> None:
        self._origin: float | None = None
        self._count = 0
        self._every = every
        self._clock = clock

    def arrived(self, timestamp: object) -> None:
        try:
            sent = int(timestamp) / 1000  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return  # no timestamp (not every line sends one): nothing to measure
        offset = self._clock() - sent
        if self._origin is None or offset < self._origin:
            self._origin = offset
        self._count += 1
        if self._count % self._every == 0:
            INBOUND_LAG.observe(offset - self._origin)
