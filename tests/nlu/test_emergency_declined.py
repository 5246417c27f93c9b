"""An emergency transfer the caller declines before any report: the bot asks for the report
(through the real trained Rasa server and the app's actions)."""

from __future__ import annotations

from typing import Any

import pytest

from nlu.client import RasaDialogue
from nlu.contract import Outcome
from tests.nlu.test_conversations import LOCATION_QUESTION, Call, text

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]


async def test_emergency_declined_before_any_report_asks_for_the_report(
    stack: Any, dialogue: RasaDialogue
) -> None:
    """Seen in the whole-call place benchmark: "a stray dog chasing people", misheard, was
    taken for an emergency; the caller said no, and "anything else?" lost their report."""
    call = Call(dialogue)
    await call.start()
    replies = await call.say("help my neighbor collapsed and he's not breathing")
    assert stack.settings.emergency_number in text(replies)
    replies = await call.say("no it's not an emergency")
    assert "what is the problem" in text(replies) and "anything else" not in text(replies)
    assert any(r.control.outcome == Outcome.EMERGENCY_REFERRED for r in replies)
    replies = await call.say("there's a big pothole in the road")
    assert text(replies).startswith(LOCATION_QUESTION), text(replies)


async def test_an_emergency_declined_twice_is_not_asked_a_third_time(
    stack: Any, dialogue: RasaDialogue
) -> None:
    """Seen in the whole-call place benchmark: one misheard opening set the emergency net
    off ten times in a row, the caller declining each time. Asked twice, then the words
    are not understood as any other (and the keypad's list is offered)."""
    call = Call(dialogue)
    await call.start()
    danger = "help my neighbor collapsed and he's not breathing"
    for _ in range(2):
        assert stack.settings.emergency_number in text(await call.say(danger))
        assert "what is the problem" in text(await call.say("no it's not an emergency"))
    replies = await call.say(danger)
    assert "emergency" not in text(replies).lower(), text(replies)
    assert "say it another way" in text(replies), text(replies)
    replies = await call.say(danger)
    assert "Press 1 to report a problem" in text(replies), text(replies)


async def test_an_answer_heard_as_an_emergency_after_two_declines_is_the_answer(
    stack: Any, dialogue: RasaDialogue
) -> None:
    """In a report, the third time the same answer sets the net off it is taken as the
    answer to the question asked, and the form goes on."""
    call = Call(dialogue)
    await call.start()
    await call.say("there's a big pothole in the road")
    await call.say("twelve oak street")
    question = call.last_text
    danger = "it's huge, someone collapsed and he's not breathing"
    for _ in range(2):
        assert stack.settings.emergency_number in text(await call.say(danger))
        replies = await call.say("no it's not an emergency")
        assert question.split(". ")[-1] in text(replies), text(replies)
    replies = await call.say(danger)
    assert "emergency" not in text(replies).lower(), text(replies)
    for _ in range(4):  # the pothole's other questions, if any, until the read-back
        if "Is that right?" in call.last_text:
            break
        await call.say("no")
    assert "someone collapsed" in call.last_text, call.last_text


async def test_a_no_after_an_emergency_declined_does_not_end_the_call(
    stack: Any, dialogue: RasaDialogue
) -> None:
    """Seen in the whole-call place benchmark (2 calls of 50): "There are three non-caping
    people", declined as an emergency, then "There are not three non-caping people" to
    "what is the problem?" was taken for "no" and the bot said goodbye, nothing reported."""
    call = Call(dialogue)
    await call.start()
    assert stack.settings.emergency_number in text(
        await call.say("help my neighbor collapsed and he's not breathing")
    )
    assert "what is the problem" in text(await call.say("no it's not an emergency"))
    replies = await call.say("no")
    assert not any(r.control.end_call for r in replies), text(replies)
    assert "problem you would like to report" in text(replies), text(replies)
    replies = await call.say("there's a big pothole in the road")
    assert text(replies).startswith(LOCATION_QUESTION), text(replies)
