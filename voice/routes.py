"""Twilio's side of a call: the incoming-call webhook, the Media Stream, status callbacks,
and <Dial>'s callback (an unanswered transfer comes back to the Media Stream as a voicemail).
Above DUTYLINE_MAX_CALLS the webhook answers as DUTYLINE_AT_CAPACITY says (voice/capacity.py).

Every request must carry a valid X-Twilio-Signature over our public URL
(Settings.public_url, not the address the proxy forwarded to); the Media
Stream's WebSocket upgrade is signed too, over its wss:// URL.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response, WebSocket
from fastapi.responses import JSONResponse
from twilio.twiml.voice_response import Connect, VoiceResponse

from dispatch.contract import CallEnd, CallStart
from dispatch.lines import Line, LinesError, lines_of, single_line
from dispatch.logcontext import bind_call_sid
from voice.call_session import CallState
from voice.capacity import AT_CAPACITY_MODE, capacity_of, refusal_twiml
from voice.media_stream import registry_of, serve_stream
from voice.metrics import call_refused
from voice.prompts import starting_up_twiml
from voice.transfers import ANSWERED, DIAL_PATH, after_dial
from voice.twilio_serializer import TwilioSerializer
from voice.twilio_signature import signature_valid, signed_form
from voice.voicemail import VOICEMAIL_MODE

log = logging.getLogger("dutyline.voice.routes")

router = APIRouter(tags=["telephony"])

VOICE_PATH = "/twilio/voice"
STREAM_PATH = "/twilio/stream"
STATUS_PATH = "/twilio/status"
FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
# A voicemail's first turn index when this process never saw the call's conversation
# (a restart in between): past any conversation's turns, so none is overwritten.
UNKNOWN_TURN_BASE = 1000


def stream_url(public_url: str) -> str:
    """The Media Stream's address as Twilio will call it: ws(s):// on the public host."""
    scheme, _, rest = public_url.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{STREAM_PATH}"


def connect_stream(public_url: str, parameters: dict[str, str]) -> Connect:
    """<Connect><Stream> to our Media Stream. Twilio drops query strings from Stream URLs:
    per-call values ride as <Parameter>s (in the stream's `start`, over the signed upgrade)."""
    connect = Connect()
    stream = connect.stream(url=stream_url(public_url))
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    return connect


def line_called(settings: Any, called: str) -> Line:
    """The line of the number called (Twilio's `To`), dispatch/lines.py. A lines file that
    became unreadable while running is logged, and the call is answered as the single line
    of the older settings: the caller is heard either way."""
    try:
        return lines_of(settings).for_number(called)
    except LinesError:
        log.exception("the lines file is unreadable: answering as DUTYLINE_LOCALE's line")
        return single_line(settings).default


def _starting_up(locale: str) -> Response:
    return _xml(starting_up_twiml(locale))


def _xml(twiml: VoiceResponse) -> Response:
    return Response(str(twiml), media_type="application/xml")


@router.post(VOICE_PATH)
async def incoming_call(request: Request) -> Response:
    form = await signed_form(request)
    if form is None:
        return Response("invalid signature", status_code=403)
    services = request.app.state.services
    settings = services.settings
    call_sid = str(form.get("CallSid") or "")
    if not call_sid:
        return Response("CallSid is missing", status_code=400)
    caller = str(form.get("From") or "")
    called = str(form.get("To") or "")
    line = line_called(settings, called)
    locale = line.locale
    bind_call_sid(call_sid)
    log.info("incoming call %s on %s (%s)", call_sid, line.name, locale)
    try:
        await asyncio.to_thread(
            services.dispatch.open_call,
            CallStart(
                call_sid=call_sid,
                caller_number=caller or None,
                called_number=called or None,
                started_at=datetime.now(UTC),
                locale=locale,
            ),
        )
    except Exception:  # the record is re-created from the first turn; answer the caller anyway
        log.exception("call %s: could not open the call record", call_sid)
    response = VoiceResponse()
    if not services.speech.ready:
        log.error("call %s arrived before the speech models were loaded", call_sid)
        return _starting_up(locale)
    parameters = {"caller": caller, "called": called, "locale": locale, "city": line.city}
    if not capacity_of(request.app).admit(call_sid, registry_of(request.app)):
        return await _at_capacity(services, call_sid, parameters)
    response.append(connect_stream(settings.public_url, parameters))
    return _xml(response)


