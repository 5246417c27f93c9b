"""Load: 20 concurrent simulated calls for DUTYLINE_LOAD_SECONDS (default 480: eight
minutes keep `make test` within 45 minutes; 600 for the figures in docs/benchmarks.md)
against the app run as its own process (as `dutyline run` does) with its own Rasa server.
Every call must end with a ticket (filed, or for triage), and the app's memory must grow
less than 10% from after warm-up to the end. Latency and audio gaps are printed, not
asserted (benchmarks, not timing tests)."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from callbench.calls import CALLER_VOICES, CallRun, caller_audio, load_calls, run_call
from callbench.latency import percentile
from dutyline.settings import ROOT
from tests.conftest import free_port, make_settings, migrate_and_seed, start_rasa, wait_until_ready

LOAD_SECONDS = float(os.environ.get("DUTYLINE_LOAD_SECONDS", "480"))
LOAD_CALLS = int(os.environ.get("DUTYLINE_LOAD_CALLS", "20"))
MEMORY_GROWTH_LIMIT = 0.10

pytestmark = [pytest.mark.slow, pytest.mark.load, pytest.mark.timeout(LOAD_SECONDS + 900)]


def _app_process(settings: Any, log: Path) -> subprocess.Popen[bytes]:
    from dutyline.runner import app_environment  # the process as `dutyline run` starts it

    env = {
        **app_environment(),
        "DUTYLINE_ENVIRONMENT": "test",
        "DUTYLINE_PORT": str(settings.port),
        "DUTYLINE_PUBLIC_URL": settings.public_url,
        "DUTYLINE_DATABASE_URL": settings.database_url,
        "DUTYLINE_RECORDINGS_DIR": str(settings.recordings_dir),
        "DUTYLINE_RASA_URL": settings.rasa_url,
        "DUTYLINE_LINES": "",  # one English line: only English Rasa servers run here
        "DUTYLINE_ACTION_SERVER_URL": f"http://127.0.0.1:{settings.port}",
        "DUTYLINE_ACTION_TOKEN": settings.action_token_value,  # what start_rasa gave Rasa
        # Every caller in the dialogue: the load on the pipeline and its memory are what is
        # measured here (a full line's message path: tests/voice/test_capacity.py).
        "DUTYLINE_MAX_CALLS": str(LOAD_CALLS),
    }
    command = [
        sys.executable, "-m", "uvicorn", "dutyline.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(settings.port), "--no-access-log",
        "--log-level", "warning",
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the app did not become healthy:\n{log.read_text()[-3000:]}")


async def _drive(
    url: str,
    settings: Any,
    audio: dict[tuple[str, str], list[bytes]],
    scripts: list[Any],
    progress: dict[str, float],
) -> tuple[list[CallRun], float]:
    """LOAD_CALLS callers, each calling again as soon as its call ends, until time is up."""
    deadline = time.monotonic() + LOAD_SECONDS
    runs: list[CallRun] = []
    counter = iter(range(10**6))

    async def caller_loop(worker: int) -> None:
        await asyncio.sleep(worker * 0.75)  # callers do not all ring at the same instant
        while time.monotonic() < deadline:
            index = next(counter)
            script = scripts[index % len(scripts)]
            voice = CALLER_VOICES[index % len(CALLER_VOICES)]
            run = await run_call(
                url,
                script,
                audio[(script.name, voice)],
                public_url=settings.public_url,
                token=settings.signing_token,
                voice=voice,
                caller_number=f"+1555{4_000_000 + index:07d}",
                turn_timeout=90,
            )
            runs.append(run)
            if len(runs) == LOAD_CALLS:
                progress["first_wave_at"] = time.monotonic()

    started = time.monotonic()
    await asyncio.gather(*(caller_loop(w) for w in range(LOAD_CALLS)))
    return runs, time.monotonic() - started


async def test_twenty_concurrent_calls_file_every_complaint_without_leaking(
    tmp_path: Path, record_figures: Callable[[str, object], None]
) -> None:
    from dispatch.db import make_engine
    from dispatch.service import DispatchService
    from voice.call_control import LocalCallControl

    app_port, rasa_port = free_port(), free_port()
    settings = make_settings(
        tmp_path,
        port=app_port,
        public_url=f"http://127.0.0.1:{app_port}",
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_server_url=f"http://127.0.0.1:{app_port}",
    )
    migrate_and_seed(settings)
    url = f"http://127.0.0.1:{app_port}"
    rasa = start_rasa(settings, rasa_port, tmp_path / "rasa.log")
    app = _app_process(settings, tmp_path / "app.log")
    try:
        # The callers' voices are made while the two servers start (it takes a while too).
        scripts = load_calls(settings.data_dir / "sample_calls" / "calls.yaml")
        audio = {(s.name, v): caller_audio(s, v) for s in scripts for v in CALLER_VOICES}
        wait_until_ready(settings.rasa_url, rasa, tmp_path / "rasa.log")
        _wait_healthy(url, app, tmp_path / "app.log")
        process = psutil.Process(app.pid)
        samples: list[tuple[float, float]] = []  # (time, RSS MB)
        process.cpu_percent(None)
        progress: dict[str, float] = {}
        driving = asyncio.ensure_future(_drive(url, settings, audio, scripts, progress))
        cpu: list[float] = []
        while not driving.done():
            await asyncio.sleep(5)
            samples.append((time.monotonic(), process.memory_info().rss / 2**20))
            cpu.append(process.cpu_percent(None))
        runs, seconds = driving.result()
        await asyncio.sleep(5)  # the last calls' records and recordings are written
        rss_end = process.memory_info().rss / 2**20
    finally:
        app.terminate()
        rasa.terminate()
        for proc in (app, rasa):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    dispatch = DispatchService(
        make_engine(settings.database_url), settings, sms=LocalCallControl(None)
    )
    missing = [r.call_sid for r in runs if not dispatch.ticket_for_call(r.call_sid)]
    triage = 0
    for run in runs:
        number = dispatch.ticket_for_call(run.call_sid)
        if number and dispatch.get_ticket(number).needs_triage:
            triage += 1
    # Warm-up: until the first wave of calls has ended and a fifth of the time has passed
    # (models, caches and per-call buffers in); growth after that would be a leak.
    warm_until = max(progress.get("first_wave_at", 0.0), samples[0][0] + LOAD_SECONDS / 5)
    # The baseline is the median over the minute after warm-up: one sample lands anywhere
    # in the swing of 20 calls' buffers (tens of MB either way).
    warm = [rss for at, rss in samples if warm_until <= at < warm_until + 60] or [rss_end]
    baseline = statistics.median(warm)
    growth = (rss_end - baseline) / baseline
    latencies = [ms for run in runs for ms in run.stored_latencies_ms]
    figures = {
        "concurrent_calls": LOAD_CALLS,
        "seconds": round(seconds),
        "calls": len(runs),
        "tickets": len(runs) - len(missing),
        "triage_tickets": triage,
        "errors": [r.error for r in runs if r.error],
        "unanswered_turns": sum(r.unanswered_turns for r in runs),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "gap_events": sum(r.gap_events for r in runs),
        "gap_ms": sum(r.gap_frames for r in runs) * 20,
        "app_cpu_mean_percent": round(sum(cpu) / len(cpu), 1) if cpu else None,
        "rss_after_warm_up_mb": round(baseline, 1),
        "rss_max_mb": round(max(rss for _, rss in samples), 1) if samples else None,
        "rss_end_mb": round(rss_end, 1),
        "rss_growth": round(growth, 3),
    }
    record_figures("LOAD", figures)
    assert runs, "no call completed"
    assert not missing, f"{len(missing)} of {len(runs)} calls left no ticket: {missing[:5]}"
    assert growth < MEMORY_GROWTH_LIMIT, figures
