"""`dutyline bench latency`: scripted calls at several concurrencies against a running
dutyline, through the real stack (Twilio's frames, Silero, Whisper, Rasa, Piper).

The headline is latency at the caller, as an independent caller measures it: from the
end of the caller's last voiced frame (the last 20 ms frame it sent above the VAD's volume
floor, whatever silence followed) to the first bot audio it received; inbound queueing,
the app's own clock and the trip back are all inside it. Second, as the app stores it per
bot turn (TurnRecord.latency_ms, from the end of speech as the app *processed* it, with its
breakdown in stage_ms). Inbound lag per level comes from the app's /metrics: frames that
reached the pipeline more than 100 ms after the stream's own timestamps say they were sent,
and the worst lag. CPU and memory of the app and the Rasa server are sampled during each
level; gaps in the bot's audio are counted on the line (see callbench/calls.py).
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
from callbench.simulator import FRAME
from voice.codec import ulaw_decode

AT_CAPACITY = ("voicemail_at_capacity", "refused_at_capacity")  # dispatch.contract's
STAGES = ("end_of_turn", "recognition", "dialogue", "synthesis")
# Issue 12's targets, at the caller, milliseconds: (calls at once, p50, p95).
CALLER_TARGETS = ((1, 450, 700), (12, None, 900), (20, None, 1500))
# Issue 6's targets, by the app's clock, milliseconds.
TARGET_P50_ONE_CALL = 700
TARGET_P95_ONE_CALL = 1200
TARGET_P95_EIGHT_CALLS = 1500
TARGET_CONCURRENT_CALLS = 10


VOICED_DBFS = -55.0  # the VAD's volume floor (voice/vad.py VadParams.min_volume_dbfs)


def trailing_unvoiced_ms(ulaw: bytes) -> int:
    """From the end of the turn's last voiced 20 ms frame to the end of the last frame sent
    (the simulator pads the last frame to 20 ms): what the caller's latency adds to the
    time from its last frame sent to the bot's first audio."""
    padded = ulaw + b"\xff" * (-len(ulaw) % FRAME)
    frames = np.frombuffer(ulaw_decode(padded), dtype="<i2").astype(np.float64).reshape(-1, FRAME)
    floor = (32768 * 10 ** (VOICED_DBFS / 20)) ** 2
    voiced = np.flatnonzero(np.mean(frames * frames, axis=1) > floor)
    last = int(voiced[-1]) + 1 if len(voiced) else 0
    return (len(frames) - last) * FRAME // 8  # 8 samples per ms


def at_the_caller_ms(run: CallRun, audio: Sequence[bytes]) -> list[int]:
    """Per answered caller turn: its last voiced frame to the first bot audio received."""
    return [
        heard + trailing_unvoiced_ms(turn)
        for heard, turn in zip(run.heard_latencies_ms, audio, strict=False)
    ]


