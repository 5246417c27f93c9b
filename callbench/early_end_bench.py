"""The early end of turn, measured (part of `dutyline bench accuracy --parts turn`).

The line as configured (SpeechModels from the settings: Silero VAD, the end-of-turn
detector, the recognizer of "en" with the city's hints) hears each caller turn frame by
frame, as voice/listening.py does: at the first pause the turn so far is transcribed, and
if voice/turn_completion.py finds it a complete answer to what was asked and the caller is
still in that pause, the turn ends there. Two clocks for when the transcript is back:

- real time: the recognizer's own time on this machine (its load shows in it); the caller
  goes on meanwhile, and a word heard before the transcript is back keeps the turn open;
- instant: as if recognition took no time; the check alone decides (the worst case for
  cuts, and what a much faster recognizer would do).

Two sets: the pausing callers (callbench/accuracy.py PAUSED_SENTENCES, each with the
question it answers, PAUSED_EXPECT), where an early end is a cut; and complete answers
(the same sentences without the pause, and the complaint, place, yes/no and number
answers of data/sample_calls/calls.yaml), where it is the silence saved.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlu.contract import Expect

FRAME = 640  # 20 ms of 16 kHz PCM16, as the pipeline pushes it
_YES_NO = {"yes", "no", "yeah", "nope", "yep", "correct"}
_NUMBER = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}


@dataclass(frozen=True)
class Sample:
    said: str
    expect: Expect
    voice: str
    pcm: bytes  # 16 kHz PCM16 through the 8 kHz line


@dataclass(frozen=True)
class Heard:
    turns: int  # ENDED events: more than one is a cut
    early: bool  # the first turn ended early
    silence_ms: int  # silence at the first turn's end


def city_expectations(settings: Any) -> Any:
    """The app's Expectations, built as dutyline/app.py does, from the files set-up reads."""
    from callbench.place_bench import load_locator
    from dispatch.kinds import load_kinds
    from nlu.project import locale_dir
    from voice.expectations import Expectations, RecognitionVocabulary

    training = sorted((locale_dir("en") / "data" / "nlu").glob("*.yml"))
    kinds = load_kinds(settings.data_dir)
    return Expectations(
        RecognitionVocabulary(
            places=load_locator(settings).vocabulary(),
            complaint_words=tuple(k for kind in kinds.values() for k in kind.keywords),
            common_words=tuple(p.read_text(encoding="utf-8") for p in training),
        )
    )


def sample_call_answers(calls_file: Path) -> list[tuple[str, Expect]]:
    """The scripted calls' answers whose question is known from their place in the call:
    the opening, the place (the second line), yes/no and small numbers."""
    from callbench.calls import load_calls

    found: dict[str, Expect] = {}
    for call in load_calls(calls_file):
        for index, said in enumerate(call.says):
            words = said.lower().split()
            if index == 0:
                found.setdefault(said, Expect.COMPLAINT)
            elif index == 1:
                found.setdefault(said, Expect.PLACE)
            elif words and set(words) <= _YES_NO:
                found.setdefault(said, Expect.YES_NO)
            elif words and words[-1] in _NUMBER:
                found.setdefault(said, Expect.NUMBER)
    return list(found.items())


