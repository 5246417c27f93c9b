"""The softphone page: served by the app, its JS codec matches ours, its calls run the pipeline."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import httpx
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus

from callbench.caller_voices import synthesize_caller
from callbench.simulator import Dialed
from voice.codec import ulaw_decode, ulaw_encode
from voice.softphone import HERE

SCRIPT = HERE / "softphone.js"


async def test_the_page_and_its_script_are_served(unloaded_telephony_app) -> None:
    async with httpx.AsyncClient(base_url=unloaded_telephony_app.url) as client:
        page = await client.get("/softphone")
        script = await client.get("/softphone/softphone.js")
    assert page.status_code == 200 and 'src="/softphone/softphone.js"' in page.text
    assert script.status_code == 200 and "audio/x-mulaw" in script.text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_codec_matches_the_pipeline_codec() -> None:
    program = f"""
const {{ ulawEncode, ulawDecode }} = require({json.dumps(str(SCRIPT))});
const decoded = []; for (let b = 0; b < 256; b++) decoded.push(ulawDecode(b));
const encoded = []; for (let s = -32768; s < 32768; s += 7) encoded.push(ulawEncode(s));
console.log(JSON.stringify({{ decoded, encoded }}));
"""
    done = subprocess.run(["node", "-e", program], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    ours = np.frombuffer(ulaw_decode(bytes(range(256))), dtype="<i2")
    assert result["decoded"] == ours.tolist()
    samples = np.arange(-32768, 32768, 7, dtype="<i2")
    assert result["encoded"] == list(ulaw_encode(samples.tobytes()))


async def test_the_stream_needs_a_token_for_its_call(unloaded_telephony_app) -> None:
    line = unloaded_telephony_app.line()
    host = unloaded_telephony_app.url.removeprefix("http://")
    forged = Dialed(200, "", stream_url=f"ws://{host}/softphone/stream?token=forged")
    with pytest.raises(InvalidStatus) as refused:
        await line.open_stream(forged, signature="")
    assert refused.value.response.status_code == 403


async def test_off_in_production(tmp_path) -> None:
    from tests.conftest import make_settings
    from tests.voice.conftest import running_telephony_app
    from voice.speech import SpeechModels

    overrides = {
        "environment": "production",
        "public_url": "https://line.example.org",
        "secret_key": "a-real-secret-for-this-test",
        "action_token": "a-real-action-token-for-this-test",
        "twilio_auth_token": "token",
        "twilio_account_sid": "AC0",
    }
    with running_telephony_app(tmp_path, SpeechModels(make_settings(tmp_path)), **overrides) as app:
        async with httpx.AsyncClient(base_url=app.url) as client:
            assert (await client.get("/softphone")).status_code == 404
            assert (await client.post("/softphone/calls")).status_code == 404


@pytest.mark.slow
async def test_a_softphone_call_runs_through_the_pipeline(telephony_app) -> None:
    async with httpx.AsyncClient(base_url=telephony_app.url) as client:
        issued = (await client.post("/softphone/calls")).json()
    line = telephony_app.line(caller_number="")
    host = telephony_app.url.removeprefix("http://")
    dialed = Dialed(
        200, "", stream_url=f"ws://{host}{issued['stream_path']}?token={issued['token']}"
    )

    # a token is for its own call only
    line.call_sid = "CA" + "0" * 32
    await line.open_stream(dialed, signature="")
    await asyncio.wait_for(line.closed.wait(), 10)
    assert telephony_app.dialogue.calls == []

    line = telephony_app.line(caller_number="")
    line.call_sid = issued["call_sid"]
    await line.open_stream(dialed, signature="")
    assert await line.wait_for_bot()
    line.speak(synthesize_caller("The music next door is very loud.", voice="flite:slt"))
    await line.wait_sent()
    assert await line.wait_for_bot()
    assert any("music" in s.lower() for s in telephony_app.dialogue.said("say"))
    async with httpx.AsyncClient(base_url=telephony_app.url) as client:
        shown = await client.get(
            f"/softphone/calls/{issued['call_sid']}", params={"token": issued["token"]}
        )
    assert shown.status_code == 200 and len(shown.json()["turns"]) == 3
    await line.hang_up()
    assert any(c.call_sid == issued["call_sid"] for c in telephony_app.dispatch.opened)