def scrape_inbound(app_url: str, token: str | None) -> dict[str, Any] | None:
    """The app's inbound-lag series now (None when /metrics cannot be read)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{app_url}/metrics", headers=headers, timeout=10)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    out: dict[str, Any] = {"late": 0.0, "buckets": {}, "count": 0.0}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "dutyline_inbound_late_frames_total":
                out["late"] = sample.value
            elif sample.name == "dutyline_inbound_lag_seconds_bucket":
                out["buckets"][float(sample.labels["le"])] = sample.value
            elif sample.name == "dutyline_inbound_lag_seconds_count":
                out["count"] = sample.value
    return out


def inbound_lag(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """What a level added: frames > 100 ms late, seconds of audio sampled (each sample is
    the worst frame of a second), seconds whose worst frame was > 100 ms late, and the
    histogram bucket the worst lag fell in (its upper bound, ms)."""
    if before is None or after is None:
        return {"late_frames": None, "seconds": None, "late_seconds": None, "max_lag_ms": None}
    seconds = int(after["count"] - before["count"])
    delta = {le: after["buckets"][le] - before["buckets"].get(le, 0.0) for le in after["buckets"]}
    within_100ms = delta.get(0.1, 0.0)
    bound = min((le for le, n in delta.items() if n >= seconds), default=None)
    return {
        "late_frames": int(after["late"] - before["late"]),
        "seconds": seconds,
        "late_seconds": int(seconds - within_100ms),
        # "<= this": the histogram's buckets bound the worst lag, never better than that
        "max_lag_ms": None if bound is None or not seconds else round(bound * 1000),
    }


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


def summarize_level(
    concurrency: int,
    runs: list[CallRun],
    seconds: float,
    audio: dict[tuple[str, str], list[bytes]] | None = None,
    inbound: dict[str, Any] | None = None,
) -> dict[str, Any]:
    # Calls the line took a message from because it was full have no dialogue: their
    # figures are the admitted calls' (the refused are counted apart).
    everyone, runs = runs, [run for run in runs if run.outcome not in AT_CAPACITY]
    stored = [ms for run in runs for ms in run.stored_latencies_ms]
    heard = [ms for run in runs for ms in run.heard_latencies_ms]
    if audio is not None:
        caller = [ms for run in runs for ms in at_the_caller_ms(run, audio[(run.name, run.voice)])]
    else:
        caller = [ms for run in runs for ms in run.caller_latencies_ms]
    stages: dict[str, list[int]] = {stage: [] for stage in STAGES}
    for run in runs:
        for turn in run.bot_turns_with_latency:
            for stage, ms in (turn.get("stage_ms") or {}).items():
                stages.setdefault(stage, []).append(ms)
    return {
        "concurrency": concurrency,
        "calls": len(everyone),
        "at_capacity": len(everyone) - len(runs),
        "seconds": round(seconds, 1),
        "bot_turns": len(stored),
        "caller_turns": len(caller),
        "caller_p50_ms": percentile(caller, 50),
        "caller_p95_ms": percentile(caller, 95),
        "caller_max_ms": max(caller) if caller else None,
        "p50_ms": percentile(stored, 50),
        "p95_ms": percentile(stored, 95),
        "max_ms": max(stored) if stored else None,
        "heard_p50_ms": percentile(heard, 50),
        "heard_p95_ms": percentile(heard, 95),
        "inbound": inbound or inbound_lag(None, None),
        "stage_p50_ms": {stage: percentile(v, 50) for stage, v in stages.items()},
        "stage_p95_ms": {stage: percentile(v, 95) for stage, v in stages.items()},
        "gap_frames": sum(run.gap_frames for run in runs),
        "gap_events": sum(run.gap_events for run in runs),
        "calls_with_gaps": sum(1 for run in runs if run.gap_frames),
        "longest_gap_ms": max((run.longest_gap_ms for run in runs), default=0),
        "unanswered_turns": sum(run.unanswered_turns for run in runs),
        "tickets": sum(1 for run in everyone if run.ticket_number),
        "errors": [run.error for run in everyone if run.error],
        "outcomes": _count(run.outcome or "none" for run in everyone),
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

    for calls, p50, p95 in CALLER_TARGETS:  # issue 12, at the caller: the headline
        level = by_level.get(calls)
        name = f"at the caller, {calls} call{'s' if calls > 1 else ''}: " + (
            f"p50 <= {p50} / p95 <= {p95} ms" if p50 else f"p95 <= {p95} ms"
        )
        if calls == 12:
            name += ", no audio gaps"
        if calls == 20:
            name += ", every call a ticket"
        if not level or level.get("caller_p95_ms") is None:
            add(name, None, None)
            continue
        met = level["caller_p95_ms"] <= p95 and (p50 is None or level["caller_p50_ms"] <= p50)
        measured = f"{level['caller_p50_ms']:.0f} / {level['caller_p95_ms']:.0f} ms"
        if calls == 12:
            met = met and level["gap_events"] == 0
            measured += f", {level['gap_events']} gaps"
        if calls == 20:
            met = met and level["tickets"] == level["calls"]
            measured += f", {level['tickets']}/{level['calls']} tickets"
        add(name, measured, met)

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
    metrics_token: str | None = None,
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
        inbound_before = scrape_inbound(app_url, metrics_token)
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
        inbound = inbound_lag(inbound_before, scrape_inbound(app_url, metrics_token))
        summary = summarize_level(level, runs, time.monotonic() - started, audio, inbound)
        summary["processes"] = sampler.summary()
        levels.append(summary)
        runs_out += [
            {"concurrency": level, **{k: v for k, v in asdict(r).items() if k != "turns"}}
            for r in runs
        ]
        progress(
            f"  at the caller p50 {summary['caller_p50_ms']} ms, p95 {summary['caller_p95_ms']} "
            f"ms (app's clock {summary['p50_ms']} / {summary['p95_ms']}), "
            f"{summary['tickets']}/{summary['calls']} tickets, {summary['gap_events']} gaps, "
            f"{inbound['late_frames']} inbound frames > 100 ms late"
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
