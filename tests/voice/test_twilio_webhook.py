"""Twilio's webhooks against a real uvicorn server: signatures, TwiML, status callbacks."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ElementTree

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from callbench.simulator import Dialed, sign


async def test_unsigned_webhook_is_refused_and_logged(
    unloaded_telephony_app, caplog: pytest.LogCaptureFixture
) -> None:
    line = unloaded_telephony_app.line()
    caplog.set_level(logging.WARNING, logger="dutyline.voice.routes")
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{unloaded_telephony_app.url}/twilio/voice", data=line.webhook_form()
        )
    assert response.status_code == 403
    assert "refused /twilio/voice" in caplog.text and "no X-Twilio-Signature" in caplog.text
    assert unloaded_telephony_app.dispatch.opened == []


async def test_forged_webhook_is_refused(unloaded_telephony_app) -> None:
    line = unloaded_telephony_app.line()
    forged = sign("not-the-token", unloaded_telephony_app.settings.public_url + "/twilio/voice",
                  line.webhook_form())  # fmt: skip
    assert (await line.dial(signature=forged)).status_code == 403
    # a valid signature over other parameters is a forgery too
    tampered = line.webhook_form() | {"From": "+19999999999"}
    valid_for_other = sign(line.token, line.public_url + "/twilio/voice", tampered)
    assert (await line.dial(signature=valid_for_other)).status_code == 403
    assert unloaded_telephony_app.dispatch.opened == []


async def test_signature_is_checked_against_the_public_url(unloaded_telephony_app) -> None:
    line = unloaded_telephony_app.line()
    # signed for the address the server listens on, but Twilio called the public one
    wrong_url = "https://elsewhere.example/twilio/voice"
    signature = sign(line.token, wrong_url, line.webhook_form())
    assert (await line.dial(signature=signature)).status_code == 403


async def test_forged_stream_upgrade_is_refused(unloaded_telephony_app) -> None:
    line = unloaded_telephony_app.line()
    dialed = Dialed(200, "", stream_url="ws://127.0.0.1/twilio/stream")
    for signature in ("", sign("not-the-token", "ws://127.0.0.1/twilio/stream")):
        with pytest.raises(InvalidStatus) as refused:
            await line.open_stream(dialed, signature=signature)
        assert refused.value.response.status_code == 403


@pytest.mark.slow
async def test_valid_webhook_answers_connect_stream_with_parameters(telephony_app) -> None:
    line = telephony_app.line(caller_number="+15555550142")
    dialed = await line.dial()
    assert dialed.status_code == 200
    root = ElementTree.fromstring(dialed.twiml)
    stream = root.find("./Connect/Stream")
    assert stream is not None
    port = telephony_app.settings.public_url.rsplit(":", 1)[1]
    assert stream.get("url") == f"ws://127.0.0.1:{port}/twilio/stream"
    assert "?" not in stream.get("url", "")  # Twilio refuses query strings (error 31922)
    assert dialed.parameters == {
        "caller": "+15555550142",
        "called": "+15555550100",
        "locale": "en",
        "city": "Riverton",  # the line of that number (data/lines.yaml; issue 14)
    }
    [opened] = telephony_app.dispatch.opened
    assert (opened.call_sid, opened.caller_number) == (line.call_sid, "+15555550142")


async def test_webhook_before_models_are_loaded_says_so_and_hangs_up(
    unloaded_telephony_app,
) -> None:
    dialed = await unloaded_telephony_app.line().dial()
    assert dialed.status_code == 200
    root = ElementTree.fromstring(dialed.twiml)
    assert root.find("./Say") is not None and root.find("./Hangup") is not None
    assert root.find("./Connect") is None


async def test_status_callback_closes_the_call_record(unloaded_telephony_app) -> None:
    line = unloaded_telephony_app.line()
    unsigned = await line.post_signed("/twilio/status", line.webhook_form("completed"),
                                      signature="")  # fmt: skip
    assert unsigned.status_code == 403
    ringing = await line.status_callback("ringing")
    assert ringing.status_code == 204 and unloaded_telephony_app.dispatch.closed == []
    response = await line.status_callback("completed")
    assert response.status_code == 204
    [end] = unloaded_telephony_app.dispatch.closed
    assert (end.call_sid, end.telephony_status, end.outcome) == (
        line.call_sid,
        "completed",
        "abandoned",  # no stream ever ran for this call
    )
