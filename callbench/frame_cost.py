"""`dutyline bench frames` (or `python -m callbench.frame_cost`): what a connected call
costs in CPU when nothing happens in it, and while the caller talks.

N calls in Twilio's format (callbench/simulator.py: a 20 ms mu-law frame every 20 ms in
real time) are connected to an app run as its own process, and that process's CPU time
(threads and children included) is read from psutil over `seconds`:

- idle: the callers send silence after the greeting; only per-frame work runs.
- talk: the callers speak without stopping (a clip replayed): per-frame work with the
  VAD's inference on every window, plus the recognition of each turn.

By default the app is started here (SQLite in a temporary folder) with a quiet dialogue
(greets, never replies, never times out the caller), so the figure is the voice path's own
and needs no Rasa. `--app-url` measures a running app instead (its pid found by port; give
it a long DUTYLINE_NO_INPUT_TIMEOUT_SECONDS, or its re-prompts end the idle calls).
`micro` times the per-frame path in this process, frame by frame, without an app.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from callbench.machine import describe, listening_process, machine
from callbench.simulator import FRAME, TwilioLine

TARGET_IDLE_PERCENT = 1.5  # the issue's: an idle connected call, % of one core
TALK_TEXT = (
    "There is a car parked across my driveway on Oak Street and it has been there all "
    "night long so I cannot get out to work this morning"
)


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU time of the process, its threads and its children."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def settle(proc: psutil.Process, below: float = 5.0, timeout: float = 90.0) -> None:
    """Wait until the app is quiet (it warms its caches for a while after /healthz says 200)."""
    deadline = time.monotonic() + timeout
    while cpu_percent_over(proc, 2.0) > below and time.monotonic() < deadline:
        pass


def cpu_percent_over(proc: psutil.Process, seconds: float) -> float:
    """Mean CPU of `proc` over the next `seconds`, 100 = one core (blocks)."""
    before, started = cpu_seconds(proc), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(proc) - before) / (time.monotonic() - started)


# --- the app, started here ------------------------------------------------------------


class QuietDialogue:
    """An nlu.contract.Dialogue that greets and then only listens: no replies to
    synthesize, no re-prompts, so what the app spends is the line's own work."""

    async def start(self, call_sid: str, metadata: dict[str, Any]) -> list[Any]:
        from nlu.contract import BotReply

        return [BotReply(text="Hello.")]

    async def say(self, call_sid: str, text: str, metadata: dict[str, Any] | None = None) -> list:
        return []

    async def keypad(self, call_sid: str, digits: str) -> list[Any]:
        return []

    async def event(self, call_sid: str, name: str) -> list[Any]:
        return []

    def latest_message(self, call_sid: str) -> str | None:
        return None

    async def understood(self, call_sid: str, message_id: str) -> None:
        return None

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        pass


def serve(port: int, folder: Path) -> None:
    """Run the app with the quiet dialogue on 127.0.0.1:`port` (the child process)."""
    import dataclasses

    import uvicorn

    from dispatch.db import make_engine, upgrade
    from dispatch.seed import seed
    from dutyline.app import build_services, create_app
    from dutyline.settings import ROOT, Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="test",
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        database_url=f"sqlite:///{folder / 'dutyline.db'}",
        recordings_dir=folder / "recordings",
        spool_dir=folder / "spool",
        models_dir=ROOT / "models",
        data_dir=ROOT / "data",
        no_input_timeout_seconds=3600,
    )
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    seed(engine, settings.data_dir)
    engine.dispose()
    services = dataclasses.replace(build_services(settings), dialogue=QuietDialogue())
    app = create_app(settings, services=services)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def started_app(timeout: float = 300) -> Any:
    """(url, token, process) of an app started here for the run; stopped afterwards."""
    from dutyline.runner import app_environment
    from dutyline.settings import Settings

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="dutyline-frames-") as folder:
        log = Path(folder) / "app.log"
        command = [sys.executable, "-m", "callbench.frame_cost", "serve", str(port), folder]
        with log.open("wb") as out:
            child = subprocess.Popen(command, env=app_environment(), stdout=out, stderr=out)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if child.poll() is not None:
                    raise RuntimeError(f"the app exited:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/healthz", timeout=3).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not start:\n{log.read_text()[-3000:]}")
                time.sleep(1)
            token = Settings(_env_file=None, environment="test").signing_token  # type: ignore[call-arg]
            yield url, token, psutil.Process(child.pid)
        finally:
            child.terminate()
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()


