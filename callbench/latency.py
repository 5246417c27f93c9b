"""`dutyline bench latency`: scripted calls at several concurrencies against a running
dutyline, through the real stack (Twilio's frames, Silero, Whisper, Rasa, Piper).

Voice-to-voice latency is the end of the caller's speech to the first bot audio
sent, as the app stores it per bot turn (TurnRecord.latency_ms, with its
breakdown in stage_ms), and as the simulated caller hears it (end of the caller
audio it sent to the first bot audio it received). CPU and memory of the app and
the Rasa server are sampled during each level; gaps in the bot's audio are
counted on the line (see callbench/calls.py).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from callbench.calls import CALLER_VOICES, CallRun, ScriptedCall, caller_audio, load_calls
from callbench.machine import Sampler, listening_process, machine

STAGES = ("end_of_turn", "recognition", "dialogue", "synthesis")
# The targets, milliseconds.
TARGET_P50_ONE_CALL = 700
TARGET_P95_ONE_CALL = 1200
TARGET_P95_EIGHT_CALLS = 1500
TARGET_CONCURRENT_CALLS = 10


def percentile(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def port_of(url: str, default: int) -> int:
    return urlparse(url).port or default


async def run_level(
    app_url: str,
    scripts: list[ScriptedCall],
    audio: dict[tuple[str, str], list[bytes]],
    voices: Sequence[str],
    *,
    concurrency: int,
    calls: int,
    public_url: str,
    token: str,
    stagger: float,
    first_number: int,
) -> list[CallRun]:
    """`calls` calls, at most `concurrency` at once; the first ones start `stagger` s apart."""
    from callbench.calls import run_call

    slots = asyncio.Semaphore(concurrency)

    async def one(index: int) -> CallRun:
        script = scripts[index % len(scripts)]
        voice = voices[index % len(voices)]
        if index < concurrency:
            await asyncio.sleep(index * stagger)
        async with slots:
            return await run_call(
                app_url,
                script,
                audio[(script.name, voice)],
                public_url=public_url,
                token=token,
                voice=voice,
                caller_number=f"+1555{first_number + index:07d}",
            )

    return list(await asyncio.gather(*(one(i) for i in range(calls))))


def summarize_level(concurrency: int, runs: list[CallRun], seconds: float) -> dict[str, Any]:
    stored = [ms for run in runs for ms in run.stored_latencies_ms]
    heard = [ms for run in runs for ms in run.heard_latencies_ms]
    caller = [ms for run in runs for ms in run.caller_latencies_ms]
    stages: dict[str, list[int]] = {stage: [] for stage in STAGES}
    for run in runs:
        for turn in run.bot_turns_with_latency:
            for stage, ms in (turn.get("stage_ms") or {}).items():
                stages.setdefault(stage, []).append(ms)
    return {
        "concurrency": concurrency,
        "calls": len(runs),
        "seconds": round(seconds, 1),
        "bot_turns": len(stored),
        "p50_ms": percentile(stored, 50),
        "p95_ms": percentile(stored, 95),
        "max_ms": max(stored) if stored else None,
        "heard_p50_ms": percentile(heard, 50),
        "heard_p95_ms": percentile(heard, 95),
        "caller_p50_ms": percentile(caller, 50),
        "caller_p95_ms": percentile(caller, 95),
        "stage_p50_ms": {stage: percentile(v, 50) for stage, v in stages.items()},
        "stage_p95_ms": {stage: percentile(v, 95) for stage, v in stages.items()},
        "gap_frames": sum(run.gap_frames for run in runs),
        "gap_events": sum(run.gap_events for run in runs),
        "calls_with_gaps": sum(1 for run in runs if run.gap_frames),
        "longest_gap_ms": max((run.longest_gap_ms for run in runs), default=0),
        "unanswered_turns": sum(run.unanswered_turns for run in runs),
        "tickets": sum(1 for run in runs if run.ticket_number),
        "errors": [run.error for run in runs if run.error],
        "outcomes": _count(run.outcome or "none" for run in runs),
    }


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def verdicts(levels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each of the issue's latency targets: the measured figure, met or not (None: not run)."""
    by_level = {level["concurrency"]: level for level in levels}
    one, eight = by_level.get(1), by_level.get(8)
    out: list[dict[str, Any]] = []

    def add(target: str, measured: Any, met: bool | None) -> None:
        out.append({"target": target, "measured": measured, "met": met})

    if one and one["p50_ms"] is not None:
        add("p50 <= 700 ms, one call", one["p50_ms"], one["p50_ms"] <= TARGET_P50_ONE_CALL)
        add("p95 <= 1200 ms, one call", one["p95_ms"], one["p95_ms"] <= TARGET_P95_ONE_CALL)
    else:
        add("p50 <= 700 ms / p95 <= 1200 ms, one call", None, None)
    if eight and eight["p95_ms"] is not None:
        add("p95 <= 1500 ms, 8 calls", eight["p95_ms"], eight["p95_ms"] <= TARGET_P95_EIGHT_CALLS)
    else:
        add("p95 <= 1500 ms, 8 calls", None, None)
    many = [lv for lv in levels if lv["concurrency"] >= TARGET_CONCURRENT_CALLS]
    if many:
        level = max(many, key=lambda lv: lv["concurrency"])
        clean = (
            level["gap_frames"] == 0
            and level["unanswered_turns"] == 0
            and not level["errors"]
            and level["tickets"] == level["calls"]
        )
        add(
            f">= 10 concurrent calls, no dropped audio ({level['concurrency']} calls)",
            f"{level['gap_events']} gaps ({level['gap_frames'] * 20} ms) in "
            f"{level['calls_with_gaps']} calls, {level['unanswered_turns']} unanswered turns, "
            f"{level['tickets']}/{level['calls']} tickets",
            clean,
        )
    else:
        add(">= 10 concurrent calls, no dropped audio", None, None)
    return out


