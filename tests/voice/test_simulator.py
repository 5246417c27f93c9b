"""`dutyline call`: the simulator places a whole call, as Twilio would, and reports on it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from callbench.call_cli import ordered_turns
from callbench.simulator import Turn
from dutyline.settings import ROOT
from nlu.contract import BotReply


def test_turns_keep_their_command_line_order() -> None:
    raw = ["--say", "hello", "--press", "1", "--audio", "a.wav", "--say=bye", "--json"]
    turns = ordered_turns(raw, ["hello", "bye"], [Path("a.wav")], ["1"])
    assert turns == [
        Turn("say", "hello"),
        Turn("press", "1"),
        Turn("audio", "a.wav"),
        Turn("say", "bye"),
    ]
    # without the raw arguments (mounted without our command class): say, audio, press
    assert [t.kind for t in ordered_turns(None, ["a"], [Path("b.wav")], ["1"])] == [
        "say",
        "audio",
        "press",
    ]


def cli_env(app) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DUTYLINE_"))}
    env.update(
        DUTYLINE_ENVIRONMENT="test",
        DUTYLINE_PUBLIC_URL=app.settings.public_url,
        DUTYLINE_MODELS_DIR=str(app.settings.models_dir),
    )
    return env


@pytest.mark.slow
async def test_the_simulator_completes_a_call_end_to_end(telephony_app, tmp_path: Path) -> None:
    dialogue = telephony_app.dialogue
    dialogue.replies["driveway"] = [BotReply(text="Where is the car parked?")]
    dialogue.replies["street"] = [
        BotReply(
            text="Thank you. Your ticket number is 2 4 0 0 4 2. Goodbye.",
            control={"ticket_number": "240042", "end_call": True, "outcome": "ticket_filed"},
        )
    ]
    bot_wav = tmp_path / "bot.wav"
    command = [
        sys.executable, "-m", "callbench.call_cli", "call",
        "--url", telephony_app.url,
        "--say", "A car is blocking my driveway.",
        "--say", "It is on Oak Street.",
        "--voice", "flite:slt",
        "--save-bot", str(bot_wav),
        "--json",
    ]  # fmt: skip
    done = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=cli_env(telephony_app),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    print(done.stderr)
    assert summary["outcome"] == "ticket_filed" and summary["ticket_number"] == "240042"
    assert summary["hung_up_by"] == "bot"
    assert [t["speaker"] for t in summary["turns"]] == ["bot", "caller", "bot", "caller", "bot"]
    assert len(summary["latencies_ms"]) == 2 and all(ms > 0 for ms in summary["latencies_ms"])
    assert len(summary["heard_latencies_ms"]) == 2
    assert "driveway" in done.stderr.lower() and "ticket number" in done.stderr.lower()
    assert summary["recording_path"] and Path(summary["recording_path"]).is_file()
    with wave.open(str(bot_wav)) as saved:
        assert saved.getframerate() == 8000 and saved.getnchannels() == 1
        assert saved.getnframes() / 8000 > 5  # greeting, question, ticket number


@pytest.mark.slow
async def test_the_simulator_says_when_the_app_refuses_it(telephony_app) -> None:
    env = cli_env(telephony_app) | {"TWILIO_AUTH_TOKEN": "some-other-token"}
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "callbench.call_cli",
            "call",
            "--url",
            telephony_app.url,
            "--say",
            "hi",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 1
    assert "403" in done.stderr
