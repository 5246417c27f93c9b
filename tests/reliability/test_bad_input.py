"""Bad input against the real app: forged and replayed requests, broken Media Stream
frames, audio that is not mu-law, calls of silence or noise. Each gets a clear refusal
or a polite call, the app keeps serving, and nothing the caller said is lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from callbench.simulator import sign
from tests.reliability.conftest import (
    bot_text,
    caller,
    connect,
    line_for,
    wait_for_value,
    wait_until,
)
from voice.codec import ulaw_encode

pytestmark = pytest.mark.slow


async def healthy(stack: Any) -> bool:
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(f"{stack.app_url}/healthz")).status_code == 200


async def call_row(stack: Any, call_sid: str) -> Any:
    return await asyncio.to_thread(stack.services.dispatch.get_call, call_sid)


# --- forged and replayed requests -------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    ["no signature", "wrong token", "signed for another address", "form changed after signing"],
)
async def test_forged_webhooks_are_refused_and_leave_no_trace(stack: Any, forge: str) -> None:
    line = line_for(stack.app_url, stack.settings)
    form = line.webhook_form()
    url, token = stack.settings.public_url + "/twilio/voice", stack.settings.signing_token
    signature = {
        "no signature": "",
        "wrong token": sign("not-the-token", url, form),
        "signed for another address": sign(token, "https://evil.example/twilio/voice", form),
        "form changed after signing": sign(token, url, {**form, "From": "+1999"}),
    }[forge]
    response = await line.post_signed("/twilio/voice", form, signature=signature)
    assert response.status_code == 403
    assert "<Connect>" not in response.text
    assert await call_row(stack, line.call_sid) is None
    status = await line.post_signed("/twilio/status", line.webhook_form("completed"), signature="")
    assert status.status_code == 403


async def test_forged_stream_upgrade_is_refused(stack: Any) -> None:
    line = line_for(stack.app_url, stack.settings)
    dialed = await line.dial()
    assert dialed.stream_url
    for headers in ({}, {"X-Twilio-Signature": sign("not-the-token", dialed.stream_url)}):
        with pytest.raises(InvalidStatus) as refused:
            await ws_connect(stack.ws_url + "/twilio/stream", additional_headers=headers)
        assert refused.value.response.status_code == 403


async def test_replayed_webhooks_make_one_call(stack: Any) -> None:
    line = line_for(stack.app_url, stack.settings, caller_number="+15555550401")
    first, again = await line.dial(), await line.dial()  # the same signed request twice
    assert first.status_code == again.status_code == 200
    assert first.stream_url == again.stream_url
    calls = await asyncio.to_thread(
        stack.services.dispatch.list_calls,
    )
    assert sum(1 for c in calls if c.call_sid == line.call_sid) == 1
    for _ in range(2):  # a replayed final status callback closes it once, harmlessly
        assert (await line.status_callback("completed")).status_code == 204
    row = await call_row(stack, line.call_sid)
    assert row is not None and row.ended_at is not None


async def test_a_replayed_stream_start_does_not_lose_the_first_call(stack: Any) -> None:
    """Someone replays a call's `start` on a second socket while the call is going on."""
    dispatch = stack.services.dispatch
    line = await connect(stack.app_url, stack.settings, caller_number="+15555550402")
    replay = line_for(stack.app_url, stack.settings)
    replay.call_sid, replay.stream_sid = line.call_sid, line.stream_sid
    try:
        assert await line.wait_for_bot()
        line.speak(caller("There is a dead deer in the middle of the road."))
        await line.wait_sent()
        assert await line.wait_for_bot()
        dialed = await replay.dial()
        await replay.open_stream(dialed)
        await asyncio.sleep(3)
        await replay.hang_up()
        line.speak(caller("Maple Avenue near the school."))
        await line.wait_sent()
        await line.wait_for_bot()
    finally:
        await line.hang_up()
    number = await wait_for_value(lambda: dispatch.ticket_for_call(line.call_sid))
    ticket = await asyncio.to_thread(dispatch.get_ticket, number)
    words = f"{ticket.transcript} {ticket.location_text}".lower()
    assert "deer" in words or ticket.kind == "dead_animal"
    assert await healthy(stack)


# --- broken Media Stream frames ----------------------------------------------------------


async def test_malformed_frames_are_skipped_and_the_call_goes_on(stack: Any) -> None:
    line = await connect(stack.app_url, stack.settings)
    bad = [
        "this is not json",
        "[1, 2, 3]",
        json.dumps({"event": "dance"}),
        json.dumps({"event": "media"}),
        json.dumps({"event": "media", "media": {"payload": "@@not-base64@@"}}),
        json.dumps({"event": "media", "media": {"payload": "A" * 200_000}}),
        json.dumps({"event": "dtmf", "dtmf": {"digit": "Z"}}),
        json.dumps({"event": "mark", "mark": {}}),
        b"\x00\x01binary",
        "x" * 100_000,
    ]
    try:
        assert await line.wait_for_bot()
        for message in bad:
            await line.send_raw(message)
        line.speak(caller("There is a dead deer in the middle of the road."))
        await line.wait_sent()
        assert await line.wait_for_bot()
        summary = await line.summary()
        assert summary is not None and summary["bad_frames"] == len(bad)
        heard = [t["text"].lower() for t in summary["turns"] if t["speaker"] == "caller"]
        assert any("deer" in text for text in heard)
    finally:
        await line.hang_up()
    assert await healthy(stack)