def run(
    *,
    app_url: str,
    public_url: str,
    rasa_url: str,
    token: str,
    calls_file: Path,
    concurrency: Sequence[int] = (1, 4, 8, 12),
    calls_per_level: Sequence[int] | None = None,
    voices: Sequence[str] = CALLER_VOICES,
    stagger: float = 1.5,
    progress: Callable[[str], None] = lambda line: None,
    seed: int = 0,
) -> dict[str, Any]:
    measured_on = machine()  # the date and load average before the run
    scripts = load_calls(calls_file)
    random.Random(seed).shuffle(scripts)
    app_proc = listening_process(port_of(app_url, 80))
    rasa_proc = listening_process(port_of(rasa_url, 5005))
    if calls_per_level and len(calls_per_level) not in (1, len(concurrency)):
        raise ValueError("give one number of calls, or one per concurrency level")
    counts = list(calls_per_level or [])
    plan = {
        c: (counts[i] if len(counts) > 1 else counts[0]) if counts else max(4, 2 * c)
        for i, c in enumerate(concurrency)
    }
    needed = {
        (scripts[i % len(scripts)].name, voices[i % len(voices)])
        for calls in plan.values()
        for i in range(calls)
    }
    progress(f"synthesizing caller audio for {len(needed)} script/voice pairs")
    by_name = {s.name: s for s in scripts}
    audio = {(name, voice): caller_audio(by_name[name], voice) for name, voice in sorted(needed)}
    levels, runs_out = [], []
    number = 2_000_000
    for level, calls in plan.items():
        progress(f"{calls} calls, {level} at once")
        started = time.monotonic()
        with Sampler({"app": app_proc, "rasa": rasa_proc}) as sampler:
            runs = asyncio.run(
                run_level(
                    app_url,
                    scripts,
                    audio,
                    voices,
                    concurrency=level,
                    calls=calls,
                    public_url=public_url,
                    token=token,
                    stagger=stagger,
                    first_number=number,
                )
            )
        number += calls
        summary = summarize_level(level, runs, time.monotonic() - started)
        summary["processes"] = sampler.summary()
        levels.append(summary)
        runs_out += [
            {"concurrency": level, **{k: v for k, v in asdict(r).items() if k != "turns"}}
            for r in runs
        ]
        progress(
            f"  p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
            f"{summary['tickets']}/{summary['calls']} tickets, {summary['gap_events']} gaps"
        )
    return {
        "machine": measured_on,
        "app_url": app_url,
        "app_pid": app_proc.pid if app_proc else None,
        "rasa_pid": rasa_proc.pid if rasa_proc else None,
        "voices": list(voices),
        "levels": levels,
        "targets": verdicts(levels),
        "calls": runs_out,
    }
