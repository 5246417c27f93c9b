"""Issue 10, item 2: the line's SMS cannot be turned on anyone.

Tried as an attacker would: a number put into the dialogue (metadata, a report) instead
of the one that called; a report on a call sid nobody called from; Open311's `phone`;
floods past the per-number and line-wide limits, from two processes at once; STOP
ignored, or undone by a forged webhook. Every database test runs on SQLite and
PostgreSQL (tests/dispatch/conftest.py's fixtures).
"""

# The database fixtures are tests/dispatch/conftest.py's, imported: their names are the
# test functions' parameters, which ruff takes for redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from callbench.simulator import sign
from dispatch.contract import CallStart, ComplaintReport
from dispatch.service import DispatchService
from tests.dispatch.conftest import (  # noqa: F401  (fixtures)
    RecordingSms,
    clock,
    database_url,
    engine,
    migrated_url,
    settings_for,
    sms,
)
from tests.dispatch.test_filing import answered, noise, staff_id
from tests.nlu.test_conversations import questions  # noqa: F401  (a fixture)
from voice.sms_routes import SMS_PATH
from voice.sms_routes import router as sms_router

CALLER = "+15185550987"  # Twilio's From on the call's record
VICTIM = "+15557770123"  # a number an attacker wants texted
OFFICER = "+15185550131"  # the noise officer on the night shift (data/roster.yaml)


def make_service(engine, settings_for, clock, sms, **settings: object) -> DispatchService:
    return DispatchService(engine, settings_for(**settings), sms=sms, clock=clock)


@pytest.fixture(autouse=True)
def no_consents(request: pytest.FixtureRequest) -> None:
    """Opt-outs are not among the work tables tests/dispatch empties: forget them here."""
    if "engine" in request.fixturenames:
        with request.getfixturevalue("engine").begin() as connection:
            connection.execute(text("DELETE FROM sms_consent"))


@pytest.fixture
def service(engine, settings_for, clock, sms) -> DispatchService:
    return make_service(engine, settings_for, clock, sms)


def statuses(service: DispatchService, number: str) -> list[tuple[str, str, str | None]]:
    return [(n.purpose, n.status, n.last_error) for n in service.get_ticket(number).notifications]


# --- the receipt goes to the phone that called, and nowhere else -----------------------


def test_a_number_in_the_report_is_ignored_for_the_callers(service, sms) -> None:
    filed = service.file_complaint(noise(call_sid=answered(service), caller_number=VICTIM))
    service.deliver_outbox()
    assert [to for to, _ in sms.sent if to != OFFICER] == [CALLER]
    assert sms.to(VICTIM) == []
    assert service.get_ticket(filed.number).caller_number == CALLER


def test_a_call_sid_nobody_called_from_gets_no_receipt(service, sms) -> None:
    # A forged or mistaken sid: a placeholder record with no number, so nobody is texted.
    filed = service.file_complaint(
        noise(call_sid="CAforged" + uuid.uuid4().hex, caller_number=VICTIM)
    )
    service.deliver_outbox()
    assert [to for to, _ in sms.sent] == [OFFICER]
    assert service.get_ticket(filed.number).caller_number is None
    # Nor with no sid at all.
    service.file_complaint(noise(call_sid=None, location="Elm Street", caller_number=VICTIM))
    service.deliver_outbox()
    assert sms.to(VICTIM) == []


def test_open311_and_api_contacts_are_kept_but_never_texted(service, sms) -> None:
    for channel in ("open311", "api"):
        filed = service.file_complaint(
            ComplaintReport(
                kind="pothole", location=f"{channel} road", caller_number=VICTIM, channel=channel
            )
        )
        assert service.get_ticket(filed.number).caller_number == VICTIM  # staff may call back
    service.deliver_outbox()
    assert sms.to(VICTIM) == []


def test_a_withheld_number_is_not_texted(service, sms) -> None:
    service.file_complaint(noise(call_sid=answered(service, "CAanon", "anonymous")))
    service.deliver_outbox()
    assert {to for to, _ in sms.sent} == {OFFICER}


@pytest.mark.slow
async def test_the_real_dialogue_texts_the_caller_not_its_metadata(
    stack: Any, questions: dict[str, tuple[str, str]]
) -> None:
    """Through the trained Rasa server and the app's actions: the tracker says VICTIM
    (metadata and all), the call's record says the caller: only the caller is texted."""
    from nlu.client import RasaDialogue
    from tests.nlu.test_conversations import Call, report

    caller = "+1555" + f"{uuid.uuid4().int % 10**7:07d}"

    class ForgedMetadataCall(Call):
        async def start(self):  # type: ignore[no-untyped-def]
            meta = {"caller_number": VICTIM, "call_sid": self.sid, "locale": "en"}
            return self._keep(await self.dialogue.start(self.sid, meta))

    dispatch = stack.services.dispatch
    sent = stack.services.call_control.sent
    before = len(sent)
    dialogue = RasaDialogue(stack.rasa_url, timeout=30)
    try:
        call = ForgedMetadataCall(dialogue)
        dispatch.open_call(
            CallStart(call_sid=call.sid, caller_number=caller, started_at=datetime.now(UTC))
        )
        number, _ = await report(call, questions, "noise")
    finally:
        await dialogue.aclose()
    assert dispatch.get_ticket(number).caller_number == caller
    for _ in range(200):  # the outbox worker sends it within seconds
        texts = [e for e in sent[before:] if e["action"] == "sms" and e["to"] == caller]
        if any(e["to"] == caller for e in texts):
            break
        dispatch.deliver_outbox()
        await asyncio.sleep(0.1)
    assert any(e["to"] == caller for e in texts)
    assert f"{number[:6]} {number[6:]}" in texts[0]["body"]  # the receipt, read-back spacing
    assert not any(e.get("to") == VICTIM for e in sent[before:])


