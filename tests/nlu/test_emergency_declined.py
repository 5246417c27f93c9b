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
