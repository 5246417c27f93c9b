"""Twilio's side of a call: the incoming-call webhook, the Media Stream, status callbacks.

Every request must carry a valid X-Twilio-Signature over our public URL
(Settings.public_url, not the address the proxy forwarded to); the Media
Stream's WebSocket upgrade is signed too, over its wss:// URL.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response, WebSocket
from fastapi.responses import JSONResponse
from twilio.twiml.voice_response import Connect, VoiceResponse

from dispatch.contract import CallEnd, CallStart, FilingDeferred
from dispatch.logcontext import bind_call_sid
from voice.call_session import CallState
from voice.media_stream import registry_of, serve_stream
from voice.transfers import DIAL_PATH, VOICEMAIL_PATH, after_dial, voicemail_report, voicemail_saved
from voice.twilio_serializer import TwilioSerializer
from voice.twilio_signature import signature_valid, signed_form

log = logging.getLogger("dutyline.voice.routes")

router = APIRouter(tags=["telephony"])

VOICE_PATH = "/twilio/voice"
STREAM_PATH = "/twilio/stream"
STATUS_PATH = "/twilio/status"
FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}


def stream_url(public_url: str) -> str:
    """The Media Stream's address as Twilio will call it: ws(s):// on the public host."""
    scheme, _, rest = public_url.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{STREAM_PATH}"


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
    locale = settings.locale
    bind_call_sid(call_sid)
    log.info("incoming call %s", call_sid)
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
        response.say("The city night line is starting up. Please call again in a minute.")
        response.hangup()
        return _xml(response)
    connect = Connect()
    stream = connect.stream(url=stream_url(settings.public_url))
    # Twilio drops query strings from Stream URLs: per-call values ride as Parameters.
    stream.parameter(name="caller", value=caller)
    stream.parameter(name="called", value=called)
    stream.parameter(name="locale", value=locale)
    response.append(connect)
    return _xml(response)


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
    session = registry_of(request.app).get(call_sid)
    if session is not None and session.state is not CallState.ENDED:
        session.telephony_status = status  # the stream's end closes the record with it
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


def _voicemails_filed(app: Any) -> OrderedDict[str, str | None]:
    """Call sid -> the voicemail's ticket number, for the latest calls (one app each)."""
    filed = getattr(app.state, "voicemails_filed", None)
    if filed is None:
        filed = app.state.voicemails_filed = OrderedDict()
    return filed


@router.post(DIAL_PATH)
async def transfer_ended(request: Request) -> Response:
    """<Dial>'s action callback: how the transfer ended, and what the caller hears next."""
    form = await signed_form(request)
    if form is None:
        return Response("invalid signature", status_code=403)
    settings = request.app.state.services.settings
    status = str(form.get("DialCallStatus") or "")
    log.info("call %s: transfer ended: %s", form.get("CallSid") or "?", status or "no status")
    twiml = after_dial(
        status,
        emergency=request.query_params.get("emergency") == "1",
        voicemail_url=settings.public_url + VOICEMAIL_PATH,
        locale=settings.locale,
        max_seconds=settings.voicemail_max_seconds,
        emergency_number=settings.emergency_number,
    )
    return _xml(twiml)


@router.post(VOICEMAIL_PATH)
async def voicemail_left(request: Request) -> Response:
    """<Record>'s action (or the redirect after it when nothing was said): file the ticket."""
    form = await signed_form(request)
    if form is None:
        return Response("invalid signature", status_code=403)
    services = request.app.state.services
    call_sid = str(form.get("CallSid") or "")
    if not call_sid:
        return Response("CallSid is missing", status_code=400)
    locale = services.settings.locale
    filed = _voicemails_filed(request.app)
    if call_sid in filed:  # asked again (a retry): one ticket per voicemail
        number = filed[call_sid]  # None: being filed, or kept on disk for later
        return _xml(voicemail_saved(number, recorded=True, locale=locale, deferred=not number))
    filed[call_sid] = None
    while len(filed) > 1000:
        filed.popitem(last=False)
    recording = str(form.get("RecordingSid") or "") or None
    seconds = str(form.get("RecordingDuration") or "")
    report = voicemail_report(
        call_sid=call_sid,
        caller=str(form.get("From") or "") or None,
        dial_status=request.query_params.get("dial") or "unknown",
        recording_sid=recording,
        recording_seconds=int(seconds) if seconds.isdigit() else None,
    )
    number, deferred = None, False
    try:
        number = filed[call_sid] = (
            await asyncio.to_thread(services.dispatch.file_complaint, report)
        ).number
        log.info("call %s: voicemail filed as ticket %s", call_sid, number)
    except FilingDeferred:
        deferred = True  # kept on disk; filed when the database is back
    except Exception:
        log.exception("call %s: could not file the voicemail", call_sid)
        del filed[call_sid]  # a retry may file it
    return _xml(voicemail_saved(number, recorded=bool(recording), locale=locale, deferred=deferred))


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
