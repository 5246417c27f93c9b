"""The outbox: a failing SMS provider never loses or blocks a ticket; sends are
retried with backoff, then given up on (and that is in the audit trail)."""

from __future__ import annotations

from datetime import timedelta

from dispatch.outbox import MAX_ATTEMPTS, backoff
from dispatch.service import DispatchService
from tests.dispatch.conftest import RecordingSms
from tests.dispatch.test_filing import CALLER, answered, noise


def test_failing_sender_then_a_working_one(engine, settings_for, clock) -> None:
    down = RecordingSms(failures=10**6)
    service = DispatchService(engine, settings_for(), sms=down, clock=clock)
    filed = service.file_complaint(noise(call_sid=answered(service)))  # filed regardless of SMS
    assert service.find_ticket(filed.number) is not None

    report = service.deliver_outbox()
    assert (report.sent, report.retrying) == (0, 2)
    ticket = service.get_ticket(filed.number)
    assert {n.status for n in ticket.notifications} == {"pending"}
    assert all(n.attempts == 1 and "unreachable" in n.last_error for n in ticket.notifications)

    # Not due again before the backoff has passed.
    clock.advance(seconds=29)
    assert service.deliver_outbox().retrying == 0
    clock.advance(seconds=1)
    assert service.deliver_outbox().retrying == 2

    # The provider is back (the same service, a working sender).
    up = RecordingSms()
    service.sms = up
    clock.advance(seconds=60)
    assert service.deliver_outbox().sent == 2
    ticket = service.get_ticket(filed.number)
    assert {(n.status, n.attempts) for n in ticket.notifications} == {("sent", 3)}
    assert len(up.to(CALLER)) == 1 and len(up.to("+15185550131")) == 1
    assert service.deliver_outbox().sent == 0  # nothing is sent twice


def test_gives_up_after_the_last_attempt(engine, settings_for, clock) -> None:
    service = DispatchService(engine, settings_for(), sms=RecordingSms(failures=10**6), clock=clock)
    filed = service.file_complaint(noise(caller_number=None))  # only the officer's SMS
    for _ in range(MAX_ATTEMPTS):
        service.deliver_outbox()
        clock.advance(hours=2)
    ticket = service.get_ticket(filed.number)
    [notification] = ticket.notifications
    assert notification.status == "failed" and notification.attempts == MAX_ATTEMPTS
    assert ticket.events[-1].action == "notification_failed"
    assert "+1518•••••31" in ticket.events[-1].detail  # the number masked
    assert ticket.status == "new"  # the ticket itself is untouched


def test_a_send_cut_short_is_picked_up_after_its_lease(engine, settings_for, clock) -> None:
    sms = RecordingSms()
    service = DispatchService(engine, settings_for(), sms=sms, clock=clock)
    filed = service.file_complaint(noise(caller_number=None))
    # Simulate a process that claimed the row and died before recording the result.
    from dispatch.outbox import _claim

    [row] = service.get_ticket(filed.number).notifications
    assert _claim(engine, row.id, clock()) is not None
    assert service.deliver_outbox().sent == 0  # leased
    clock.advance(minutes=3)
    assert service.deliver_outbox().sent == 1


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff(20) == timedelta(hours=1)