# --- the calls ----------------------------------------------------------------------


async def _connect(url: str, token: str, n: int, number: int) -> list[TwilioLine]:
    lines = []
    for i in range(n):
        line = TwilioLine(url, public_url=url, token=token, caller_number=f"+1555{number + i:07d}")
        dialed = await line.dial()
        if dialed.status_code != 200 or not dialed.stream_url:
            raise RuntimeError(f"the webhook answered {dialed.status_code}: {dialed.twiml[:200]}")
        await line.open_stream(dialed)
        lines.append(line)
        await asyncio.sleep(0.1)
    # The greeting plays first; measuring starts when every caller has heard it.
    await asyncio.gather(*(line.wait_for_bot(settle=0.5, timeout=60) for line in lines))
    return lines


async def _keep_talking(line: TwilioLine, clip: bytes) -> None:
    while not line.closed.is_set():
        if len(line._outgoing) < 50:  # under a second queued: the caller goes on
            line.speak(clip)
        await asyncio.sleep(0.2)


async def measure_calls(
    url: str, token: str, proc: psutil.Process, *, calls: int, seconds: float, mode: str
) -> dict[str, Any]:
    baseline = await asyncio.to_thread(cpu_percent_over, proc, min(10.0, seconds))
    lines = await _connect(url, token, calls, 3_000_000 + int(time.time()) % 1_000_000)
    talkers: list[asyncio.Task[None]] = []
    try:
        if mode == "talk":
            from callbench.caller_voices import synthesize_caller

            clip = await asyncio.to_thread(synthesize_caller, TALK_TEXT, voice="espeak:en-us")
            clip = clip[: len(clip) // FRAME * FRAME]
            talkers = [asyncio.create_task(_keep_talking(line, clip)) for line in lines]
            await asyncio.sleep(1.0)
        loaded = await asyncio.to_thread(cpu_percent_over, proc, seconds)
        dropped = sum(1 for line in lines if line.closed.is_set())
    finally:
        for task in talkers:
            task.cancel()
        await asyncio.gather(*(line.hang_up() for line in lines), return_exceptions=True)
    per_call = (loaded - baseline) / calls
    return {
        "mode": mode,
        "calls": calls,
        "seconds": seconds,
        "app_idle_percent": round(baseline, 2),
        "app_percent": round(loaded, 2),
        "per_call_percent": round(per_call, 3),
        "calls_closed_early": dropped,
    }


def run(
    *,
    calls: int = 10,
    seconds: float = 30.0,
    modes: tuple[str, ...] = ("idle", "talk"),
    app_url: str | None = None,
    token: str | None = None,
    progress: Any = lambda line: None,
) -> dict[str, Any]:
    measured_on = machine()
    results = []
    with contextlib.ExitStack() as stack:
        if app_url is None:
            progress("starting the app (quiet dialogue, its own SQLite)")
            url, token, proc = stack.enter_context(started_app())
        else:
            from dutyline.settings import get_settings

            url, token = app_url.rstrip("/"), token or get_settings().signing_token
            found = listening_process(int(httpx.URL(url).port or 80))
            if found is None:
                raise RuntimeError(f"no process is listening at {url}")
            proc = found
        progress("waiting for the app to settle")
        settle(proc)
        for mode in modes:
            progress(f"{calls} {mode} calls for {seconds:.0f} s")
            results.append(
                asyncio.run(
                    measure_calls(url, token, proc, calls=calls, seconds=seconds, mode=mode)
                )
            )
    return {
        "machine": measured_on,
        "load_after": round(os.getloadavg()[0], 2),
        "target_idle_percent": TARGET_IDLE_PERCENT,
        "levels": results,
        "micro": micro(),
    }


# --- the per-frame path in this process --------------------------------------------------


def micro(frames: int = 1500, repeats: int = 3) -> dict[str, float]:
    """Microseconds per 20 ms frame of the inbound path (JSON and base64, mu-law, 8->16 kHz,
    VAD), for silence and for speech, measured in this process's CPU time (the best of
    `repeats`: other work on the machine only ever adds)."""
    import base64

    from callbench.caller_voices import synthesize_caller
    from dutyline.settings import ROOT
    from voice.codec import Resampler
    from voice.frames import CallerAudio
    from voice.stages import PHONE_RATE, PIPELINE_RATE
    from voice.twilio_serializer import TwilioSerializer
    from voice.vad import SileroVadAnalyzer, SileroVadModel

    model = SileroVadModel(ROOT / "models" / "silero_vad.onnx")
    speech = synthesize_caller(TALK_TEXT, voice="espeak:en-us")
    out: dict[str, float] = {}
    for name, audio in (("silence", b"\xff" * FRAME * frames), ("speech", speech)):
        chunks = [audio[i : i + FRAME] for i in range(0, len(audio) - FRAME + 1, FRAME)]
        chunks = (chunks * (frames // len(chunks) + 1))[:frames]
        messages = [
            json.dumps(
                {
                    "event": "media",
                    "sequenceNumber": str(i + 3),
                    "media": {
                        "track": "inbound",
                        "chunk": str(i + 1),
                        "timestamp": str(i * 20),
                        "payload": base64.b64encode(chunk).decode(),
                    },
                    "streamSid": "MZ0",
                }
            )
            for i, chunk in enumerate(chunks)
        ]
        best = float("inf")
        for _ in range(repeats):
            serializer = TwilioSerializer()
            upsample = Resampler(PHONE_RATE, PIPELINE_RATE)
            vad = SileroVadAnalyzer(model)
            started = time.process_time()
            for message in messages:
                frame = serializer.deserialize(message)
                assert isinstance(frame, CallerAudio)
                vad.analyze(upsample.process(frame.pcm8k))
            best = min(best, time.process_time() - started)
        out[f"{name}_us_per_frame"] = round(1e6 * best / frames, 1)
    return out


def print_result(result: dict[str, Any], echo: Any = print) -> None:
    echo(f"Frame cost measured {describe(result['machine'])}; load after {result['load_after']}")
    echo("mode  calls  seconds  app idle %  app with calls %  per call % of a core")
    for level in result["levels"]:
        echo(
            f"{level['mode']:<5} {level['calls']:>5}  {level['seconds']:>7.0f}  "
            f"{level['app_idle_percent']:>10}  {level['app_percent']:>16}  "
            f"{level['per_call_percent']:>8}"
            + (
                f"  ({level['calls_closed_early']} calls closed early)"
                if level["calls_closed_early"]
                else ""
            )
        )
        if level["mode"] == "idle":
            met = level["per_call_percent"] <= result["target_idle_percent"]
            echo(
                f"      target: an idle call <= {result['target_idle_percent']}% of one core: "
                + ("met" if met else "not met")
            )
    micro_ = result.get("micro") or {}
    if micro_:
        echo(
            "one frame in-process (JSON, base64, mu-law, 8->16 kHz, VAD): "
            + ", ".join(
                f"{k.removesuffix('_us_per_frame')} {v} us/frame" for k, v in micro_.items()
            )
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    serve_cmd = sub.add_parser("serve", help="(internal) run the app with the quiet dialogue")
    serve_cmd.add_argument("port", type=int)
    serve_cmd.add_argument("folder", type=Path)
    sub.add_parser("micro", help="only the in-process per-frame timing")
    measure = sub.add_parser("run", help="measure (the default)")
    for p in (parser, measure):
        p.add_argument("--calls", type=int, default=10)
        p.add_argument("--seconds", type=float, default=30.0)
        p.add_argument("--modes", default="idle,talk")
        p.add_argument("--app-url", default=None)
        p.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port, args.folder)
        return
    if args.command == "micro":
        print(json.dumps(micro()))
        return
    result = run(
        calls=args.calls,
        seconds=args.seconds,
        modes=tuple(m.strip() for m in args.modes.split(",") if m.strip()),
        app_url=args.app_url,
        progress=lambda line: print(line, file=sys.stderr),
    )
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_result(result)


if __name__ == "__main__":
    main()