# --- rate limits --------------------------------------------------------------------------


def test_per_number_limit_suppresses_and_staff_alerts_go_on(
    engine,
    settings_for,
    clock,
    sms,
) -> None:
    service = make_service(engine, settings_for, clock, sms, sms_per_number_per_hour=2)
    filed = []
    for i in range(3):  # the same caller, three calls, three places
        sid = answered(service, f"CArate{i}", CALLER)
        filed.append(service.file_complaint(noise(call_sid=sid, location=f"{i + 1} Elm Street")))
        clock.advance(minutes=1)
    report = service.deliver_outbox()
    assert report.suppressed == 1 and report.sent == 5  # 3 officer alerts + 2 receipts
    assert len(sms.to(CALLER)) == 2 and len(sms.to(OFFICER)) == 3
    purpose, status, reason = statuses(service, filed[2].number)[-1]
    assert (purpose, status) == ("caller_receipt", "suppressed") and "rate limit" in reason
    assert service.get_ticket(filed[2].number).events[-1].action == "notification_suppressed"
    assert service.deliver_outbox().sent == 0  # suppressed is final: never sent later

    clock.advance(hours=1, seconds=1)  # the window has passed
    sid = answered(service, "CArate3", CALLER)
    service.file_complaint(noise(call_sid=sid, location="9 Elm Street"))
    assert service.deliver_outbox().suppressed == 0
    assert len(sms.to(CALLER)) == 3


def test_line_wide_limit(engine, settings_for, clock, sms) -> None:
    service = make_service(engine, settings_for, clock, sms, sms_per_line_per_hour=3)
    for i in range(5):
        sid = answered(service, f"CAline{i}", f"+1518555{1000 + i}")
        service.file_complaint(noise(call_sid=sid, location=f"{i + 1} Oak Street"))
    report = service.deliver_outbox()
    assert report.suppressed == 2
    public = [to for to, _ in sms.sent if to != OFFICER]
    assert len(public) == 3 and len(sms.to(OFFICER)) == 5


def test_two_processes_share_one_count(
    engine,
    settings_for,
    clock,
    migrated_url,
) -> None:
    """Two workers (own engines, as two processes have) deliver at once: the limit holds."""
    from dispatch.db import make_engine

    sms = RecordingSms()
    filer = make_service(engine, settings_for, clock, sms, sms_per_number_per_hour=3)
    for i in range(12):
        sid = answered(filer, f"CAtwo{i}", CALLER)
        filer.file_complaint(noise(call_sid=sid, location=f"{i + 1} Pine Street"))
    engines = [make_engine(migrated_url) for _ in range(2)]
    workers = [
        DispatchService(e, settings_for(sms_per_number_per_hour=3), sms=sms, clock=clock)
        for e in engines
    ]
    threads = [threading.Thread(target=w.deliver_outbox) for w in workers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for e in engines:
            e.dispose()
    assert len(sms.to(CALLER)) == 3
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                text(
                    "SELECT status, count(*) FROM notification "
                    "WHERE purpose = 'caller_receipt' GROUP BY status"
                )
            ).all()
        )
    assert counts == {"sent": 3, "suppressed": 9}


# --- STOP / START / HELP through Twilio's signed webhook -------------------------------------


def sms_app(service: DispatchService) -> TestClient:
    from types import SimpleNamespace

    app = FastAPI()
    app.state.services = SimpleNamespace(settings=service.settings, dispatch=service)
    app.include_router(sms_router)
    return TestClient(app)


def text_line(
    client: TestClient, service: DispatchService, body: str, *, sender: str = CALLER, **extra: str
) -> Any:
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+15185550100",
        "Body": body,
        **extra,
    }
    settings = service.settings
    signature = sign(settings.signing_token, settings.public_url + SMS_PATH, form)
    return client.post(SMS_PATH, data=form, headers={"X-Twilio-Signature": signature})


def receipts_sent(service: DispatchService, sms: RecordingSms, sid: str, place: str) -> int:
    before = len(sms.to(CALLER))
    service.file_complaint(noise(call_sid=answered(service, sid), location=place))
    service.deliver_outbox()
    return len(sms.to(CALLER)) - before


