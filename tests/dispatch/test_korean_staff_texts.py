"""The texts in Korean, on SQLite and PostgreSQL: a caller is texted in the language of
the line they called (the call record's locale), whatever the city's; officers' texts,
e-mails and escalation notices are in the city's language (DUTYLINE_LOCALE)."""

from __future__ import annotations

import dataclasses
from datetime import UTC

from sqlmodel import Session, col, select

from dispatch import escalation, filing
from dispatch.contract import CallStart, ComplaintReport
from dispatch.models import Notification, Ticket
from dispatch.outbox_texts import caller_receipt_sms, officer_notice
from dispatch.service import DispatchService
from tests.dispatch.conftest import RecordingSms, city_time

KO_CALLER = "+821055500001"
EN_CALLER = "+15185550988"
MONDAY_10 = city_time(2026, 11, 23, 10, 0).astimezone(UTC)  # Okafor is on shift
OKAFOR, LINDQVIST = "+15185550111", "+15185550112"


def phone_call(service: DispatchService, sid: str, caller: str, locale: str) -> str:
    service.open_call(
        CallStart(call_sid=sid, caller_number=caller, started_at=service.clock(), locale=locale)
    )
    return sid


def parking(sid: str | None = None, **overrides: object) -> ComplaintReport:
    values: dict[str, object] = {
        "kind": "illegal_parking",
        "location": "경안로 123",
        "details": {"vehicle": "흰색 승합차", "blocking": "차고 입구"},
        "call_sid": sid,
        "channel": "phone",
    }
    values.update(overrides)
    return ComplaintReport(**values)  # type: ignore[arg-type]


def test_a_caller_is_texted_in_the_language_of_the_line_they_called(
    service: DispatchService, sms: RecordingSms
) -> None:
    """Same English city, same kind: the Korean line's caller reads Korean, the English
    line's caller English; closing the ticket tells each in their own language."""
    ko = service.file_complaint(parking(phone_call(service, "CA" + "k" * 32, KO_CALLER, "ko")))
    en = service.file_complaint(
        parking(phone_call(service, "CA" + "e" * 32, EN_CALLER, "en"), location="14 Elm Street")
    )
    service.deliver_outbox()
    spaced_ko = f"{ko.number[:6]} {ko.number[6:]}"
    assert sms.to(KO_CALLER) == [
        f"감사합니다. 신고하신 민원(불법 주정차)의 접수번호는 {spaced_ko}입니다. "
        "문의하실 때 필요하니 보관해 주세요."
    ]
    spaced_en = f"{en.number[:6]} {en.number[6:]}"
    assert sms.to(EN_CALLER) == [
        f"Thank you. Your report (Illegal parking) is ticket {spaced_en}. Keep it to ask about it."
    ]

    service.set_status(ko.number, "closed", "fixed", None)
    service.set_status(en.number, "closed", "not_responsible", None)
    service.deliver_outbox()
    assert sms.to(KO_CALLER)[-1] == (
        f"접수번호 {ko.number} (불법 주정차) 민원이 종결되었습니다: 처리 완료."
    )
    assert sms.to(EN_CALLER)[-1] == (
        f"Your ticket {en.number} (Illegal parking) is closed: Not the city's responsibility."
    )
    # The officer of an English city reads English, whoever called.
    officer = [body for to, body in sms.sent if to not in (KO_CALLER, EN_CALLER)]
    assert officer and all(body.startswith("Ticket ") for body in officer), officer


def test_a_korean_duplicate_and_a_triage_receipt(service: DispatchService, sms) -> None:
    first = service.file_complaint(parking(phone_call(service, "CA" + "a" * 32, EN_CALLER, "en")))
    again = service.file_complaint(parking(phone_call(service, "CA" + "b" * 32, KO_CALLER, "ko")))
    assert again.duplicate_of == first.number
    unknown = service.file_complaint(
        ComplaintReport(
            kind=None,
            location="시장 앞",
            call_sid=phone_call(service, "CA" + "c" * 32, "+821055500003", "ko"),
            channel="phone",
        )
    )
    service.deliver_outbox()
    assert sms.to(KO_CALLER) == [
        f"감사합니다. 이미 접수번호 {first.number}(으)로 신고된 건이라 귀하의 신고는 "
        f"{again.number}(으)로 함께 접수되었습니다. 문의하실 때 {first.number} 번호를 "
        "말씀해 주세요."
    ]
    spaced = f"{unknown.number[:6]} {unknown.number[6:]}"
    assert sms.to("+821055500003") == [
        f"감사합니다. 신고하신 민원의 접수번호는 {spaced}입니다. "
        "문의하실 때 필요하니 보관해 주세요."
    ]
    # The duplicate's caller hears that the original closed, in Korean.
    service.set_status(first.number, "closed", "fixed", None)
    service.deliver_outbox()
    assert sms.to(KO_CALLER)[-1] == (
        f"신고하신 {again.number} 건은 접수번호 {first.number} (불법 주정차)에 합쳐졌으며, "
        "해당 민원이 종결되었습니다: 처리 완료."
    )