async def test_an_oversized_frame_drops_the_socket_but_not_the_report(stack: Any) -> None:
    """A frame over the server's WebSocket limit closes the socket; what was said is kept."""
    dispatch = stack.services.dispatch
    line = await connect(stack.app_url, stack.settings, caller_number="+15555550403")
    assert await line.wait_for_bot()
    line.speak(caller("There is a dead deer in the middle of the road."))
    await line.wait_sent()
    assert await line.wait_for_bot()
    assert line.ws is not None
    with contextlib.suppress(ConnectionClosed):
        await line.ws.send(json.dumps({"event": "media", "media": {"payload": "A" * 20_000_000}}))
    await asyncio.wait_for(line.closed.wait(), 30)  # the server closes the socket
    await line.close()
    number = await wait_for_value(lambda: dispatch.ticket_for_call(line.call_sid))
    ticket = await asyncio.to_thread(dispatch.get_ticket, number)
    assert "deer" in f"{ticket.transcript} {ticket.details}".lower() or ticket.kind == "dead_animal"
    assert await healthy(stack)


# --- audio that is not what the line promised ---------------------------------------------


async def test_a_stream_in_another_audio_format_is_refused_not_left_open(stack: Any) -> None:
    line = line_for(stack.app_url, stack.settings)
    dialed = await line.dial()
    await line.open_stream(dialed, start=False)
    start = line._start_message(dialed.parameters)
    start["start"]["mediaFormat"] = {"encoding": "audio/x-l16", "sampleRate": 16000, "channels": 1}
    await line.send(start)
    # Not a call we can hear: the app must close the stream (Twilio then ends the call),
    # not leave a caller in dead air until they give up.
    try:
        await asyncio.wait_for(line.closed.wait(), 20)
    except TimeoutError:
        pytest.fail("a stream in an unsupported format was left open, the caller in dead air")
    await line.close()
    assert await healthy(stack)


async def test_linear_pcm_sent_as_mu_law_is_noise_not_a_crash(stack: Any) -> None:
    """A misconfigured client sends 16-bit PCM where mu-law belongs: loud noise to us."""
    from voice.codec import ulaw_decode

    line = await connect(stack.app_url, stack.settings, caller_number="+15555550404")
    try:
        assert await line.wait_for_bot()
        pcm = ulaw_decode(caller("There is a dead deer in the middle of the road."))
        line.speak(pcm)  # twice as many bytes, each a mu-law code of nonsense
        await line.wait_sent()
        await asyncio.sleep(8)
        assert not line.closed.is_set() or line.hung_up_by == "bot"
        line.speak(caller("There is a dead deer in the middle of the road."))
        await line.wait_sent()
        assert await line.wait_for_bot()  # the call still works
    finally:
        await line.hang_up()
    assert await healthy(stack)


# --- nobody speaking -------------------------------------------------------------------------


async def test_a_silent_call_is_prompted_then_ended_politely(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack.settings, "no_input_timeout_seconds", 3.0)  # 7 s by default
    line = await connect(stack.app_url, stack.settings, caller_number="+15555550405")
    try:
        await wait_until(line.closed.is_set, timeout=120)
    finally:
        await line.hang_up()
    assert line.hung_up_by == "bot"
    said = await bot_text(line)
    assert len(said) >= 3  # greeting, "are you still there?" prompts, goodbye
    assert "haven't heard anything" in said[-1] or "goodbye" in said[-1].lower()
    row = await wait_for_value(
        lambda: (c := stack.services.dispatch.get_call(line.call_sid)) and c.ended_at and c
    )
    assert row.outcome == "no_input"
    assert await asyncio.to_thread(stack.services.dispatch.ticket_for_call, line.call_sid) is None


async def test_a_noise_only_call_files_no_invented_complaint(stack: Any) -> None:
    rng = np.random.default_rng(6)
    noise = ulaw_encode(rng.normal(0, 2500, 8000 * 15).astype("<i2").tobytes())
    line = await connect(stack.app_url, stack.settings, caller_number="+15555550406")
    try:
        assert await line.wait_for_bot()
        line.speak(noise)
        await line.wait_sent()
        await asyncio.sleep(5)
    finally:
        await line.hang_up()
    dispatch = stack.services.dispatch
    await wait_until(lambda: _ended(stack, line.call_sid), timeout=60)
    number = await asyncio.to_thread(dispatch.ticket_for_call, line.call_sid)
    if number:  # a ticket for a call of noise may only be one for a person to look at
        ticket = await asyncio.to_thread(dispatch.get_ticket, number)
        assert ticket.needs_triage and ticket.kind is None
    assert await healthy(stack)


def _ended(stack: Any, call_sid: str) -> bool:
    row = stack.services.dispatch.get_call(call_sid)
    return bool(row and row.ended_at)
