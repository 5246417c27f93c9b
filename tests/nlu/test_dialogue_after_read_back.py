"""Two dialogue faults seen on whole calls, through the real trained Rasa server.

- After the ticket is filed, a leave-taking the model does not place ("No thanks, that's
  all, goodbye" understood as not understood or out of scope) was answered with the
  goodbye five times: each goodbye was a follow-up of the fallback, and the rule for
  "not understood" fired again until Rasa's limit of actions per message.
- After "no" to the read-back and "What should I change?", an answer that only gives a
  place was taken as a new complaint of another kind when the model leaned that way
  (a correction switches kind only when the caller names the other kind).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from dispatch.contract import CallStart
from dutyline.settings import ROOT
from nlu.client import RasaDialogue
from tests.nlu.test_conversations import Call, text

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]

GOODBYE = "Thank you for calling. Goodbye."


async def filed_call(stack: Any, dialogue: RasaDialogue) -> Call:
    call = Call(dialogue)
    stack.services.dispatch.open_call(
        CallStart(call_sid=call.sid, caller_number="+15550001234", started_at=datetime.now(UTC))
    )
    await call.start()
    await call.say("a tree fell across the road")
    await call.say("twelve oak street")
    for _ in range(4):
        if call.control("ticket_number"):
            break
        prompt = call.heard[-1].text or ""
        await call.say("yes" if "right?" in prompt or "?" in prompt else "no")
    assert call.control("ticket_number"), [r.text for r in call.heard]
    return call


@pytest.mark.parametrize(
    "leave_taking",
    [
        "No thanks, that's all, goodbye",
        "nope that is all thank you very much goodbye",
        "no no that's it bye bye",
    ],
)
async def test_goodbye_after_filing_is_said_once(
    stack: Any, dialogue: RasaDialogue, leave_taking: str
) -> None:
    call = await filed_call(stack, dialogue)
    replies = await call.say(leave_taking)
    said = [r.text for r in replies if r.text]
    assert said.count(GOODBYE) == 1, said
    assert replies[-1].control.end_call is True


@pytest.mark.parametrize(
    "correction",
    ["it's fourteen oak street", "fourteen oak street", "the address is 14 oak street"],
)
async def test_a_place_given_as_the_correction_keeps_the_kind(
    stack: Any, dialogue: RasaDialogue, correction: str
) -> None:
    call = Call(dialogue)
    await call.start()
    await call.say("a tree fell across the road")
    await call.say("twelve oak street")
    for _ in range(4):  # the tree's questions, until the read-back
        if "Is that right?" in call.last_text:
            break
        await call.say("no")
    assert "Is that right?" in call.last_text, [r.text for r in call.heard]
    replies = await call.say("no")
    assert "What should I change?" in text(replies)
    replies = await call.say(correction)
    heard = text(replies)
    # Either read back at once with the new place, or the place asked again: never a new kind.
    assert "14 Oak Street" in heard or heard.startswith("Where is it?"), heard
    assert "tree" in heard.lower() or heard.startswith("Where is it?"), heard


def _kind_names() -> dict[str, str]:
    kinds = yaml.safe_load((ROOT / "data" / "complaint_kinds.yaml").read_text("utf-8"))["kinds"]
    return {code: kind["name"] for code, kind in kinds.items()}


@pytest.mark.parametrize("kind", [k for k in _kind_names() if k != "fallen_tree"])
async def test_a_wrong_problem_is_corrected_by_its_name(
    stack: Any, dialogue: RasaDialogue, kind: str
) -> None:
    """A misheard opening read back as a tree down: the caller says no, then names the
    problem as the keypad's list does ("the problem is dead animal"); the report becomes
    that kind at the same place, and the tree's answers are dropped."""
    call = Call(dialogue)
    await call.start()
    await call.say("a tree fell across the road")
    await call.say("twelve oak street")
    for _ in range(4):
        if "Is that right?" in call.last_text:
            break
        await call.say("no")
    assert "Fallen tree" in call.last_text, [r.text for r in call.heard]
    await call.say("no")
    replies = await call.say(f"the problem is {_kind_names()[kind].lower()}")
    for _ in range(6):  # the new kind's questions, until its read-back
        if "Is that right?" in text(replies):
            break
        replies = await call.say("no")
    heard = text(replies)
    assert f"{_kind_names()[kind]}, at 12 Oak Street" in heard, [r.text for r in call.heard]