def test_a_korean_city_texts_and_mails_its_officers_in_korean(
    service: DispatchService, sms: RecordingSms, clock
) -> None:
    """Filing with the city's locale (FilingRules.locale, from DUTYLINE_LOCALE) and the
    escalation run in it: the officer's SMS and e-mail, and the escalated notice."""
    clock.now = MONDAY_10
    rules = dataclasses.replace(service._filing_rules(), locale="ko", base_url="https://line.test")
    filed = filing.file_complaint(
        engine=service.engine, spool=service.spool, report=parking(), at=clock.now, rules=rules
    )
    service.deliver_outbox()
    assert sms.to(OKAFOR) == [
        f"접수번호 {filed.number}: 경안로 123, 불법 주정차. 차량: 흰색 승합차; "
        "막고 있는 곳: 차고 입구. dutyline 민원함에서 확인해 주세요."
    ]
    with Session(service.engine) as session:
        mail = session.exec(
            select(Notification).where(
                Notification.channel == "email", Notification.purpose == "officer"
            )
        ).one()  # Okafor has an address in data/roster.yaml
    assert mail.to_address == "chidi.okafor@example.org"
    assert mail.subject == f"접수번호 {filed.number}: 경안로 123, 불법 주정차"
    assert "차량: 흰색 승합차" in mail.body and "dutyline 민원함에서" in mail.body
    assert f"https://line.test/tickets/{filed.number}" in mail.body

    clock.advance(minutes=15)
    moved = escalation.run_due(
        service.engine, clock.now, service.settings.escalation_minutes, locale="ko"
    )
    assert moved == 1
    service.deliver_outbox()
    assert sms.to(LINDQVIST) == [
        f"미확인으로 이관됨: 접수번호 {filed.number}: 경안로 123, 불법 주정차. "
        "차량: 흰색 승합차; 막고 있는 곳: 차고 입구. dutyline 민원함에서 확인해 주세요."
    ]


def test_english_officer_texts_are_unchanged(service: DispatchService) -> None:
    """The default locale keeps the texts word for word (no catalog in the way)."""
    filed = service.file_complaint(parking(location="14 Elm Street"))
    with Session(service.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == filed.number)).one()
        notice = officer_notice(
            ticket, details={"Vehicle": "white van"}, escalated=True, base_url=None
        )
        rows = session.exec(select(Notification).order_by(col(Notification.id))).all()
    assert notice.sms == (
        f"ESCALATED, not acknowledged: Ticket {filed.number}: Illegal parking at 14 Elm Street. "
        "Vehicle: white van. Please acknowledge in the dutyline inbox."
    )
    assert (
        notice.email.subject
        == f"ESCALATED: Ticket {filed.number}: Illegal parking at 14 Elm Street"
    )
    assert "Nobody acknowledged it in time; it is now yours." in notice.email.body
    officer = f"Ticket {filed.number}: Illegal parking at 14 Elm Street."
    assert any(r.body.startswith(officer) for r in rows), [r.body for r in rows]
    assert caller_receipt_sms(number="2611210001", kind_name=None, duplicate_of=None) == (
        "Thank you. Your report is ticket 261121 0001. Keep it to ask about it."
    )
    # The Korean receipt names the kind in Korean from its code.
    ko = caller_receipt_sms(
        number="2611210001", kind_name="Dead animal", duplicate_of=None, locale="ko",
        kind="dead_animal",
    )  # fmt: skip
    assert ko.startswith("감사합니다. 신고하신 민원(동물 사체)")
