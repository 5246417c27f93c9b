"""Real calls, end to end: synthesized caller audio in Twilio's frames -> the real app (Silero,
Whisper, Piper) -> the real Rasa server and actions -> a ticket filed in the real database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from typing import Any

import pytest
import yaml

from callbench.caller_voices import synthesize_caller
from callbench.simulator import TwilioLine
from dutyline.settings import ROOT

pytestmark = pytest.mark.slow

VOICE = "flite:rms"  # not the bot's voice (Piper joe)


def stack_line(stack: Any, **options: Any) -> TwilioLine:
    return TwilioLine(
        stack.app_url,
        public_url=stack.settings.public_url,
        token=stack.settings.signing_token,
        **options,
    )


def questions(stack: Any) -> dict[str, str]:
    """Each complaint question the caller may hear -> its slot."""
    data = yaml.safe_load((stack.settings.data_dir / "complaint_kinds.yaml").read_text())
    return {
        spec["question"]: slot
        for kind in data["kinds"].values()
        for slot, spec in kind["slots"].items()
    }


async def last_bot_text(line: TwilioLine) -> str:
    summary = await line.summary() or {}
    bot = [t["text"] for t in summary.get("turns", []) if t["speaker"] == "bot"]
    return bot[-1] if bot else ""


ANSWERS = {
    "location": "Twelve Oak Street.",
    "vehicle": "A white pickup truck.",
    "blocking": "My driveway.",
}


async def test_a_phone_call_files_a_ticket(stack: Any) -> None:
    asked = questions(stack)
    line = stack_line(stack, caller_number="+15555550161")
    await line.open_stream(await line.dial())
    heard: list[str] = []
    try:
        assert await line.wait_for_bot()
        heard.append(await last_bot_text(line))
        line.speak(synthesize_caller("A truck is blocking my driveway.", voice=VOICE))
        await line.wait_sent()
        for _ in range(8):
            assert await line.wait_for_bot(), f"no reply; heard so far {heard}"
            prompt = await last_bot_text(line)
            heard.append(prompt)
            print("bot:", prompt)
            if line.closed.is_set():
                break
            if "anything else" in prompt.lower():
                answer = "No, that's all. Thank you."
            elif prompt.startswith("Where is it?"):
                answer = ANSWERS["location"]
            elif prompt in asked:
                answer = ANSWERS.get(asked[prompt], "I don't know.")
            elif "Is that right?" in prompt:
                answer = "Yes, that's right."
            else:
                answer = "Yes."
            line.speak(synthesize_caller(answer, voice=VOICE))
            await line.wait_sent()
        await asyncio.wait_for(line.closed.wait(), 20)
    finally:
        await line.hang_up()
        summary = await line.summary() or {}
        for turn in summary.get("turns", []):
            print(
                turn["index"], turn["speaker"], turn["started_ms"], turn["ended_ms"], turn["text"]
            )
    print(json.dumps(heard, indent=1))
    services = stack.services
    number = await asyncio.to_thread(services.dispatch.ticket_for_call, line.call_sid)
    assert number, f"no ticket filed; the bot said {heard}"
    ticket = await asyncio.to_thread(services.dispatch.find_ticket, number)
    assert ticket is not None and ticket.kind == "illegal_parking"
    assert "oak" in (ticket.location or "").lower()
    detail = await asyncio.to_thread(services.dispatch.get_call, line.call_sid)
    assert detail is not None and detail.outcome == "ticket_filed"
    assert detail.recording_path and detail.caller_number == "+15555550161"
    bot_turns = [t for t in detail.turns if t.speaker == "bot" and t.latency_ms is not None]
    assert bot_turns and all(t.latency_ms > 0 for t in bot_turns)
    print("latencies", [t.latency_ms for t in bot_turns])


async def test_dutyline_call_completes_a_call_end_to_end(stack: Any, tmp_path) -> None:
    """`dutyline call --say ... --json` against the running stack files a ticket."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DUTYLINE_"))}
    env.update(DUTYLINE_ENVIRONMENT="test", DUTYLINE_PUBLIC_URL=stack.settings.public_url)
    says = [
        "A truck is blocking my driveway.",
        "Twelve Oak Street.",
        "A white pickup truck.",
        "My driveway.",
        "Yes, that's right.",
        "No, that's all. Thank you.",
    ]
    command = [str(ROOT / ".venv" / "bin" / "dutyline"), "call", "--url", stack.app_url, "--json"]
    for text in says:
        command += ["--say", text]
    command += ["--save-bot", str(tmp_path / "bot.wav")]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env
    )
    print(done.stderr)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ticket_number"], summary["turns"]
    assert summary["outcome"] == "ticket_filed" and summary["hung_up_by"] == "bot"
    assert len(summary["latencies_ms"]) >= len(says)
    ticket = await asyncio.to_thread(stack.services.dispatch.find_ticket, summary["ticket_number"])
    assert ticket is not None and ticket.kind == "illegal_parking"
    assert (tmp_path / "bot.wav").stat().st_size > 8000 * 2 * 10