async def _at_capacity(services: Any, call_sid: str, parameters: dict[str, str]) -> Response:
    """The line is full (voice/capacity.py): a message taken on our stream without the
    dialogue, or the emergency number and the alternatives and goodbye."""
    settings = services.settings
    call_refused("capacity")
    response = VoiceResponse()
    if settings.at_capacity == "voicemail":
        parameters = parameters | {"mode": AT_CAPACITY_MODE}
        response.append(connect_stream(settings.public_url, parameters))
        return _xml(response)
    end = CallEnd(call_sid=call_sid, ended_at=datetime.now(UTC), outcome="refused_at_capacity")
    try:  # the status callback adds Twilio's status later; the first outcome stays
        await asyncio.to_thread(services.dispatch.close_call, end)
    except Exception:
        log.exception("call %s: could not record the refusal at capacity", call_sid)
    return _xml(refusal_twiml(settings, parameters.get("locale")))


@router.post(STATUS_PATH)
async def call_status(request: Request) -> Response:
    form = await signed_form(request)
    if form is None:
        return Response("invalid signature", status_code=403)
    services = request.app.state.services
    call_sid = str(form.get("CallSid") or "")
    status = str(form.get("CallStatus") or "")
    log.info("call %s status %s", call_sid, status)
    if not call_sid or status not in FINAL_STATUSES:
        return Response(status_code=204)
    capacity_of(request.app).release(call_sid)  # over before its stream started, if it had one
    session = registry_of(request.app).get(call_sid)
    if session is not None and session.state is not CallState.ENDED:
        session.telephony_status = status  # the stream's end closes the record with it
        return Response(status_code=204)
    # Not this replica's stream: if another replica's holds it, that one closes the record
    # (or, if it died, dispatch's lost-call sweep files the caller's words); not "abandoned".
    if session is None and await asyncio.to_thread(
        services.dispatch.note_call_ended, call_sid, status
    ):
        return Response(status_code=204)
    end = CallEnd(
        call_sid=call_sid,
        ended_at=datetime.now(UTC),
        outcome=(session.outcome if session and session.outcome else "abandoned"),
        recording_path=session.recording_path if session else None,
        telephony_status=status,
    )
    await asyncio.to_thread(services.dispatch.close_call, end)
    return Response(status_code=204)


@router.post(DIAL_PATH)
async def transfer_ended(request: Request) -> Response:
    """<Dial>'s action callback: how the transfer ended, and what the caller hears next.
    Not answered: back to our own Media Stream, where the bot takes the message."""
    form = await signed_form(request)
    if form is None:
        return Response("invalid signature", status_code=403)
    services = request.app.state.services
    settings = services.settings
    call_sid = str(form.get("CallSid") or "")
    status = str(form.get("DialCallStatus") or "")
    log.info("call %s: transfer ended: %s", call_sid or "?", status or "no status")
    emergency = request.query_params.get("emergency") == "1"
    line = line_called(settings, str(form.get("To") or ""))
    if not emergency and status not in ANSWERED and not services.speech.ready:
        log.error("call %s: no voicemail, the speech models are not loaded", call_sid)
        return _starting_up(line.locale)
    earlier = registry_of(request.app).get(call_sid)
    voicemail = connect_stream(
        settings.public_url,
        {
            "caller": str(form.get("From") or ""),
            "called": str(form.get("To") or ""),
            "locale": line.locale,
            "city": line.city,
            "mode": VOICEMAIL_MODE,
            "dial": status or "unknown",
            # The message's turns follow the conversation's on the call's record.
            "turn_base": str(earlier.next_turn_index if earlier else UNKNOWN_TURN_BASE),
        },
    )
    twiml = after_dial(
        status,
        emergency=emergency,
        voicemail=voicemail,
        locale=line.locale,
        emergency_number=settings.emergency_number,
    )
    return _xml(twiml)


@router.get("/voice/calls/{call_sid}")
async def call_summary(call_sid: str, request: Request) -> Response:
    """A call's turns, latencies and ticket, for the simulator; signed like Twilio's requests."""
    settings = request.app.state.services.settings
    url = settings.public_url + request.url.path
    if not signature_valid(settings.signing_token, url, {}, request.headers):
        return Response("invalid signature", status_code=403)
    session = registry_of(request.app).get(call_sid)
    if session is None:
        return JSONResponse({"detail": "no such call in memory"}, status_code=404)
    return JSONResponse(session.summary())


@router.websocket(STREAM_PATH)
async def media_stream(websocket: WebSocket) -> None:
    settings = websocket.app.state.services.settings
    url = stream_url(settings.public_url)
    if not signature_valid(settings.signing_token, url, {}, websocket.headers):
        log.warning("refused a Media Stream from %s: bad or missing signature", websocket.client)
        await websocket.close(code=1008)  # before accept: the upgrade gets HTTP 403
        return
    await websocket.accept()
    await serve_stream(websocket, TwilioSerializer())
