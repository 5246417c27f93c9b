"""Faults during real calls (real models, a real Rasa server, real databases): each time
the call ends politely or goes on, and what the caller said ends up in a ticket."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

from tests.reliability.conftest import (
    PrivateStack,
    bot_text,
    caller,
    connect,
    wait_for_value,
    wait_until,
)
from voice.call_control import LocalCallControl

pytestmark = pytest.mark.slow

DEER = [
    "There is a dead deer in the middle of the road.",
    "Maple Avenue near the school.",
    "A deer.",
    "On the road.",
    "Yes.",
]


async def say(line: Any, text: str, *, wait: bool = True) -> None:
    line.speak(caller(text))
    await line.wait_sent()
    if wait:
        assert await line.wait_for_bot(timeout=90), f"no reply to {text!r}"


ANSWERS = {"animal": "A deer.", "road itself": "On the road.", "anything else": "No, that's all."}


async def answer_until_read_back(line: Any, turns: int = 6) -> None:
    """Answer the kind's questions (whichever the dialogue asks) until it reads back."""
    for _ in range(turns):
        last = (await bot_text(line))[-1]
        if "Is that right?" in last:
            return
        answer = next((a for key, a in ANSWERS.items() if key in last.lower()), "I don't know.")
        await say(line, answer)
    raise AssertionError(f"no read-back; the bot said {await bot_text(line)}")


async def ticket_of(dispatch: Any, call_sid: str, timeout: float = 60.0) -> Any:
    number = await wait_for_value(lambda: dispatch.ticket_for_call(call_sid), timeout)
    return await asyncio.to_thread(dispatch.get_ticket, number)


def said(ticket: Any) -> str:
    """Everything the ticket keeps of the caller's words, lower case."""
    parts = [ticket.transcript, ticket.location_text, ticket.description, *ticket.details.values()]
    return " ".join(p for p in parts if p).lower()


class _FailingRecognition:
    """The app's speech models, except that recognition raises once `failing` is set."""

    def __init__(self, speech: Any) -> None:
        self._speech = speech
        self.failing = False
        self.raised = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._speech, name)

    def transcriber(self, locale: str) -> Any:
        real, outer = self._speech.transcriber(locale), self

        class Transcriber:
            name = real.name

            def transcribe(self, pcm16k: bytes, hints: Any = None) -> Any:
                if outer.failing:
                    outer.raised += 1
                    raise RuntimeError("the recognizer crashed (test)")
                return real.transcribe(pcm16k, hints)

        return Transcriber()


