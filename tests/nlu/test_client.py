"""The app's client for the Rasa server: replies, call control, and failures mapped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from nlu.client import RasaDialogue, to_replies
from nlu.contract import DialogueUnavailable, Outcome, ReplyControl
from tests.conftest import free_port, serve_app


def test_custom_payload_is_the_control_of_the_text_before_it() -> None:
    replies = to_replies(
        [
            {"recipient_id": "CA1", "text": "Your ticket number is 4, 2."},
            {"recipient_id": "CA1", "custom": {"ticket_number": "42"}},
            {"recipient_id": "CA1", "text": "Goodbye."},
            {"recipient_id": "CA1", "custom": {"end_call": True}},
        ]
    )
    assert [(r.text, r.control) for r in replies] == [
        ("Your ticket number is 4, 2.", ReplyControl(ticket_number="42")),
        ("Goodbye.", ReplyControl(end_call=True)),
    ]


def test_control_without_text_is_a_reply_of_its_own() -> None:
    replies = to_replies([{"recipient_id": "CA1", "custom": {"ticket_number": "42"}}])
    assert len(replies) == 1
    assert replies[0].text is None
    assert replies[0].control == ReplyControl(ticket_number="42")


def test_control_is_typed_and_unknown_control_is_refused() -> None:
    [reply] = to_replies([{"text": "Saved.", "custom": {"outcome": "voicemail", "end_call": True}}])
    assert reply.control.outcome is Outcome.VOICEMAIL and reply.control.ends_call
    assert not ReplyControl() and ReplyControl(expect="digits")
    for custom in ({"hang_up": True}, {"outcome": "finished"}, {"expect": "colour"}):
        with pytest.raises(ValueError):
            to_replies([{"text": "Hm.", "custom": custom}])


def test_every_dialogue_outcome_is_a_call_outcome() -> None:
    from typing import get_args

    from dispatch.contract import CallOutcome

    assert {o.value for o in Outcome} <= set(get_args(CallOutcome))


async def test_rasa_down_is_dialogue_unavailable() -> None:
    dialogue = RasaDialogue(f"http://127.0.0.1:{free_port()}", timeout=2)
    try:
        with pytest.raises(DialogueUnavailable):
            await dialogue.say("CA1", "there's a pothole")
        with pytest.raises(DialogueUnavailable):
            await dialogue.start("CA1", {"caller_number": "+15550001111"})
        with pytest.raises(DialogueUnavailable):
            await dialogue.understood("CA1", "m1")
        assert await dialogue.ready() is False
    finally:
        await dialogue.aclose()


@pytest.fixture(scope="module")
def broken_rasa() -> Iterator[str]:
    """A server on a real socket that answers like a Rasa in trouble."""
    app = FastAPI()
    seen: list[dict] = []

    @app.post("/webhooks/rest/webhook")
    async def webhook(body: dict) -> JSONResponse:
        seen.append(body)
        if body["message"].startswith("slow"):
            import asyncio

            await asyncio.sleep(3)
        if body["message"] == "not a list":
            return JSONResponse({"oops": True})
        if body["message"] == "echo":
            return JSONResponse([{"recipient_id": body["sender"], "text": repr(body)}])
        if body["message"] == "strange control":
            return JSONResponse([{"recipient_id": body["sender"], "custom": {"explode": 1}}])
        return JSONResponse({"error": "model crashed"}, status_code=500)

    @app.get("/status")
    async def status() -> JSONResponse:
        return JSONResponse({"model_file": "en.tar.gz"})

    port = free_port()
    with serve_app(app, port).running():
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("message", ["crash", "not a list", "slow down", "strange control"])
async def test_server_errors_and_timeouts_are_dialogue_unavailable(
    broken_rasa: str, message: str
) -> None:
    dialogue = RasaDialogue(broken_rasa, timeout=1)
    try:
        with pytest.raises(DialogueUnavailable):
            await dialogue.say("CA2", message)
    finally:
        await dialogue.aclose()


async def test_messages_carry_call_metadata_and_keypad_syntax(broken_rasa: str) -> None:
    dialogue = RasaDialogue(broken_rasa, timeout=2)
    try:
        assert await dialogue.ready() is True
        [reply] = await dialogue.say(
            "CA3", "echo", {"caller_number": "+15550001111", "locale": "en"}
        )
        assert "'sender': 'CA3'" in reply.text
        assert "'caller_number': '+15550001111'" in reply.text
        assert "'call_sid': 'CA3'" in reply.text
        # Each caller message is tagged, to find how Rasa read it in the tracker later.
        assert f"'message_id': '{dialogue.latest_message('CA3')}'" in reply.text
        # A caller can't type intents: a transcript starting with "/" is not one.
        [reply] = await dialogue.say("CA3", "/echo")
        assert "'message': 'echo'" in reply.text
    finally:
        await dialogue.aclose()
