"""Twilio's request signatures: every webhook and the Media Stream upgrade must carry one.

Checked over our public URL (Settings.public_url, not the address a proxy forwarded
to). Shared by the voice webhooks (voice/routes.py) and the SMS webhook
(voice/sms_routes.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from dispatch.metrics import rejected

# The webhooks' refusals have always been logged under the routes' name.
log = logging.getLogger("dutyline.voice.routes")


def signature_valid(
    token: str, url: str, params: Mapping[str, Any] | FormData, headers: Mapping[str, str]
) -> bool:
    signature = headers.get(SIGNATURE_HEADER)
    if signature:
        algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER))
        if RequestValidator(token).validate(url, params, signature, algorithm):
            return True
    rejected("twilio_signature")  # every caller of this refuses the request
    return False


async def signed_form(request: Request) -> FormData | None:
    """The request's form if Twilio signed it; None (and a log line) if not."""
    settings = request.app.state.services.settings
    form = await request.form()
    url = settings.public_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if signature_valid(settings.signing_token, url, form, request.headers):
        return form
    log.warning(
        "refused %s from %s: %s X-Twilio-Signature (checked against %s)",
        request.url.path,
        request.client.host if request.client else "?",
        "bad" if SIGNATURE_HEADER in request.headers else "no",
        url,
    )
    return None
