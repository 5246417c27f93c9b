"""POST /rasa/actions: Rasa's action-server protocol, served by the app itself.

Rasa posts {next_action, sender_id, tracker, domain, version} and gets back
{events, responses}; 404 names an action we do not have. An action that fails
never leaves the caller in silence: what they said is filed as a triage ticket
and they hear its number.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from dispatch.logcontext import bind_call_sid
from dispatch.metrics import rejected
from nlu.actions import calls, complaint, place
from nlu.actions.turn import Turn, spoken_digits
from nlu.contract import ReplyControl

log = logging.getLogger("dutyline.nlu.actions")

router = APIRouter(tags=["dialogue"])

Action = Callable[[Turn], None]

ACTIONS: dict[str, Action] = {
    "action_new_report": complaint.new_report,
    "action_location_first": complaint.location_first,
    "action_ask_location": place.ask_location,
    "action_read_back": complaint.read_back,
    "action_file_ticket": complaint.file_ticket,
    "action_apply_correction": complaint.apply_correction,
    "action_emergency": calls.emergency,
    "action_emergency_transfer": calls.emergency_transfer,
    "action_emergency_declined": calls.emergency_declined,
    "action_transfer": calls.transfer,
    "action_file_voicemail": calls.file_voicemail,
    "validate_status_form": calls.validate_status_form,
    "action_ticket_status": calls.ticket_status,
    "action_fallback": calls.fallback,
    "action_out_of_scope": calls.out_of_scope,
    "action_what_else": calls.what_else,
    "action_keypad": calls.keypad,
    "action_repeat": calls.repeat,
    "action_no_input": calls.no_input,
    "action_goodbye": calls.goodbye,
    "action_thanks": calls.thanks,
    "action_hangup": calls.hangup,
}

# Said when even the locale's failure prompt cannot be rendered.
LAST_RESORT = (
    "I'm sorry, something went wrong on our side. Please call back in a few minutes. "
    "If anyone is in danger, call {emergency_number}."
)


def find_action(name: str, turn: Turn) -> Action | None:
    if name in ACTIONS:
        return ACTIONS[name]
    kind = name.removeprefix("validate_").removesuffix("_form")
    if name.startswith("validate_") and name.endswith("_form") and kind in turn.kinds():
        return lambda t: complaint.validate_complaint_form(t, kind)
    return None


def _rejection(name: str, error: str, status: int) -> JSONResponse:
    return JSONResponse({"error": error, "action_name": name}, status_code=status)


def from_rasa(request: Request) -> bool:
    """Does the request carry the shared secret only Rasa's endpoints file holds?"""
    expected = request.app.state.services.settings.action_token_value
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), expected.encode()
    )


@router.post("/rasa/actions")
async def run_action(request: Request) -> JSONResponse:
    # Checked before the body is even read: a forged call files, sends and logs nothing of it.
    if not from_rasa(request):
        log.warning(
            "refused POST /rasa/actions from %s: %s action token",
            request.client.host if request.client else "?",
            "wrong" if "authorization" in request.headers else "no",
        )
        rejected("action_token")
        return JSONResponse(
            {"error": "not the dialogue server"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _rejection("?", "the body is not JSON", 400)
    if not isinstance(body, dict):
        return _rejection("?", "the body is not a JSON object", 400)
    # In a worker thread: dispatch's database calls never block the loop carrying live audio.
    return await run_in_threadpool(_run, request, body)


def _run(request: Request, body: dict[str, Any]) -> JSONResponse:
    name = body.get("next_action")
    tracker = body.get("tracker")
    if not isinstance(name, str) or not isinstance(tracker, dict):
        return _rejection(str(name), "next_action and tracker are required", 400)
    services = request.app.state.services
    turn = Turn(
        sender_id=str(body.get("sender_id") or tracker.get("sender_id") or ""),
        tracker=tracker,
        domain=body.get("domain") or {},
        dispatch=services.dispatch,
        emergency_number=services.settings.emergency_number,
    )
    bind_call_sid(turn.sender_id)  # Rasa's sender is the call: its sid on this worker's lines
    action = find_action(name, turn)
    if action is None:
        return _rejection(name, f"unknown action {name!r}", 404)
    try:
        action(turn)
    except Exception:
        log.exception("action %s failed on call %s", name, turn.sender_id)
        turn = _failed(turn, name)
    return JSONResponse(turn.answer())


def _failed(failed: Turn, name: str) -> Turn:
    """Start the answer over: file what the caller said for triage and tell them."""
    turn = Turn(
        sender_id=failed.sender_id,
        tracker=failed.tracker,
        domain=failed.domain,
        dispatch=failed.dispatch,
        emergency_number=failed.emergency_number,
    )
    if turn.active_loop:
        turn.end_form()
    try:
        number = complaint.file_triage(turn, f"the dialogue action {name} failed")
    except Exception:
        log.exception("triage filing failed too on call %s", turn.sender_id)
        try:
            turn.say("utter_failure_unsaved", emergency_number=turn.emergency_number)
        except Exception:
            turn.responses = [
                {
                    "text": LAST_RESORT.format(emergency_number=turn.emergency_number),
                    "custom": {"end_call": True},
                }
            ]
        return turn
    try:
        turn.say(
            "utter_failure",
            control=ReplyControl(ticket_number=number),
            spoken_number=spoken_digits(number),
        )
        turn.say("utter_goodbye")
    except Exception:
        turn.responses = [
            {
                "text": f"Something went wrong. Your report is saved as ticket "
                f"{spoken_digits(number)}. Goodbye.",
                "custom": {"ticket_number": number, "end_call": True},
            }
        ]
    return turn