class EarlyEndRun:
    """One configured line (shared models) hearing samples; transcripts kept per audio."""

    def __init__(self, speech: Any) -> None:
        from voice.turn_completion import TurnCompletion

        self.speech = speech
        self.transcriber = speech.transcriber("en")
        self.completion = TurnCompletion.from_expectations(speech.expectations)
        self._cache: dict[tuple[bytes, Expect], tuple[str, float]] = {}
        self.recognition_ms: list[float] = []
        self.reasons: dict[str, int] = {}
        # Each "not complete" (expected, said, heard at the pause, why).
        self.checks: list[tuple[str, str, str, str]] = []

    def transcribe(self, audio: bytes, expect: Expect) -> tuple[str, float]:
        key = (hashlib.blake2b(audio, digest_size=16).digest(), expect)
        if key not in self._cache:
            hints = self.speech.expectations.hints_for(expect, "en")
            started = time.perf_counter()
            result = self.transcriber.transcribe(audio, hints)
            seconds = time.perf_counter() - started
            self.recognition_ms.append(seconds * 1000)
            text, _ = self.speech.expectations.snap(result.text.strip(), expect, "en")
            self._cache[key] = (text, seconds)
        return self._cache[key]

    def hear(self, sample: Sample, *, instant: bool, early: bool = True) -> Heard:
        from voice.turn import BYTES_PER_SECOND, TurnEventKind

        vad, turn = self.speech.new_vad(), self.speech.new_end_of_turn()
        ended = []
        pending: tuple[float, int, str] | None = None  # transcript due, its pause, its text
        busy_until = 0.0  # one guess at a time, as the Listener (recognizer idle only)
        clock = 0.0
        for start in range(0, len(sample.pcm), FRAME):
            chunk = sample.pcm[start : start + FRAME]
            clock += len(chunk) / BYTES_PER_SECOND
            event = turn.push(chunk, vad.analyze(chunk), clock)
            kind = event.kind if event else None
            if kind is TurnEventKind.PAUSED and early and clock >= busy_until:
                assert event is not None
                text, seconds = self.transcribe(event.audio, sample.expect)
                due = clock if instant else clock + seconds
                busy_until = due
                pending = (due, event.pause, text)
            elif kind in (TurnEventKind.RESUMED, TurnEventKind.DISCARDED):
                pending = None
            elif kind is TurnEventKind.ENDED:
                assert event is not None
                ended.append(event)
                pending = None
            if pending is not None and clock >= pending[0]:
                _, pause, text = pending
                pending = None
                verdict = self.completion.check(text, sample.expect, "en")
                if not verdict:
                    self.checks.append((sample.expect.value, sample.said, text, verdict.reason))
                if verdict:
                    done = turn.end_now(clock, pause)
                    if done is not None and done.kind is TurnEventKind.ENDED:
                        ended.append(done)
                        self.reasons[verdict.reason] = self.reasons.get(verdict.reason, 0) + 1
        tail = turn.flush()
        if tail is not None and tail.kind is TurnEventKind.ENDED:
            ended.append(tail)
        first = ended[0] if ended else None
        return Heard(
            turns=len(ended),
            early=bool(first and first.reason == "early"),
            silence_ms=round(first.silence * 1000) if first else 0,
        )


def measure(
    speech: Any,
    *,
    paused: Sequence[Sample],
    complete: Sequence[Sample],
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    run = EarlyEndRun(speech)
    run.transcribe(complete[0].pcm if complete else paused[0].pcm, Expect.COMPLAINT)  # warm
    run.recognition_ms.clear()
    configured = round(speech.new_end_of_turn().end_silence * 1000)
    result: dict[str, Any] = {
        "end_silence_ms": configured,
        "pause_ms": round(speech.new_end_of_turn().pause * 1000),
    }
    for clock in ("real_time", "instant"):
        progress(f"  early end, {clock}: {len(paused)} paused, {len(complete)} complete")
        cuts = [s for s in paused if run.hear(s, instant=clock == "instant").turns > 1]
        run.checks.clear()
        heard = [(s, run.hear(s, instant=clock == "instant")) for s in complete]
        split = [s for s, h in heard if h.turns > 1]  # a complete answer cut too
        fired = [h for _, h in heard if h.early]
        by_expect: dict[str, list[int]] = {}
        for sample, h in heard:
            by_expect.setdefault(sample.expect.value, [0, 0])
            by_expect[sample.expect.value][0] += 1
            by_expect[sample.expect.value][1] += h.early
        result[clock] = {
            "paused": len(paused),
            "cut_in_two": len(cuts),
            "cut_rate": round(len(cuts) / len(paused), 3) if paused else None,
            "cut": sorted({f"{s.expect.value}: {s.said}" for s in cuts}),
            "complete": len(complete),
            "complete_cut": len(split),
            "early": len(fired),
            "early_rate": round(len(fired) / len(complete), 3) if complete else None,
            "early_by_expect": {k: f"{v[1]}/{v[0]}" for k, v in sorted(by_expect.items())},
            "early_silence_ms_p50": statistics.median([h.silence_ms for h in fired])
            if fired
            else None,
            # Over all complete answers: what the caller waits less on average.
            "saved_ms_mean": round(
                statistics.mean(configured - h.silence_ms for _, h in heard if h.early)
                * len(fired)
                / len(heard)
            )
            if fired
            else 0,
        }
    result["recognition_ms_p50"] = round(statistics.median(run.recognition_ms), 1)
    result["recognition_ms_p95"] = round(
        sorted(run.recognition_ms)[int(0.95 * (len(run.recognition_ms) - 1))], 1
    )
    result["reasons"] = run.reasons
    # Why complete answers were not ended early (instant clock: the check alone).
    result["not_early"] = sorted(set(run.checks))
    return result
