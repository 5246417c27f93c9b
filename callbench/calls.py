"""Scripted calls for the benchmarks and the reliability tests: the lead's
data/sample_calls/calls.yaml, played through callbench/simulator.py's TwilioLine
with a meter on the line that notices gaps in the bot's audio.

A gap ("dropped audio") is a 20 ms playback tick with nothing to play while the
bot is in the middle of an utterance (audio has started, its final mark has not
arrived): what a caller hears as a stutter when the server falls behind. A silence
between two utterances of one bot turn counts too (issue 12: "Let me read that back.",
then a second of nothing while the read-back was made): the line sees an utterance end,
nothing play, and the bot's next audio come before the caller has said anything (or
while the caller, taking the silence for their turn, is still talking).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from callbench.caller_voices import synthesize_caller
from callbench.place_checks import ExpectedPlace
from callbench.simulator import FRAME, TwilioLine
from voice.codec import ulaw_decode

# A longer silence before the bot speaks again unprompted is a turn of its own (the
# line's "are you still there?" comes after seconds of silence), not a gap.
TURN_PAUSE_SECONDS = 3.0

CALLER_VOICES = ("flite:slt", "espeak:en-us", "flite:rms", "espeak:en-gb", "flite:awb")


@dataclass(frozen=True)
class ScriptedCall:
    name: str
    says: tuple[str, ...]
    kind: str
    department: str
    location_contains: str
    # Calls with a known true place (data/sample_calls/riverton_places.yaml): which turn
    # answers "Where is it?" and what it must become.
    place_turn: int | None = None
    place: ExpectedPlace | None = None
    # (slot, answer) for each of the kind's questions: for a caller who answers what is asked
    answers: tuple[tuple[str, str], ...] = ()


def load_calls(path: Path) -> list[ScriptedCall]:
    data = yaml.safe_load(path.read_text("utf-8"))
    return [
        ScriptedCall(
            name=call["name"],
            says=tuple(str(s) for s in call["says"]),
            kind=call["expect"]["kind"],
            department=call["expect"]["department"],
            location_contains=str(call["expect"]["location_contains"]),
            place_turn=call.get("place_turn"),
            place=ExpectedPlace.from_yaml(call["expect"]["place"])
            if "place" in call["expect"]
            else None,
            answers=tuple((str(k), str(v)) for k, v in (call.get("answers") or {}).items()),
        )
        for call in data["calls"]
    ]


class MeteredLine(TwilioLine):
    """A TwilioLine that counts playback underruns inside bot utterances."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen = 0  # messages_in already looked at
        self._in_utterance = False
        self._end_mark_sent = False
        self._in_gap = False
        self._heard_some = False  # of the current utterance
        self.gap_frames = 0
        self.gap_events = 0
        self.longest_gap_frames = 0
        self._gap_run = 0
        # between the utterances of one bot turn
        self._between = False  # an utterance has ended and played out
        self._dry_run = 0  # ticks of silence since
        self._caller_spoke = False  # the caller sent speech during that silence
        self.between_gap_frames = 0
        self.between_gap_events = 0
        self.longest_between_gap_frames = 0

    def _follow_messages(self) -> None:
        for message in self.messages_in[self._seen :]:
            event = message.get("event")
            if event == "media":
                if not self._in_utterance or self._end_mark_sent:
                    self._in_utterance, self._end_mark_sent = True, False
                    self._heard_some = False
                    self._next_utterance()
            elif event == "mark" and str(message["mark"].get("name", "")).endswith(".end"):
                self._end_mark_sent = True
            elif event == "clear":
                self._in_utterance = self._end_mark_sent = False
                self._between = False  # what comes next answers the caller's barge-in
        self._seen = len(self.messages_in)

    def _next_utterance(self) -> None:
        """The bot's next utterance begins: was the silence before it inside the turn?"""
        if self._between and self._dry_run:
            replied = self._caller_spoke and not self.speaking  # an answer to the caller
            if not replied and self._dry_run * 0.02 < TURN_PAUSE_SECONDS:
                self.between_gap_frames += self._dry_run
                self.between_gap_events += 1
                self.longest_between_gap_frames = max(
                    self.longest_between_gap_frames, self._dry_run
                )
        self._between, self._dry_run, self._caller_spoke = False, 0, False

    def _play(self) -> None:
        self._follow_messages()
        starving = self._in_utterance and not self._end_mark_sent and len(self._playback) < FRAME
        if starving and self._heard_some:  # a gap, not the wait for the first audio
            self.gap_frames += 1
            self._gap_run += 1
            self.longest_gap_frames = max(self.longest_gap_frames, self._gap_run)
            if not self._in_gap:
                self.gap_events += 1
            self._in_gap = True
        else:
            self._in_gap, self._gap_run = False, 0
        if self._end_mark_sent and not self._playback:
            self._in_utterance = False
            self._between = True
        if self._between and not self._playback:
            self._dry_run += 1
            self._caller_spoke = self._caller_spoke or self.speaking
        if self._playback:
            self._heard_some = True
        super()._play()


