"""A softphone page for demos: the browser's microphone streams to the same pipeline.

The page speaks Twilio's Media Stream protocol itself (JSON frames, 8 kHz
mu-law, marks echoed after playback, `clear` honoured), so a browser call goes
through exactly the serializer and pipeline a phone call does. Browsers cannot
hold Twilio's signing token, so each call gets a short-lived token signed with
the app's secret key, naming the call's sid. Off in production (it would let
anyone on the page file tickets); see README for putting it behind sign-in.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from dispatch.contract import CallStart
from voice.media_stream import registry_of, serve_stream
from voice.twilio_serializer import TwilioSerializer

log = logging.getLogger("dutyline.voice.softphone")

HERE = Path(__file__).resolve().parent
TOKEN_SECONDS = 600
STREAM_PATH = "/softphone/stream"

router = APIRouter(tags=["softphone"])


def _signer(settings: object) -> URLSafeTimedSerializer:
    secret = settings.secret_key.get_secret_value()  # type: ignore[attr-defined]
    return URLSafeTimedSerializer(secret, salt="dutyline-softphone")


def _enabled(settings: object) -> bool:
    return getattr(settings, "environment", "production") != "production"


def issue_token(settings: object) -> tuple[str, str]:
    call_sid = "CAsoft" + uuid.uuid4().hex[:26]
    return _signer(settings).dumps({"call_sid": call_sid}), call_sid


def read_token(settings: object, token: str) -> str | None:
    """The call sid a token was issued for; None if forged or expired."""
    try:
        data = _signer(settings).loads(token, max_age=TOKEN_SECONDS)
    except BadSignature:
        return None
    return data.get("call_sid") if isinstance(data, dict) else None


@router.get("/softphone", response_class=HTMLResponse)
async def softphone_page(request: Request) -> Response:
    if not _enabled(request.app.state.services.settings):
        raise HTTPException(404)
    return FileResponse(HERE / "softphone.html", media_type="text/html")


@router.get("/softphone/softphone.js")
async def softphone_script(request: Request) -> Response:
    if not _enabled(request.app.state.services.settings):
        raise HTTPException(404)
    return FileResponse(HERE / "softphone.js", media_type="text/javascript")


@router.post("/softphone/calls")
async def new_call(request: Request) -> JSONResponse:
    """A token for one call; the page opens the stream with it."""
    services = request.app.state.services
    if not _enabled(services.settings):
        raise HTTPException(404)
    token, call_sid = issue_token(services.settings)
    return JSONResponse({"token": token, "call_sid": call_sid, "stream_path": STREAM_PATH})


@router.get("/softphone/calls/{call_sid}")
async def call_transcript(call_sid: str, token: str, request: Request) -> JSONResponse:
    services = request.app.state.services
    if not _enabled(services.settings) or read_token(services.settings, token) != call_sid:
        raise HTTPException(403)
    session = registry_of(request.app).get(call_sid)
    if session is None:
        raise HTTPException(404)
    return JSONResponse(session.summary())


@router.websocket(STREAM_PATH)
async def softphone_stream(websocket: WebSocket) -> None:
    services = websocket.app.state.services
    settings = services.settings
    call_sid = read_token(settings, websocket.query_params.get("token", ""))
    if not _enabled(settings) or call_sid is None:
        log.warning("refused a softphone stream from %s", websocket.client)
        await websocket.close(code=1008)
        return
    await websocket.accept()
    try:
        await asyncio.to_thread(
            services.dispatch.open_call,
            CallStart(
                call_sid=call_sid,
                caller_number=None,
                started_at=datetime.now(UTC),
                locale=settings.locale,
            ),
        )
    except Exception:
        log.exception("softphone call %s: could not open the call record", call_sid)
    # The page speaks Twilio's Media Stream protocol, so Twilio's serializer reads it.
    await serve_stream(websocket, TwilioSerializer(), expect_call_sid=call_sid)