@pytest.mark.parametrize(
    "word", ["STOP", "stop", " Stop ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"]
)
def test_stop_is_remembered_and_honoured(service, sms, word: str) -> None:
    client = sms_app(service)
    # A receipt queued before the STOP is not sent either: consent is read at send time.
    queued = service.file_complaint(
        noise(call_sid=answered(service, "CAq"), location="1 Ash Street")
    )
    response = text_line(client, service, word)
    assert response.status_code == 200
    assert "<Message>" not in response.text  # Twilio confirms an opt-out itself
    service.deliver_outbox()
    assert sms.to(CALLER) == []
    assert statuses(service, queued.number)[-1][1:] == ("suppressed", "the recipient texted STOP")
    assert receipts_sent(service, sms, "CAafter", "2 Ash Street") == 0
    # START (or UNSTOP, YES) opts back in.
    response = text_line(client, service, "start")
    assert "<Message>" in response.text and "STOP" in response.text
    assert receipts_sent(service, sms, "CAback", "3 Ash Street") == 1


@pytest.mark.parametrize("word", ["UNSTOP", "yes"])
def test_start_synonyms(service, sms, word: str) -> None:
    client = sms_app(service)
    text_line(client, service, "QUIT")
    text_line(client, service, word)
    assert receipts_sent(service, sms, "CAsyn", "4 Ash Street") == 1


def test_twilio_opt_out_type_is_honoured(service, sms) -> None:
    # Advanced Opt-Out: a custom keyword Twilio tells us is an opt-out.
    text_line(sms_app(service), service, "ARRET", OptOutType="STOP")
    assert receipts_sent(service, sms, "CAoot", "5 Ash Street") == 0


@pytest.mark.parametrize("word", ["HELP", "info"])
def test_help_answers_and_changes_nothing(service, sms, word: str) -> None:
    response = text_line(sms_app(service), service, word)
    assert response.status_code == 200
    assert "Reply STOP" in response.text and "+15185550100" in response.text
    assert receipts_sent(service, sms, "CAhelp", "6 Ash Street") == 1


def test_other_texts_are_ignored(service, sms) -> None:
    response = text_line(sms_app(service), service, "please stop the noise on elm street")
    assert response.status_code == 200 and "<Message>" not in response.text
    assert receipts_sent(service, sms, "CAother", "7 Ash Street") == 1


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl"])
def test_unsigned_or_forged_webhooks_change_nothing(service, sms, signature) -> None:
    client = sms_app(service)
    text_line(client, service, "STOP")
    form = {"From": CALLER, "To": "+15185550100", "Body": "START"}
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    assert client.post(SMS_PATH, data=form, headers=headers).status_code == 403
    # A victim's opt-out cannot be forged either.
    forged_stop = {"From": "+15185550444", "To": "+15185550100", "Body": "STOP"}
    assert client.post(SMS_PATH, data=forged_stop, headers=headers).status_code == 403
    assert receipts_sent(service, sms, "CAforge", "8 Ash Street") == 0  # still opted out
    sid = answered(service, "CAother", "+15185550444")
    service.file_complaint(noise(call_sid=sid, location="9 Ash Street"))
    service.deliver_outbox()
    assert len(sms.to("+15185550444")) == 1


def test_an_officer_who_texts_stop_gets_no_more_alerts(service, sms) -> None:
    text_line(sms_app(service), service, "STOP", sender=OFFICER)
    filed = service.file_complaint(
        noise(call_sid=answered(service, "CAoff"), location="1 Fir Street")
    )
    service.deliver_outbox()
    assert sms.to(OFFICER) == []
    assert ("officer", "suppressed", "the recipient texted STOP") in statuses(service, filed.number)


# --- the resolution SMS --------------------------------------------------------------------


def test_closing_tells_the_caller_and_the_duplicates_callers(service, sms, clock) -> None:
    first = service.file_complaint(noise(call_sid=answered(service, "CAorig")))
    clock.advance(minutes=10)
    second = service.file_complaint(
        noise(call_sid=answered(service, "CAdup1", "+15185550444"), caller_number=VICTIM)
    )
    third = service.file_complaint(noise(call_sid=answered(service, "CAdup2", "+15185550555")))
    same = service.file_complaint(noise(call_sid=answered(service, "CAdup3", CALLER)))
    assert second.duplicate_of == third.duplicate_of == same.duplicate_of == first.number
    text_line(sms_app(service), service, "STOP", sender="+15185550555")
    service.deliver_outbox()
    sms.sent.clear()

    service.set_status(first.number, "closed", "fixed", staff_id(service, "ce.haddad"))
    report = service.deliver_outbox()
    assert report.suppressed == 1  # the duplicate's caller who texted STOP
    assert sms.to(CALLER) == [f"Your ticket {first.number} (Noise) is closed: Fixed."]
    [told] = sms.to("+15185550444")
    assert second.number in told and first.number in told and "Fixed" in told
    assert sms.to("+15185550555") == [] and sms.to(VICTIM) == []
