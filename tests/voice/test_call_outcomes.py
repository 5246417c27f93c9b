"""Real calls through the real app and the real Rasa server: every caller turn on the call's
record carries the intent the dialogue read and its confidence, and the call's outcome is
what the dialogue said it came to (a status check, a voicemail, an emergency referral), so
the supervisors' flags and the "handled without a person" chart tell the truth."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from xml.etree import ElementTree

import pytest

from callbench.simulator import CallResult, Turn, simulate_call
from dispatch.contract import ComplaintReport

pytestmark = pytest.mark.slow

CALLER = "+15555550177"


async def call(stack: Any, turns: list[Turn]) -> tuple[CallResult, Any]:
    settings = stack.settings
    result = await simulate_call(
        stack.app_url,
        turns,
        public_url=settings.public_url,
        token=settings.signing_token,
        caller_number=CALLER,
        on_line=lambda who, text: print(f"{who}: {text}"),
    )
    dispatch = stack.services.dispatch
    deadline = time.monotonic() + 30
    while True:  # the record closes just after the line does
        detail = await asyncio.to_thread(dispatch.get_call, result.call_sid)
        if detail.outcome != "in_progress" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    for turn in detail.turns:
        print(turn.index, turn.speaker, turn.via, turn.intent, turn.intent_confidence, turn.text)
    return result, detail


def assert_every_caller_turn_understood(detail: Any) -> list[str]:
    caller = [t for t in detail.turns if t.speaker == "caller"]
    assert caller
    for turn in caller:
        assert turn.intent, f"turn {turn.index} ({turn.text!r}) has no intent"
        assert turn.intent_confidence is not None and 0 < turn.intent_confidence <= 1
    return [t.intent for t in caller]


async def test_a_status_check_is_recorded_as_one(stack: Any) -> None:
    filed = await asyncio.to_thread(
        stack.services.dispatch.file_complaint,
        ComplaintReport(kind="pothole", location="12 Main Street", channel="api"),
    )
    _, detail = await call(
        stack,
        [
            Turn("say", "I want to check the status of my ticket."),
            Turn("press", f"{filed.number}#"),
            Turn("say", "No, that's all. Goodbye."),
        ],
    )
    assert detail.outcome == "status_check"
    intents = assert_every_caller_turn_understood(detail)
    assert intents[:2] == ["check_status", "keypad"]
    assert any(", ".join(filed.number) in t.text for t in detail.turns if t.speaker == "bot")


async def test_a_voicemail_is_recorded_as_one(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack.services.dispatch, "on_duty_phone", lambda kind: None)
    result, detail = await call(
        stack,
        [
            Turn("press", "0"),
            Turn("say", "The drain on Elm Street is blocked and my basement is flooding."),
        ],
    )
    assert detail.outcome == "voicemail" and result.hung_up_by == "bot"
    intents = assert_every_caller_turn_understood(detail)
    assert intents[0] == "keypad"
    assert detail.ticket_numbers


async def test_an_emergency_referral_is_recorded_as_one(stack: Any) -> None:
    result, detail = await call(
        stack,
        [Turn("say", "Help! My neighbour's house is on fire!"), Turn("say", "Yes, please.")],
    )
    assert detail.outcome == "emergency_referred"
    intents = assert_every_caller_turn_understood(detail)
    assert intents[0] == "emergency"
    [transfer] = stack.services.call_control.actions("transfer", result.call_sid)
    assert transfer["to"] == stack.settings.emergency_number
    dial = ElementTree.fromstring(transfer["twiml"]).find("./Dial")
    assert dial is not None and dial.get("callerId") == CALLER  # shown to whoever answers
    assert not detail.ticket_numbers  # no report was started: nothing to file


async def test_a_status_callback_for_another_replicas_stream_leaves_it_open(stack: Any) -> None:
    """Twilio's status callback reaching a replica that does not hold the call's stream
    (dispatch/lost_calls.py): a call streaming elsewhere, with turns stored, stays open for
    that replica to close (not "abandoned" over what it will file); a call that never
    streamed is closed as abandoned."""
    from datetime import UTC, datetime

    from callbench.simulator import TwilioLine
    from dispatch.contract import CallStart, TurnRecord

    dispatch = stack.services.dispatch
    settings = stack.settings
    elsewhere = TwilioLine(stack.app_url, public_url=settings.public_url,
                           token=settings.signing_token, caller_number=CALLER)  # fmt: skip
    sid = elsewhere.call_sid
    await asyncio.to_thread(
        dispatch.open_call,
        CallStart(call_sid=sid, caller_number=CALLER, started_at=datetime.now(UTC)),
    )
    await asyncio.to_thread(
        dispatch.record_turn, TurnRecord(call_sid=sid, index=0, speaker="bot", text="Hello.")
    )
    assert (await elsewhere.status_callback("completed")).status_code == 204
    detail = await asyncio.to_thread(dispatch.get_call, sid)
    assert detail.outcome == "in_progress"

    never = TwilioLine(stack.app_url, public_url=settings.public_url,
                       token=settings.signing_token, caller_number=CALLER)  # fmt: skip
    assert never.call_sid != sid
    await asyncio.to_thread(
        dispatch.open_call,
        CallStart(call_sid=never.call_sid, caller_number=CALLER, started_at=datetime.now(UTC)),
    )
    assert (await never.status_callback("completed")).status_code == 204
    assert (await asyncio.to_thread(dispatch.get_call, never.call_sid)).outcome == "abandoned"
