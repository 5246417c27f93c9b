"""Twilio's incoming-message webhook: callers text STOP, START or HELP to the line.

Signed like the voice webhooks (the same helper, over Settings.public_url): an
unsigned or forged request changes nothing. Twilio's form carries `From`, `To`,
`Body` and, with Advanced Opt-Out, `OptOutType`. The answer is TwiML: a <Message>
to reply with, or an empty <Response/>. Set the number's "A message comes in"
webhook to https://your.host/twilio/sms (HTTP POST).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response
from twilio.twiml.messaging_response import MessagingResponse

from dispatch.contract import InboundSms
from voice.twilio_signature import signed_form

log = logging.getLogger("dutyline.voice.sms")

router = APIRouter(tags=["telephony"])

SMS_PATH = "/twilio/sms"


@router.post(SMS_PATH)
async def incoming_sms(request: Request) -> Response:
    form = await signed_form(request)
    if form is None:
        return Response("invalid signature", status_code=403)
    sender = str(form.get("From") or "").strip()
    if not sender:
        return Response("From is missing", status_code=400)
    inbound = InboundSms(
        from_number=sender,
        to_number=str(form.get("To") or "").strip() or None,
        body=str(form.get("Body") or ""),
        opt_out_type=str(form.get("OptOutType") or "") or None,
    )
    dispatch = request.app.state.services.dispatch
    reply = await asyncio.to_thread(dispatch.handle_inbound_sms, inbound)
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return Response(str(response), media_type="application/xml")
