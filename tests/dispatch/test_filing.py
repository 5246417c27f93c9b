"""Filing complaints, the triage path, status changes and the audit trail."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from dispatch.contract import CallStart, ComplaintReport, PlaceCandidate, PlaceKind
from dispatch.public import TicketFilters
from dispatch.ticket_status import InvalidTransition
from dispatch.ticket_work import TicketNotFound, UnknownStaff
from tests.dispatch.conftest import city_time

CALLER = "+15185550987"
# Riverton's City Hall (data/places/riverton.osm), as the geocoder offers it.
CITY_HALL = PlaceCandidate(
    label="City Hall",
    kind=PlaceKind.LANDMARK,
    street="12th Street",
    lat=42.6575171,
    long=-73.7533595,
    confidence=1.0,
)
NOISE_SID = "CA" + "1" * 32


def answered(service, sid: str = NOISE_SID, number: str = CALLER) -> str:
    """The call's record, as Twilio's signed webhook opens it: SMS go only to its From."""
    service.open_call(CallStart(call_sid=sid, caller_number=number, started_at=service.clock()))
    return sid


def noise(**overrides: object) -> ComplaintReport:
    values: dict[str, object] = {
        "kind": "noise",
        "location": "outside City Hall",
        "details": {"source": "a party with loud music", "ongoing": "yes"},
        "caller_number": CALLER,
        "call_sid": "CA" + "1" * 32,
    }
    values.update(overrides)
    return ComplaintReport(**values)


def staff_id(service, username: str) -> int:
    with service.engine.connect() as connection:
        return connection.execute(
            text("SELECT id FROM staff WHERE username = :u"), {"u": username}
        ).scalar_one()


def test_a_phone_complaint_is_filed_routed_and_announced(service, sms) -> None:
    service.open_call(
        CallStart(call_sid="CA" + "1" * 32, caller_number=CALLER, started_at=datetime.now(UTC))
    )
    # The dialogue read the place back and the caller confirmed it.
    filed = service.file_complaint(noise(place=CITY_HALL, place_verified=True))

    assert re.fullmatch(r"2611210001", filed.number)  # YYMMDD + sequence, digits only
    assert filed.kind == "noise" and filed.department_code == "code_enforcement"
    assert filed.officer_name == "Sami Haddad" and filed.status == "new"
    assert service.ticket_for_call("CA" + "1" * 32) == filed.number

    ticket = service.get_ticket(filed.number)
    assert ticket.place_name == "City Hall" and ticket.lat == pytest.approx(42.6575171)
    assert ticket.place_kind == "landmark" and ticket.place_verified is True
    assert ticket.location_text == "outside City Hall"
    assert ticket.details == {"source": "a party with loud music", "ongoing": "yes"}
    assert ticket.open311_status == "open" and ticket.escalation_step == 0
    assert [e.action for e in ticket.events] == ["created"]

    view = service.find_ticket("261121 0001")  # as read back, with a space
    assert view.number == filed.number and view.status_label == "Received"
    assert service.find_ticket("2611219999") is None

    report = service.deliver_outbox()
    assert report.sent == 2
    officer = sms.to("+15185550131")
    assert len(officer) == 1 and filed.number in officer[0] and "Source: a party" in officer[0]
    assert "261121 0001" in sms.to(CALLER)[0]


def test_unknown_kind_becomes_a_triage_ticket_for_the_supervisor(service) -> None:
    filed = service.file_complaint(
        noise(kind="graffiti", transcript="caller: someone sprayed paint on the bridge")
    )
    ticket = service.get_ticket(filed.number)
    assert ticket.needs_triage and ticket.department_code == "triage"
    assert ticket.triage_reason == "unknown kind 'graffiti'"
    assert ticket.kind is None and ticket.details["reported_kind"] == "graffiti"
    assert ticket.transcript == "caller: someone sprayed paint on the bridge"
    assert ticket.assigned_name == "Tom Walker"  # supervisor on the night shift
    assert service.list_tickets(TicketFilters(needs_triage=True))[0].number == filed.number


def test_component_failure_is_kept_for_triage(service, sms) -> None:
    filed = service.file_complaint(
        ComplaintReport(
            kind=None,
            call_sid=answered(service),
            needs_triage=True,
            triage_reason="dialogue server unavailable",
            transcript="there's water everywhere on river road",
        )
    )
    ticket = service.get_ticket(filed.number)
    assert ticket.needs_triage and ticket.triage_reason == "dialogue server unavailable"
    assert ticket.transcript.startswith("there's water")
    service.deliver_outbox()
    receipt = sms.to(CALLER)[0]
    assert receipt.startswith("Thank you. Your report is ticket ") and "triage" not in receipt


def test_routing_failure_still_stores_the_report(service, engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE department SET active = false WHERE code = 'water'"))
    try:
        filed = service.file_complaint(noise(kind="water_leak", location="River Road"))
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE department SET active = true WHERE code = 'water'"))
    ticket = service.get_ticket(filed.number)
    assert ticket.needs_triage and ticket.department_code == "triage"
    assert ticket.triage_reason.startswith("routing failed")
    assert ticket.location_text == "River Road"


def test_when_everything_else_fails_a_bare_triage_ticket_is_kept(service, engine) -> None:
    # No departments at all (say, seeding never ran): routing cannot work.
    with engine.begin() as connection:
        connection.execute(text("UPDATE department SET code = code || '_off'"))
    try:
        filed = service.file_complaint(noise(call_sid=answered(service)))
        ticket = service.get_ticket(filed.number)
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM notification"))
            connection.execute(text("DELETE FROM ticket_event"))
            connection.execute(text("DELETE FROM escalation"))
            connection.execute(text("DELETE FROM ticket"))
            connection.execute(text("DELETE FROM department WHERE code = 'triage'"))
            connection.execute(
                text(
                    "UPDATE department SET code = replace(code, '_off', '') WHERE code LIKE '%_off'"
                )
            )
    assert ticket.needs_triage and ticket.triage_reason.startswith("filing failed")
    assert ticket.details["reported_kind"] == "noise"
    assert ticket.location_text == "outside City Hall" and ticket.caller_number == CALLER


def test_a_retried_file_action_on_the_same_call_files_once(service) -> None:
    first = service.file_complaint(noise())
    again = service.file_complaint(noise())
    assert again.number == first.number
    assert len(service.list_tickets()) == 1


def test_every_change_is_in_the_audit_trail(service, clock) -> None:
    filed = service.file_complaint(noise(call_sid=answered(service)))
    haddad, garcia = staff_id(service, "ce.haddad"), staff_id(service, "sup.garcia")

    clock.advance(minutes=3)
    service.acknowledge(filed.number, haddad)
    clock.advance(minutes=1)
    service.add_note(filed.number, haddad, "On my way.")
    service.set_status(filed.number, "in_progress", None, haddad)
    service.assign(filed.number, garcia, haddad)
    clock.advance(minutes=30)
    service.set_status(filed.number, "closed", "fixed", garcia)

    ticket = service.get_ticket(filed.number)
    trail = [(e.action, e.actor, e.old_value, e.new_value) for e in ticket.events]
    assert trail == [
        ("created", "caller", None, None),
        ("status", "ce.haddad", "new", "acknowledged"),
        ("note_added", "ce.haddad", None, None),
        ("status", "ce.haddad", "acknowledged", "in_progress"),
        ("assigned", "ce.haddad", "Sami Haddad", "Ana Garcia"),
        ("status", "sup.garcia", "in_progress", "closed"),
    ]
    assert ticket.events[-1].detail == "fixed"
    assert ticket.events[1].at == city_time(2026, 11, 21, 3, 3).astimezone(UTC)
    assert ticket.events[1].staff_id == haddad
    assert ticket.acknowledged_at == city_time(2026, 11, 21, 3, 3).astimezone(UTC)
    assert ticket.status == "closed" and ticket.open311_status == "closed"
    assert ticket.close_reason == "fixed" and ticket.notes[0].body == "On my way."
    assert ticket.escalation_due_at is None  # acknowledged: escalation stopped
    assert service.find_ticket(filed.number).status_label == "Closed: Fixed"
    assert any(n.purpose == "caller_update" for n in ticket.notifications)


def test_illegal_status_changes_fail_loudly(service) -> None:
    filed = service.file_complaint(noise())
    officer = staff_id(service, "ce.haddad")
    with pytest.raises(InvalidTransition, match="closing needs a reason"):
        service.set_status(filed.number, "closed", None, officer)
    with pytest.raises(InvalidTransition, match="unknown status"):
        service.set_status(filed.number, "resolved", None, officer)
    service.set_status(filed.number, "closed", "unfounded", officer)
    with pytest.raises(InvalidTransition):
        service.acknowledge(filed.number, officer)
    with pytest.raises(InvalidTransition, match="not allowed"):
        service.set_status(filed.number, "acknowledged", None, officer)
    reopened = service.set_status(filed.number, "in_progress", "caller says still loud", officer)
    assert reopened.closed_at is None and reopened.close_reason is None
    with pytest.raises(TicketNotFound):
        service.acknowledge("2611219999", officer)
    with pytest.raises(UnknownStaff):
        service.acknowledge(filed.number, 987654)
    with pytest.raises(ValueError, match="text"):
        service.add_note(filed.number, officer, "   ")


def test_listing_filters(service, clock) -> None:
    first = service.file_complaint(noise())
    clock.advance(minutes=1)
    second = service.file_complaint(noise(kind="pothole", location="Broadway", call_sid="CA2"))
    service.set_status(first.number, "closed", "fixed", None)

    assert [t.number for t in service.list_tickets()] == [second.number, first.number]
    assert [t.number for t in service.list_tickets(TicketFilters(status=["open"]))] == [
        second.number
    ]
    assert [t.number for t in service.list_tickets(TicketFilters(status=["closed"]))] == [
        first.number
    ]
    assert [t.number for t in service.list_tickets(TicketFilters(kind=["pothole"]))] == [
        second.number
    ]
    roads = service.list_tickets(TicketFilters(department_code="roads"))
    assert [t.number for t in roads] == [second.number]
    assert service.count_tickets(TicketFilters(text="broad")) == 1
    assert [t.number for t in service.list_tickets(TicketFilters(numbers=[first.number]))] == [
        first.number
    ]
    with service.engine.connect() as connection:
        roads_id = connection.execute(
            text("SELECT id FROM department WHERE code = 'roads'")
        ).scalar_one()
    assert [t.number for t in service.list_tickets(department_id=roads_id)] == [second.number]