async def test_recognition_raising_ends_politely_with_a_triage_ticket(
    private_stack: PrivateStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_stack.ensure_rasa()
    services = private_stack.services
    speech = _FailingRecognition(services.speech)
    monkeypatch.setattr(services, "speech", speech)
    line = await private_stack.connect(caller_number="+15555550302")
    try:
        assert await line.wait_for_bot()
        await say(line, DEER[0])
        speech.failing = True
        await say(line, DEER[1], wait=False)
        await wait_until(line.closed.is_set, timeout=90)
    finally:
        await line.hang_up()
    assert speech.raised >= 1
    assert line.hung_up_by == "bot"
    ticket = await ticket_of(services.dispatch, line.call_sid)
    assert ticket.needs_triage and "deer" in said(ticket)
    assert "recognition" in (ticket.triage_reason or "")
    last = (await bot_text(line))[-1]
    assert "trouble" in last and " ".join(ticket.number) in last


async def test_database_unavailable_for_a_while_loses_no_complaint(
    private_stack: PrivateStack,
) -> None:
    """The database goes away just before the caller confirms, and comes back 15 s later."""
    private_stack.ensure_rasa()
    dispatch = private_stack.services.dispatch
    line = await private_stack.connect(caller_number="+15555550303")
    try:
        assert await line.wait_for_bot()
        await say(line, DEER[0])
        await say(line, DEER[1])
        await answer_until_read_back(line)
        with private_stack.database_down():
            await say(line, DEER[-1], wait=False)
            # The caller must hear something (a ticket number, or an apology): not silence.
            assert await line.wait_for_bot(timeout=60)
            await asyncio.sleep(15)
        heard_while_down = await bot_text(line)
        await asyncio.wait_for(line.closed.wait(), 60)
    finally:
        await line.hang_up()
    # When the database is back, the complaint must be there, with what was said.
    ticket = await ticket_of(dispatch, line.call_sid, timeout=120)
    assert ticket is not None, f"no ticket once the database came back; bot: {heard_while_down}"
    assert ticket.kind == "dead_animal" or "deer" in said(ticket)
    assert "maple" in said(ticket)


async def test_caller_hanging_up_mid_form_keeps_the_report(stack: Any) -> None:
    dispatch = stack.services.dispatch
    line = await connect(stack.app_url, stack.settings, caller_number="+15555550304")
    try:
        assert await line.wait_for_bot()
        await say(line, DEER[0])
        await say(line, DEER[1])  # the bot now asks about the animal: mid-form
    finally:
        await line.hang_up()
    ticket = await ticket_of(dispatch, line.call_sid)
    assert ticket.needs_triage or ticket.kind == "dead_animal"
    assert "maple" in said(ticket)
    assert ticket.caller_number == "+15555550304"
    call = await wait_for_value(
        lambda: (c := dispatch.get_call(line.call_sid)) and c.outcome != "in_progress" and c
    )
    assert call.outcome in ("abandoned", "ticket_filed")


class _TwilioDown:
    """Twilio's REST API failing: every hang-up, transfer and SMS raises."""

    name = "twilio"

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def hang_up(self, call_sid: str) -> None:
        self.attempts.append("hang_up")
        raise ConnectionError("api.twilio.com: 503 Service Unavailable (test)")

    def transfer(self, call_sid: str, to: str, caller: str | None = None) -> None:
        self.attempts.append("transfer")
        raise ConnectionError("api.twilio.com: 503 Service Unavailable (test)")

    def send_sms(self, to: str, body: str) -> str:
        self.attempts.append("sms")
        raise ConnectionError("api.twilio.com: 503 Service Unavailable (test)")


async def test_twilio_rest_failing_still_files_and_the_outbox_retries(
    private_stack: PrivateStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_stack.ensure_rasa()
    services = private_stack.services
    dispatch = services.dispatch
    twilio = _TwilioDown()
    monkeypatch.setattr(services, "call_control", twilio)
    monkeypatch.setattr(dispatch, "sms", twilio)
    line = await private_stack.connect(caller_number="+15555550305")
    try:
        assert await line.wait_for_bot()
        await say(line, DEER[0])
        await say(line, DEER[1])
        await answer_until_read_back(line)
        await say(line, "Yes.")
        await say(line, "No, that's all. Thank you.", wait=False)
        # Ending the call goes through the REST API, which fails: the stream closes anyway.
        await asyncio.wait_for(line.closed.wait(), 90)
    finally:
        await line.hang_up()
    assert "hang_up" in twilio.attempts and line.hung_up_by == "bot"
    ticket = await ticket_of(dispatch, line.call_sid)
    assert ticket.kind == "dead_animal" and not ticket.needs_triage
    # The SMS (caller receipt, officer) failed and wait for their retry; nothing is dropped.
    await wait_until(lambda: "sms" in twilio.attempts, timeout=30)
    detail = await asyncio.to_thread(dispatch.get_ticket, ticket.number)
    assert detail.notifications, "no SMS queued for the ticket"
    assert all(n.status != "sent" for n in detail.notifications)
    assert any(n.attempts >= 1 and n.last_error for n in detail.notifications)
    # Twilio is back: the next delivery round sends every one of them.
    working = LocalCallControl(None)
    monkeypatch.setattr(dispatch, "sms", working)
    later = dispatch.clock() + timedelta(hours=2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await asyncio.to_thread(dispatch.deliver_outbox, later)
        detail = await asyncio.to_thread(dispatch.get_ticket, ticket.number)
        if all(n.status == "sent" for n in detail.notifications):
            break
        await asyncio.sleep(0.5)
    assert all(n.status == "sent" for n in detail.notifications)
    assert len(working.actions("sms")) >= len(detail.notifications)


async def test_a_call_past_its_maximum_length_ends_with_a_ticket(
    private_stack: PrivateStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_stack.ensure_rasa()
    monkeypatch.setattr(private_stack.settings, "max_call_seconds", 25)
    dispatch = private_stack.services.dispatch
    line = await private_stack.connect(caller_number="+15555550306")
    try:
        assert await line.wait_for_bot()
        await say(line, DEER[0])
        await say(line, DEER[1], wait=False)
        await wait_until(line.closed.is_set, timeout=120)
    finally:
        await line.hang_up()
    assert line.hung_up_by == "bot"
    assert any("time limit" in text for text in await bot_text(line))
    ticket = await ticket_of(dispatch, line.call_sid)
    assert "deer" in said(ticket)


async def test_rasa_killed_mid_call_files_what_was_said(private_stack: PrivateStack) -> None:
    private_stack.ensure_rasa()
    dispatch = private_stack.services.dispatch
    line = await private_stack.connect(caller_number="+15555550301")
    try:
        assert await line.wait_for_bot()
        await say(line, DEER[0])
        await say(line, DEER[1])
        assert private_stack.rasa_process is not None
        private_stack.rasa_process.kill()
        private_stack.rasa_process.wait(10)
        await say(line, DEER[2], wait=False)
        await wait_until(line.closed.is_set, timeout=90)
        assert line.hung_up_by == "bot"  # the app ended the call, after its apology
        ticket = await ticket_of(dispatch, line.call_sid)
        assert ticket.needs_triage
        assert "deer" in said(ticket) and "maple" in said(ticket)
        assert ticket.caller_number == "+15555550301"
        last = (await bot_text(line))[-1]
        assert "trouble" in last and " ".join(ticket.number) in last
        assert "[interrupted" not in last
        call = await wait_for_value(lambda: dispatch.get_call(line.call_sid))
        await wait_until(lambda: call.outcome != "in_progress", timeout=5)
        assert call.outcome == "failed"
    finally:
        await line.hang_up()
        # The next test on the private stack starts Rasa again (ensure_rasa); this one runs
        # last in the module, so usually none has to wait for that.