@dataclass
class CallRun:
    name: str
    call_sid: str
    voice: str
    outcome: str | None = None
    ticket_number: str | None = None
    hung_up_by: str | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)
    heard_latencies_ms: list[int] = field(default_factory=list)
    # heard + the synthesized turn's own trailing silence: the caller's real end of speech
    # to the first bot audio received, inbound queueing included
    caller_latencies_ms: list[int] = field(default_factory=list)
    unanswered_turns: int = 0
    # Gaps inside a bot turn: stalls inside an utterance and silences between two
    # utterances of one turn, together (the between part also on its own below).
    gap_frames: int = 0
    gap_events: int = 0
    longest_gap_ms: int = 0
    between_gap_events: int = 0
    between_gap_ms: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def stored_latencies_ms(self) -> list[int]:
        return [t["latency_ms"] for t in self.bot_turns_with_latency]

    @property
    def bot_turns_with_latency(self) -> list[dict[str, Any]]:
        return [t for t in self.turns if t["speaker"] == "bot" and t.get("latency_ms") is not None]


def trailing_silence_ms(ulaw: bytes, threshold: int = 200) -> int:
    """How long the synthesized turn goes on after its last audible sample."""
    samples = np.abs(np.frombuffer(ulaw_decode(ulaw), dtype="<i2"))
    loud = np.flatnonzero(samples > threshold)
    last = int(loud[-1]) + 1 if len(loud) else 0
    return round((len(samples) - last) / 8)  # 8 samples per ms at 8 kHz


def caller_audio(call: ScriptedCall, voice: str) -> list[bytes]:
    """The caller's turns as 8 kHz mu-law, made before the call so it costs no CPU during it."""
    return [synthesize_caller(text, voice=voice, silence_before_ms=200) for text in call.says]


async def _final_summary(line: TwilioLine, timeout: float = 45.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    summary: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            summary = await line.summary()
            if summary and summary.get("state") == "ended":
                return summary
        await asyncio.sleep(0.3)
    return summary or {}


async def run_call(
    app_url: str,
    call: ScriptedCall,
    audio: list[bytes],
    *,
    public_url: str,
    token: str,
    voice: str,
    caller_number: str,
    turn_timeout: float = 60.0,
    hang_up_wait: float = 15.0,
    hang_up_after: int | None = None,
) -> CallRun:
    """Play one scripted call; `hang_up_after=n` hangs up after the caller's n-th turn."""
    started = time.monotonic()
    line = MeteredLine(app_url, public_url=public_url, token=token, caller_number=caller_number)
    run = CallRun(name=call.name, call_sid=line.call_sid, voice=voice)
    try:
        dialed = await line.dial()
        if dialed.status_code != 200 or not dialed.stream_url:
            raise RuntimeError(f"the webhook answered {dialed.status_code}: {dialed.twiml[:200]}")
        await line.open_stream(dialed)
        if not await line.wait_for_bot(timeout=turn_timeout):
            run.unanswered_turns += 1
        for index, ulaw in enumerate(audio):
            if line.closed.is_set():
                break
            if hang_up_after is not None and index >= hang_up_after:
                break
            line.speak(ulaw)
            await line.wait_sent()
            if hang_up_after is not None and index + 1 >= hang_up_after:
                await asyncio.sleep(1.5)  # the turn ends, then the caller is gone
                break
            if not await line.wait_for_bot(timeout=turn_timeout):
                run.unanswered_turns += 1
        if hang_up_after is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(line.closed.wait(), hang_up_wait)
        await line.hang_up()
        summary = await _final_summary(line)
    except Exception as error:  # one failed call must not stop a benchmark run
        run.error = f"{type(error).__name__}: {error}"
        summary = {}
        with contextlib.suppress(Exception):
            await line.close()
            summary = await _final_summary(line, timeout=10)
    run.outcome = summary.get("outcome")
    run.ticket_number = summary.get("ticket_number")
    run.turns = summary.get("turns", [])
    run.hung_up_by = line.hung_up_by
    run.heard_latencies_ms = [round(s * 1000) for s in line.first_bot_audio_after]
    spoken = audio if hang_up_after is None else audio[:hang_up_after]
    run.caller_latencies_ms = [
        heard + trailing_silence_ms(turn)
        for heard, turn in zip(run.heard_latencies_ms, spoken, strict=False)
    ]
    run.gap_frames = line.gap_frames + line.between_gap_frames
    run.gap_events = line.gap_events + line.between_gap_events
    run.longest_gap_ms = max(line.longest_gap_frames, line.longest_between_gap_frames) * 20
    run.between_gap_events = line.between_gap_events
    run.between_gap_ms = line.between_gap_frames * 20
    run.seconds = round(time.monotonic() - started, 1)
    return run
