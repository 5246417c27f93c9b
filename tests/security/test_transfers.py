"""Issue 10, item 6: transfers that land.

A transfer's <Dial> rings for a limited time, shows the caller's number and calls back
(signed); not answered, busy, failed or canceled, the call goes back to our own Media
Stream in voicemail mode (Twilio records nothing): the bot takes the message, keeps the
recording on our side and files a voicemail ticket in the real database. Driven through
the webhooks with Twilio's real DialCallStatus values and signed requests; and once
through a whole phone call, the voicemail spoken into the stream as Twilio would.
"""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from callbench.caller_voices import synthesize_caller
from callbench.simulator import Dialed, Turn, TwilioLine, sign, simulate_call
from dutyline.app import create_app
from dutyline.settings import Settings
from voice.call_control import LocalCallControl, dial_options
from voice.prompts import voicemail_prompts
from voice.routes import connect_stream
from voice.speech import SpeechModels
from voice.transfers import DialOptions, after_dial, dial_twiml

CALLER = "+15185550177"
CITY = "+15185550100"
UNANSWERED = ["no-answer", "busy", "failed", "canceled"]
ANSWERED = ["completed", "answered"]


class Twilio:
    """Posts what Twilio posts, signed over the public URL as Twilio signs it."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def post(self, url: str, form: dict[str, str], *, signed: bool = True) -> Any:
        """`url`: the absolute public URL from our TwiML (a query string included)."""
        parsed = urlparse(url)
        headers = {"X-Twilio-Signature": sign(self.settings.signing_token, url, form)}
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        return self.client.post(path, data=form, headers=headers if signed else {})


def call_form(call_sid: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "From": CALLER,
        "To": CITY,
        **extra,
    }


def dial_ended(call_sid: str, status: str) -> dict[str, str]:
    """Dial's action request (Twilio's parameters for it)."""
    return call_form(
        call_sid,
        DialCallSid="CA" + "d" * 32,
        DialCallStatus=status,
        DialCallDuration="0" if status not in ANSWERED else "74",
    )


def voicemail_stream(twiml: str) -> tuple[str, dict[str, str]]:
    """The <Connect><Stream> an answer sends the caller to: its URL and <Parameter>s."""
    root = ElementTree.fromstring(twiml)
    assert root.find("./Record") is None and root.find("./Say") is None  # nothing on Twilio
    stream = root.find("./Connect/Stream")
    assert stream is not None, twiml
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    return stream.get("url"), parameters


@pytest.fixture
def app_settings(migrated_settings: Settings) -> Settings:
    return migrated_settings.model_copy(update={"twilio_from_number": CITY})


@pytest.fixture
def twilio(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Twilio]:
    # The webhooks alone: the models are not loaded, but the line answers as if they were.
    monkeypatch.setattr(SpeechModels, "ready", property(lambda self: True))
    app = create_app(app_settings, load_models=False)
    with TestClient(app) as client:
        yield Twilio(client, app_settings)


def dispatch_of(twilio: Twilio) -> Any:
    return twilio.client.app.state.services.dispatch  # type: ignore[attr-defined]


def transfer_dial(settings: Settings, caller: str | None, to: str = "+15185550101") -> Any:
    """The <Dial> a transfer sends, as the call-control backend builds it."""
    control = LocalCallControl(None, dial_options(settings))
    control.transfer("CAtransfer", to, caller)
    [sent] = control.actions("transfer")
    return ElementTree.fromstring(sent["twiml"]).find("./Dial")


# --- the <Dial> ---------------------------------------------------------------------------


def test_dial_rings_a_while_shows_the_caller_and_calls_back(app_settings: Settings) -> None:
    dial = transfer_dial(app_settings, CALLER)
    assert dial.text == "+15185550101"
    assert dial.get("timeout") == "25"
    assert dial.get("callerId") == CALLER
    assert dial.get("action") == app_settings.public_url + "/twilio/dial"
    assert dial.get("method") == "POST"


@pytest.mark.parametrize("withheld", ["anonymous", "266696687", "", None, "+0123", "Restricted"])
def test_a_withheld_caller_id_is_replaced_by_the_citys_number(
    app_settings: Settings, withheld: str | None
) -> None:
    assert transfer_dial(app_settings, withheld).get("callerId") == CITY


def test_without_a_city_number_a_withheld_caller_id_is_left_to_twilio() -> None:
    twiml = dial_twiml("+15185550101", "anonymous", DialOptions(action_url="https://x/twilio/dial"))
    assert ElementTree.fromstring(twiml).find("./Dial").get("callerId") is None


def test_ring_time_is_a_setting(app_settings: Settings) -> None:
    shorter = app_settings.model_copy(update={"transfer_ring_seconds": 12})
    assert transfer_dial(shorter, CALLER).get("timeout") == "12"


# --- the callback ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", UNANSWERED)
def test_an_unanswered_transfer_goes_back_to_our_stream_for_voicemail(
    twilio: Twilio, status: str
) -> None:
    sid = f"CAvoicemail{status.replace('-', '')}"
    # The call came in as every call does: its first stream, and the record with its number.
    first = twilio.post(
        twilio.settings.public_url + "/twilio/voice", call_form(sid, CallStatus="ringing")
    )
    first_url, first_parameters = voicemail_stream(first.text)
    dial = transfer_dial(twilio.settings, CALLER)
    answer = twilio.post(dial.get("action"), dial_ended(sid, status))
    assert answer.status_code == 200
    root = ElementTree.fromstring(answer.text)
    assert [child.tag for child in root] == ["Connect"]
    url, parameters = voicemail_stream(answer.text)
    assert url == first_url  # the same Media Stream, whose upgrade Twilio signs
    assert parameters == first_parameters | {
        "mode": "voicemail",
        "dial": status,
        "turn_base": "1000",  # this process never saw the call's conversation
    }
    assert parameters["caller"] == CALLER and parameters["called"] == CITY
    assert dispatch_of(twilio).ticket_for_call(sid) is None  # not before the message


def test_the_voicemail_stream_is_built_like_the_first(app_settings: Settings) -> None:
    connect = connect_stream(app_settings.public_url, {"caller": CALLER, "mode": "voicemail"})
    twiml = after_dial(
        "busy", emergency=False, voicemail=connect, locale="en", emergency_number="911"
    )
    url, parameters = voicemail_stream(str(twiml))
    assert url == app_settings.public_url.replace("http", "ws", 1) + "/twilio/stream"
    assert parameters == {"caller": CALLER, "mode": "voicemail"}


def test_without_the_speech_models_the_caller_is_told_to_call_again(
    app_settings: Settings,
) -> None:
    with TestClient(create_app(app_settings, load_models=False)) as client:
        twilio = Twilio(client, app_settings)
        answer = twilio.post(app_settings.public_url + "/twilio/dial", dial_ended("CAx", "busy"))
    root = ElementTree.fromstring(answer.text)
    assert [child.tag for child in root] == ["Say", "Hangup"]


@pytest.mark.parametrize("status", ANSWERED)
def test_an_answered_transfer_just_ends(twilio: Twilio, status: str) -> None:
    sid = f"CAanswered{status}"
    answer = twilio.post(twilio.settings.public_url + "/twilio/dial", dial_ended(sid, status))
    root = ElementTree.fromstring(answer.text)
    assert [child.tag for child in root] == ["Hangup"]
    assert dispatch_of(twilio).ticket_for_call(sid) is None


def test_an_unanswered_emergency_transfer_says_dial_it_yourself(twilio: Twilio) -> None:
    sid = "CAemergency"
    dial = transfer_dial(twilio.settings, CALLER, to=twilio.settings.emergency_number)
    assert dial.get("action").endswith("/twilio/dial?emergency=1")
    answer = twilio.post(dial.get("action"), dial_ended(sid, "no-answer"))
    root = ElementTree.fromstring(answer.text)
    assert "dial 911 now" in root.find("./Say").text
    assert root.find("./Connect") is None and root.find("./Hangup") is not None


def test_forged_dial_callbacks_are_refused(twilio: Twilio) -> None:
    sid = "CAforgedcallback"
    path = "/twilio/dial"
    url = twilio.settings.public_url + path
    unsigned = twilio.post(url, dial_ended(sid, "busy"), signed=False)
    assert unsigned.status_code == 403
    form = dial_ended(sid, "busy")
    forged = sign("not-the-token", url, form)
    response = twilio.client.post(path, data=form, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403


def test_twilio_no_longer_records_voicemail(twilio: Twilio) -> None:
    form = call_form("CAold", RecordingSid="RE" + "a" * 32)
    url = twilio.settings.public_url + "/twilio/voicemail"
    assert twilio.post(url, form).status_code == 404


# --- a whole call -----------------------------------------------------------------------------


async def _wait_for_close(dispatch: Any, call_sid: str, outcome: str) -> Any:
    deadline = time.monotonic() + 30
    while True:  # the voicemail stream's record closes just after its line does
        call = await asyncio.to_thread(dispatch.get_call, call_sid)
        if call.outcome == outcome or time.monotonic() > deadline:
            return call
        await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_a_phone_call_put_through_to_nobody_leaves_a_voicemail(stack: Any) -> None:
    """The caller presses 0 for a person; the real dialogue transfers them with the caller's
    number shown; the officer does not answer; Twilio comes back to our Media Stream in
    voicemail mode; the caller speaks and hangs up; the words become a voicemail ticket and
    the recording stays on our disk."""
    settings = stack.settings
    result = await simulate_call(
        stack.app_url,
        [Turn("press", "0")],
        public_url=settings.public_url,
        token=settings.signing_token,
        caller_number=CALLER,
    )
    control = stack.services.call_control
    [transfer] = control.actions("transfer", result.call_sid)
    dial = ElementTree.fromstring(transfer["twiml"]).find("./Dial")
    assert dial.get("callerId") == CALLER and dial.get("timeout") == "25"
    assert dial.text == transfer["to"]
    dispatch = stack.services.dispatch
    filed_on_transfer = dispatch.ticket_for_call(result.call_sid)
    conversation_turns = len(result.turns)
    before = await _wait_for_close(dispatch, result.call_sid, "transferred")
    assert before.outcome == "transferred" and before.recording_path
    conversation_bytes = Path(before.recording_path).stat().st_size

    line = TwilioLine(
        stack.app_url,
        public_url=settings.public_url,
        token=settings.signing_token,
        caller_number=CALLER,
    )
    line.call_sid = result.call_sid  # the same call, back from the <Dial>
    form = dial_ended(result.call_sid, "no-answer")
    answer = await line.post_signed(dial.get("action").removeprefix(settings.public_url), form)
    assert answer.status_code == 200
    url, parameters = voicemail_stream(answer.text)
    assert parameters["mode"] == "voicemail" and parameters["caller"] == CALLER
    assert parameters["turn_base"] == str(conversation_turns)

    message = "The drain on Elm Street is blocked and the water is rising."
    audio = await asyncio.to_thread(
        synthesize_caller, message, voice="flite:rms", silence_before_ms=200
    )
    await line.open_stream(Dialed(200, answer.text, url, parameters))
    try:
        assert await line.wait_for_bot(timeout=60)  # the fixed prompt, played in full
        line.speak(audio)
        await line.wait_sent()
        await asyncio.sleep(1.0)  # a moment of silence after the last word, then hang up
        await line.hang_up()
    finally:
        await line.close()

    call = await _wait_for_close(dispatch, result.call_sid, "voicemail")
    assert call.outcome == "voicemail"  # the later close knows better than "transferred"
    tickets = [dispatch.get_ticket(number) for number in call.ticket_numbers]
    voicemail = [t for t in tickets if (t.description or "").startswith("Voicemail")]
    assert len(voicemail) == 1, f"tickets of the call: {[t.description for t in tickets]}"
    ticket = voicemail[0]
    assert ticket.caller_number == CALLER and ticket.needs_triage
    assert "no-answer" in (ticket.triage_reason or "")
    heard = (ticket.transcript or "").lower()
    assert "drain" in heard and "elm" in heard, ticket.transcript
    assert filed_on_transfer in call.ticket_numbers  # the transfer's own note stays too
    # The recording is ours, in the recordings folder: the same file as the conversation's,
    # which goes on with the prompt and the message (at least 3 s more of 8 kHz stereo).
    recording = Path(call.recording_path)
    assert call.recording_path == before.recording_path and recording.is_file()
    assert recording.stat().st_size > conversation_bytes + 8000 * 2 * 2 * 3
    assert Path(settings.recordings_dir).resolve() in recording.resolve().parents
    # The message's turns follow the conversation's; none of those was overwritten.
    indexes = [t.index for t in call.turns]
    assert len(indexes) == len(set(indexes)) and max(indexes) >= conversation_turns
    said = [
        t.text for t in sorted(call.turns, key=lambda t: t.index) if t.index >= conversation_turns
    ]
    assert said[0] == voicemail_prompts("en").leave_message


def test_a_korean_line_asks_for_the_message_in_korean() -> None:
    words = voicemail_prompts("ko")
    assert "말씀" in words.leave_message and "{spoken_number}" in words.saved
    twiml = after_dial(
        "no-answer",
        emergency=True,
        voicemail=connect_stream("https://line.example.kr", {}),
        locale="ko",
        emergency_number="119",
    )
    say = ElementTree.fromstring(str(twiml)).find("./Say")
    assert say.get("language") == "ko-KR" and say.get("voice") == "Polly.Seoyeon"
    assert "119" in say.text
