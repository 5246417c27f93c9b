"""Issue 10, item 6: transfers that land.

A transfer's <Dial> rings for a limited time, shows the caller's number and calls back
(signed); not answered, busy, failed or canceled, the caller leaves a message that is filed
as a voicemail ticket in the real database. Driven through the webhooks with Twilio's real
DialCallStatus values and signed requests; and once through a whole phone call.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from fastapi.testclient import TestClient

from callbench.simulator import Turn, sign, simulate_call
from dutyline.app import create_app
from dutyline.settings import Settings
from voice.call_control import LocalCallControl, dial_options
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


def recorded(call_sid: str, seconds: int = 17) -> dict[str, str]:
    """Record's action request after the caller spoke."""
    return call_form(
        call_sid,
        RecordingSid="RE" + "a" * 32,
        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{'AC' + '0' * 32}/Recordings/"
        + "RE"
        + "a" * 32,
        RecordingDuration=str(seconds),
        Digits="#",
    )


@pytest.fixture
def app_settings(migrated_settings: Settings) -> Settings:
    return migrated_settings.model_copy(update={"twilio_from_number": CITY})


@pytest.fixture
def twilio(app_settings: Settings) -> Iterator[Twilio]:
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
def test_an_unanswered_transfer_ends_in_a_voicemail_ticket(twilio: Twilio, status: str) -> None:
    sid = f"CAvoicemail{status.replace('-', '')}"
    # The call came in as every call does (the record that keeps the caller's number).
    twilio.post(twilio.settings.public_url + "/twilio/voice", call_form(sid, CallStatus="ringing"))
    dial = transfer_dial(twilio.settings, CALLER)
    answer = twilio.post(dial.get("action"), dial_ended(sid, status))
    assert answer.status_code == 200
    root = ElementTree.fromstring(answer.text)
    assert "leave a message" in root.find("./Say").text
    record = root.find("./Record")
    assert record is not None and record.get("maxLength") == "120"
    assert record.get("action").startswith(twilio.settings.public_url + "/twilio/voicemail?")
    assert root.find("./Redirect").text == record.get("action")  # nothing said: still filed
    assert dispatch_of(twilio).ticket_for_call(sid) is None  # not before the message

    saved = twilio.post(record.get("action"), recorded(sid))
    assert saved.status_code == 200
    number = dispatch_of(twilio).ticket_for_call(sid)
    assert number is not None
    spoken = " ".join(number)
    said = ElementTree.fromstring(saved.text)
    assert spoken in said.find("./Say").text and said.find("./Hangup") is not None
    ticket = dispatch_of(twilio).get_ticket(number)
    assert ticket.needs_triage
    assert ticket.caller_number == CALLER
    assert ticket.description.startswith("Voicemail after an unanswered transfer: a 17 s")
    assert "RE" + "a" * 32 in ticket.description
    assert status in (ticket.triage_reason or "")


@pytest.mark.parametrize("status", ANSWERED)
def test_an_answered_transfer_just_ends(twilio: Twilio, status: str) -> None:
    sid = f"CAanswered{status}"
    answer = twilio.post(twilio.settings.public_url + "/twilio/dial", dial_ended(sid, status))
    root = ElementTree.fromstring(answer.text)
    assert [child.tag for child in root] == ["Hangup"]
    assert dispatch_of(twilio).ticket_for_call(sid) is None


def test_no_message_is_still_a_ticket_and_a_retry_is_not_a_second(twilio: Twilio) -> None:
    sid = "CAnomessage"
    answer = twilio.post(twilio.settings.public_url + "/twilio/dial", dial_ended(sid, "busy"))
    redirect = ElementTree.fromstring(answer.text).find("./Redirect").text
    before = dispatch_of(twilio).count_tickets()
    first = twilio.post(redirect, call_form(sid))  # what <Redirect> posts: no recording
    again = twilio.post(redirect, call_form(sid))
    assert first.status_code == again.status_code == 200
    assert dispatch_of(twilio).count_tickets() == before + 1
    ticket = dispatch_of(twilio).get_ticket(dispatch_of(twilio).ticket_for_call(sid))
    assert "no message was left" in ticket.description


def test_an_unanswered_emergency_transfer_says_dial_it_yourself(twilio: Twilio) -> None:
    sid = "CAemergency"
    dial = transfer_dial(twilio.settings, CALLER, to=twilio.settings.emergency_number)
    assert dial.get("action").endswith("/twilio/dial?emergency=1")
    answer = twilio.post(dial.get("action"), dial_ended(sid, "no-answer"))
    root = ElementTree.fromstring(answer.text)
    assert "dial 911 now" in root.find("./Say").text
    assert root.find("./Record") is None and root.find("./Hangup") is not None


@pytest.mark.parametrize("path", ["/twilio/dial", "/twilio/voicemail?dial=busy"])
def test_forged_callbacks_are_refused(twilio: Twilio, path: str) -> None:
    sid = "CAforgedcallback"
    url = twilio.settings.public_url + path
    unsigned = twilio.post(url, recorded(sid) | dial_ended(sid, "busy"), signed=False)
    assert unsigned.status_code == 403
    form = recorded(sid) | dial_ended(sid, "busy")
    forged = sign("not-the-token", url, form)
    response = twilio.client.post(path, data=form, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403
    assert dispatch_of(twilio).ticket_for_call(sid) is None


# --- a whole call -----------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_phone_call_put_through_to_nobody_leaves_a_voicemail(stack: Any) -> None:
    """The caller presses 0 for a person; the real dialogue transfers them with the caller's
    number shown; the officer does not answer; the message becomes a ticket."""
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
    filed_on_transfer = stack.services.dispatch.ticket_for_call(result.call_sid)

    async with httpx.AsyncClient(timeout=30) as client:

        async def post(url: str, form: dict[str, str]) -> httpx.Response:
            path = url.removeprefix(settings.public_url)
            headers = {"X-Twilio-Signature": sign(settings.signing_token, url, form)}
            return await client.post(stack.app_url + path, data=form, headers=headers)

        answer = await post(dial.get("action"), dial_ended(result.call_sid, "no-answer"))
        record = ElementTree.fromstring(answer.text).find("./Record")
        assert record is not None
        saved = await post(record.get("action"), recorded(result.call_sid, seconds=9))
    assert saved.status_code == 200
    dispatch = stack.services.dispatch
    call = dispatch.get_call(result.call_sid)
    tickets = [dispatch.get_ticket(number) for number in call.ticket_numbers]
    voicemail = [t for t in tickets if (t.description or "").startswith("Voicemail")]
    assert len(voicemail) == 1, f"tickets of the call: {[t.description for t in tickets]}"
    assert voicemail[0].caller_number == CALLER and voicemail[0].needs_triage
    assert filed_on_transfer in call.ticket_numbers  # the transfer's own note stays too


def test_a_korean_line_asks_for_the_message_in_korean() -> None:
    twiml = after_dial(
        "busy",
        emergency=False,
        voicemail_url="https://line.example.kr/twilio/voicemail",
        locale="ko",
        max_seconds=60,
        emergency_number="119",
    )
    say = ElementTree.fromstring(str(twiml)).find("./Say")
    assert say.get("language") == "ko-KR" and say.get("voice") == "Polly.Seoyeon"
    assert "메시지" in say.text or "말씀" in say.text
