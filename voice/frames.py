"""The small typed events a call is made of.

Line frames cross the telephony serializer (voice/twilio_serializer.py is the
only place that knows their wire form); audio in them is 16-bit PCM at 8 kHz,
what the phone line carries. Everything else in the pipeline talks in these
frames and never sees JSON, base64 or mu-law.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Frame:
    """Base of every event."""


class BadFrame(ValueError):
    """A line message that is not a valid frame of its provider (logged and skipped)."""


class UnhearableStream(BadFrame):
    """The stream's audio is in a format we cannot hear: the stream must be closed."""


# --- from the line -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamConnected(Frame):
    protocol: str = ""


@dataclass(frozen=True, slots=True)
class CallStarted(Frame):
    call_sid: str
    stream_sid: str
    account_sid: str = ""
    parameters: dict[str, str] = field(default_factory=dict)  # the TwiML <Parameter>s
    sample_rate: int = 8000


@dataclass(frozen=True, slots=True)
class CallerAudio(Frame):
    pcm8k: bytes  # one chunk (normally 20 ms) of the caller's side


@dataclass(frozen=True, slots=True)
class KeypadPressed(Frame):
    digit: str


@dataclass(frozen=True, slots=True)
class MarkPlayed(Frame):
    """The line echoed a mark: audio sent before it finished playing (or was cleared)."""

    name: str


@dataclass(frozen=True, slots=True)
class CallStopped(Frame):
    """The line ended the stream: the caller hung up or the call was redirected."""


# --- to the line ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BotAudio(Frame):
    pcm8k: bytes  # one 20 ms frame of the bot's voice


@dataclass(frozen=True, slots=True)
class PlaybackMark(Frame):
    name: str


@dataclass(frozen=True, slots=True)
class ClearPlayback(Frame):
    """Drop everything queued for playback (barge-in). Jumps the queue."""


# --- inside the pipeline ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerTurn(Frame):
    """What the caller said or keyed in one turn, for the dialogue."""

    text: str
    via: str = "speech"  # "speech" | "keypad"
    started_ms: int | None = None
    ended_ms: int | None = None
    confidence: float | None = None
    speech_ended_at: float = 0.0  # monotonic time the caller stopped (latency start)
    stage_ms: dict[str, int] = field(default_factory=dict)  # end_of_turn, recognition


@dataclass(frozen=True, slots=True)
class CallEvent(Frame):
    """A call event for the dialogue: "start", "no_input"."""

    name: str


@dataclass(frozen=True, slots=True)
class BotSays(Frame):
    """One reply to speak. `must_finish`: barge-in does not cut it (ticket number, goodbye)."""

    text: str
    control: dict[str, Any] = field(default_factory=dict)
    must_finish: bool = False
    fixed: bool = False  # a fixed prompt: its audio is cached
    after_caller_at: float | None = None  # monotonic end of the caller's speech, for latency
    stage_ms: dict[str, int] = field(default_factory=dict)  # where that latency went so far
