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
CALLS_REFUSED = Counter(
    "dutyline_calls_refused",
    "Calls this replica did not admit to the dialogue, by reason (capacity: DUTYLINE_MAX_CALLS "
    "calls were on; the caller got DUTYLINE_AT_CAPACITY).",
    ["reason"],
)
CALLS_REFUSED.labels(reason="capacity")  # shown at 0 before the first refusal
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
    "stream's own media timestamps; the worst frame of each second of audio.",
    buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
)
INBOUND_LATE_FRAMES = Counter(
    "dutyline_inbound_late_frames",
    "Caller audio frames that reached the pipeline more than 100 ms later than the stream's "
    "own timestamps say (the caller's words are heard that much late).",
)
LATE_SECONDS = 0.1  # what counts as a late frame
BOT_AUDIO_GAPS = Counter(
    "dutyline_bot_audio_gaps",
    "Times the bot's audio ran out inside a bot turn (more of the turn was still to come): "
    "a silence the caller may take for the end of the turn.",
)
BOT_AUDIO_GAP_SECONDS = Histogram(
    "dutyline_bot_audio_gap_seconds",
    "How long the line was silent in each gap inside a bot turn.",
    buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 5.0),
)


def call_started() -> None:
    ACTIVE_CALLS.inc()


def call_ended(outcome: str | None) -> None:
    ACTIVE_CALLS.dec()
    CALLS_ENDED.labels(outcome=outcome or "unknown").inc()


def call_refused(reason: str) -> None:
    CALLS_REFUSED.labels(reason=reason).inc()


def bot_turn(latency_ms: int | None, stage_ms: Mapping[str, int]) -> None:
    """A bot turn that answered the caller: its latency and where it went."""
    if latency_ms is None:
        return
    TURN_LATENCY.observe(latency_ms / 1000)
    for stage, value in stage_ms.items():
        TURN_STAGE.labels(stage=stage).observe(value / 1000)


TURN_ENDS = Counter(
    "dutyline_turn_ends",
    "Caller turns ended, by how: early (a complete answer at the first pause), silence "
    "(the configured end-of-turn silence), max_length, hangup.",
    ["how"],
)


def turn_ended(how: str) -> None:
    TURN_ENDS.labels(how=how).inc()


def bot_audio_gap(seconds: float) -> None:
    BOT_AUDIO_GAPS.inc()
    BOT_AUDIO_GAP_SECONDS.observe(seconds)


def recognized(confidence: float | None) -> None:
    if confidence is not None:
        RECOGNITION_CONFIDENCE.observe(confidence)


class InboundClock:
    """One stream's inbound lag. The media timestamps (ms since the stream began) say when
    each frame was sent; the earliest (arrival - timestamp) seen is the stream's origin,
    so a frame's lag is how much later than that it arrived. Per frame: a subtraction and
    two comparisons; a late frame (> 100 ms) is counted at once, and the worst lag of each
    `every` frames (a second of Twilio's 20 ms frames) is one histogram sample."""

    __slots__ = ("_clock", "_count", "_every", "_origin", "_worst", "late", "max_lag")

    def __init__(self, every: int = 50, clock: Callable[[], float] = time.monotonic) -> None:
        self._origin: float | None = None
        self._count = 0
        self._every = every
        self._clock = clock
        self._worst = 0.0  # in the current `every` frames
        self.late = 0  # this stream's frames later than LATE_SECONDS
        self.max_lag = 0.0  # this stream's worst, seconds

    def arrived(self, timestamp: object) -> None:
        try:
            sent = int(timestamp) / 1000  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return  # no timestamp (not every line sends one): nothing to measure
        offset = self._clock() - sent
        if self._origin is None or offset < self._origin:
            self._origin = offset
        lag = offset - self._origin
        if lag > self._worst:
            self._worst = lag
            if lag > LATE_SECONDS:
                self.max_lag = max(self.max_lag, lag)
        if lag > LATE_SECONDS:
            self.late += 1
            INBOUND_LATE_FRAMES.inc()
        self._count += 1
        if self._count % self._every == 0:
            INBOUND_LAG.observe(self._worst)
            self.max_lag = max(self.max_lag, self._worst)
            self._worst = 0.0
