"""Escalation: not acknowledged in time -> next in the department's chain -> the
duty supervisor; acknowledging stops it; the state survives a new service."""

from __future__ import annotations

from datetime import UTC

from dispatch.contract import ComplaintReport
from dispatch.db import make_engine
from dispatch.service import DispatchService
from tests.dispatch.conftest import city_time
from tests.dispatch.test_filing import staff_id

MONDAY_10 = city_time(2026, 11, 23, 10, 0).astimezone(UTC)


def parking() -> ComplaintReport:
    return ComplaintReport(
        kind="illegal_parking",
        location="Lark Street & Madison Avenue",
        details={"vehicle": "white van", "blocking": "a driveway"},
        caller_number="+15185550987",
    )


def test_unacknowledged_ticket_climbs_the_chain_then_the_supervisor(service, clock, sms) -> None:
    clock.now = MONDAY_10
    filed = service.file_complaint(parking())
    assert filed.officer_name == "Chidi Okafor"  # on shift; first in the chain

    clock.advance(minutes=14, seconds=59)
    assert service.run_escalations() == 0
    clock.advance(seconds=1)  # 15 minutes, not acknowledged
    assert service.run_escalations() == 1
    ticket = service.get_ticket(filed.number)
    assert ticket.assigned_name == "Eva Lindqvist" and ticket.escalation_step == 2
    assert (ticket.escalation_due_at - clock.now).total_seconds() == 15 * 60

    clock.advance(minutes=15)
    assert service.run_escalations() == 1
    ticket = service.get_ticket(filed.number)
    assert ticket.assigned_name == "Ana Garcia"  # duty supervisor at 10:30 on a Monday

    clock.advance(minutes=15)
    assert service.run_escalations() == 0  # nobody left
    ticket = service.get_ticket(filed.number)
    assert ticket.assigned_name == "Ana Garcia" and ticket.escalation_due_at is None
    actions = [(e.action, e.new_value) for e in ticket.events]
    assert actions == [
        ("created", None),
        ("escalated", "Eva Lindqvist"),
        ("escalated", "Ana Garcia"),
        ("escalation_exhausted", None),
    ]
    service.deliver_outbox()
    assert sms.to("+15185550112")[0].startswith("ESCALATED")
    assert sms.to("+15185550101")[0].startswith("ESCALATED")
    assert len(sms.to("+15185550111")) == 1  # Okafor: only the first notice


def test_acknowledging_stops_escalation(service, clock) -> None:
    clock.now = MONDAY_10
    filed = service.file_complaint(parking())
    clock.advance(minutes=10)
    service.acknowledge(filed.number, staff_id(service, "pk.okafor"))
    clock.advance(minutes=60)
    assert service.run_escalations() == 0
    ticket = service.get_ticket(filed.number)
    assert ticket.assigned_name == "Chidi Okafor" and ticket.escalation_due_at is None
    assert "escalated" not in [e.action for e in ticket.events]


def test_escalation_survives_a_restart(service, clock, settings_for, migrated_url, sms) -> None:
    clock.now = MONDAY_10
    filed = service.file_complaint(parking())

    # A new process: new engine, new service, same database.
    engine = make_engine(migrated_url)
    try:
        restarted = DispatchService(engine, settings_for(), sms=sms, clock=clock)
        clock.advance(minutes=16)
        assert restarted.run_escalations() == 1
        assert restarted.get_ticket(filed.number).assigned_name == "Eva Lindqvist"
        assert service.run_escalations() == 0  # the old one finds nothing left to do
    finally:
        engine.dispose()


def test_fallback_contact_escalates_into_the_chain(service, clock) -> None:
    # Saturday 03:00: parking goes to the night desk (not staff); the chain follows.
    filed = service.file_complaint(parking())
    assert filed.officer_name == "Parking night desk"
    clock.advance(minutes=15)
    assert service.run_escalations() == 1
    assert service.get_ticket(filed.number).assigned_name == "Chidi Okafor"


def test_escalation_minutes_come_from_settings(engine, settings_for, sms, clock) -> None:
    service = DispatchService(engine, settings_for(escalation_minutes=5), sms=sms, clock=clock)
    clock.now = MONDAY_10
    filed = service.file_complaint(parking())
    clock.advance(minutes=5)
    assert service.run_escalations() == 1
    assert service.get_ticket(filed.number).assigned_name == "Eva Lindqvist"
