"""Webhooks to a real HTTP receiver that verifies every signature: a ticket's whole life
arrives in order; a receiver that is down (port closed, then answering 500) loses
nothing and gets the backlog in order once it is back; a message that failed for good
holds back only its own ticket; two services on one database send each message once."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlmodel import col, select

from dispatch import background
from dispatch.contract import ComplaintReport
from dispatch.db import make_engine, session_scope
from dispatch.models import WebhookDelivery
from dispatch.service import DispatchService
from dispatch.webhooks.delivery import MAX_ATTEMPTS, backoff, retry_failed
from tests.dispatch.conftest import city_time
from tests.dispatch.test_filing import staff_id
from tests.dispatch.webhooks.conftest import Receiver, subscribe

MONDAY_10 = city_time(2026, 11, 23, 10, 0)


def parking(location: str = "Lark Street & Madison Avenue") -> ComplaintReport:
    return ComplaintReport(
        kind="illegal_parking",
        location=location,
        details={"vehicle": "white van"},
        caller_number="+15185550987",
        lat=42.6543219,
        long=-73.7612345,
    )


def rows(service: DispatchService) -> list[WebhookDelivery]:
    with session_scope(service.engine) as session:
        return list(session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id))))


def test_a_tickets_whole_life_arrives_signed_and_in_order(
    service: DispatchService, clock, receiver: Receiver
) -> None:
    clock.now = MONDAY_10
    subscribe(service.engine, receiver, "/works")
    filed = service.file_complaint(parking())
    assert service.deliver_webhooks().delivered == 1
    assert [r.type for r in receiver.on("/works")] == ["ticket.created"]

    clock.advance(minutes=15)  # nobody acknowledged it
    assert service.run_escalations() == 1
    clock.advance(minutes=2)
    service.acknowledge(filed.number, staff_id(service, "pk.lindqvist"))
    clock.advance(minutes=20)
    service.set_status(filed.number, "in_progress", None, staff_id(service, "pk.lindqvist"))
    clock.advance(hours=1)
    service.set_status(filed.number, "closed", "fixed", staff_id(service, "pk.lindqvist"))
    # One call sends the rest: each delivered message frees its ticket's next one.
    report = service.deliver_webhooks()
    assert (report.delivered, report.retrying, report.failed) == (5, 0, 0)

    got = receiver.on("/works")
    assert receiver.rejected == []  # every one verified with the subscription's secret
    assert [(r.type, r.body["data"]["status"]) for r in got] == [
        ("ticket.created", "new"),
        ("ticket.escalated", "new"),
        ("ticket.status_changed", "acknowledged"),
        ("ticket.status_changed", "in_progress"),
        ("ticket.status_changed", "closed"),
        ("ticket.closed", "closed"),
    ]
    assert [r.body["data"]["previous_status"] for r in got[2:5]] == [
        "new",
        "acknowledged",
        "in_progress",
    ]
    assert [r.body["data"]["close_reason"] for r in got[-2:]] == ["fixed", "fixed"]
    assert got[0].body["data"]["close_reason"] is None
    assert {r.ticket for r in got} == {filed.number}
    assert len({r.message_id for r in got}) == 6
    assert got[2].body["data"]["actor"] == "pk.lindqvist" and got[1].body["data"]["actor"] == (
        "system"
    )
    # The event's own time, in order; the header is when it was sent (real time, checked).
    stamps = [r.body["timestamp"] for r in got]
    assert stamps == sorted(stamps) and stamps[0].startswith("2026-11-23T15:00:00")
    first = got[0].body["data"]
    assert first["department"] == "parking" and first["kind"] == "illegal_parking"
    assert all(r.headers["webhook-signature"].startswith("v1,") for r in got)
    assert all(r.headers["content-type"] == "application/json" for r in got)
    assert {row.status for row in rows(service)} == {"delivered"}
    assert service.deliver_webhooks().delivered == 0  # nothing is sent twice


def test_a_receiver_that_was_down_gets_everything_in_order_once_back(
    service: DispatchService, clock, receiver: Receiver
) -> None:
    clock.now = MONDAY_10
    subscribe(service.engine, receiver, "/works")
    receiver.stop()  # the port is closed
    first = service.file_complaint(parking()).number
    second = service.file_complaint(parking("Central Avenue & Quail Street")).number
    officer = staff_id(service, "pk.okafor")
    service.acknowledge(first, officer)
    service.set_status(first, "in_progress", None, officer)
    service.set_status(second, "closed", "unfounded", officer)

    retrying = {"channel": "webhook", "result": "retrying"}
    failures_before = REGISTRY.get_sample_value("dutyline_outbox_failures_total", retrying) or 0
    report = service.deliver_webhooks()
    # Only the first message of each ticket is tried; the others wait behind it.
    assert (report.delivered, report.retrying) == (0, 2)
    failures = REGISTRY.get_sample_value("dutyline_outbox_failures_total", retrying)
    assert failures == failures_before + 2  # operators see the failing receiver
    by_ticket = [(r.attempts, r.status, r.last_error is not None) for r in rows(service)]
    assert by_ticket[:2] == [(1, "pending", True), (1, "pending", True)]
    assert all(attempts == 0 for attempts, _, _ in by_ticket[2:])

    receiver.answer = lambda body: 500  # back, but failing
    receiver.start()
    assert service.deliver_webhooks().delivered == 0  # not due yet: backing off
    clock.advance(seconds=30)
    assert service.deliver_webhooks().retrying == 2
    assert rows(service)[0].last_status_code == 500
    assert receiver.received == []

    receiver.answer = lambda body: 200
    clock.advance(seconds=59)
    assert service.deliver_webhooks().delivered == 0  # the second wait is a minute
    clock.advance(seconds=1)
    assert service.deliver_webhooks().delivered == 6
    got = receiver.on("/works")
    assert receiver.rejected == []
    assert [(r.ticket, r.type) for r in got if r.ticket == first] == [
        (first, "ticket.created"),
        (first, "ticket.status_changed"),
        (first, "ticket.status_changed"),
    ]
    assert [r.type for r in got if r.ticket == second] == [
        "ticket.created",
        "ticket.status_changed",
        "ticket.closed",
    ]
    assert [r.attempts for r in rows(service)][:2] == [3, 3]


def test_a_message_failed_for_good_holds_back_only_its_ticket_until_retried(
    service: DispatchService, clock, receiver: Receiver
) -> None:
    clock.now = MONDAY_10
    subscription = subscribe(service.engine, receiver, "/works")
    stuck = service.file_complaint(parking()).number
    receiver.answer = lambda body: 422 if body["data"]["number"] == stuck else 200
    for attempt in range(1, MAX_ATTEMPTS + 1):
        service.deliver_webhooks()
        clock.advance(seconds=backoff(attempt).total_seconds())
    assert [(r.status, r.attempts) for r in rows(service)] == [("failed", MAX_ATTEMPTS)]
    assert rows(service)[0].last_error == "HTTP 422"

    flowing = service.file_complaint(parking("Central Avenue & Quail Street")).number
    service.set_status(stuck, "closed", "fixed", None)
    service.set_status(flowing, "closed", "fixed", None)
    assert service.deliver_webhooks().delivered == 3  # the other ticket is not held back
    held = [r for r in rows(service) if r.status == "pending"]
    assert len(held) == 2 and all(r.attempts == 0 for r in held)

    receiver.answer = lambda body: 200
    with session_scope(service.engine, write=True) as session:
        assert retry_failed(session, clock(), subscription_id=subscription.id) == 1
    assert service.deliver_webhooks().delivered == 3
    assert [r.type for r in receiver.on("/works") if r.ticket == stuck] == [
        "ticket.created",
        "ticket.status_changed",
        "ticket.closed",
    ]


def test_two_services_on_one_database_send_each_message_once(
    service: DispatchService, clock, receiver: Receiver, settings_for, sms, migrated_url: str
) -> None:
    clock.now = MONDAY_10
    subscribe(service.engine, receiver, "/a")
    subscribe(service.engine, receiver, "/b", events=["ticket.created", "ticket.closed"])
    numbers = [service.file_complaint(parking(f"{n} Lark Street")).number for n in range(12)]
    for number in numbers:
        service.set_status(number, "closed", "fixed", None)
    other_engine = make_engine(migrated_url)
    other = DispatchService(other_engine, settings_for(), sms=sms, clock=clock)
    start = threading.Barrier(2)
    reports = {}

    def run(name: str, worker: DispatchService) -> None:
        start.wait()
        reports[name] = worker.deliver_webhooks()

    threads = [
        threading.Thread(target=run, args=(name, worker))
        for name, worker in (("one", service), ("two", other))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    other_engine.dispose()

    sent = 12 * 3 + 12 * 2
    assert reports["one"].delivered + reports["two"].delivered == sent
    assert len(receiver.received) == sent == len({r.message_id for r in receiver.received})
    assert receiver.rejected == []
    for number in numbers:
        assert [r.type for r in receiver.on("/a") if r.ticket == number] == [
            "ticket.created",
            "ticket.status_changed",
            "ticket.closed",
        ]
        assert [r.type for r in receiver.on("/b") if r.ticket == number] == [
            "ticket.created",
            "ticket.closed",
        ]
    assert service.deliver_webhooks().delivered == 0


def test_without_subscriptions_nothing_is_queued(service: DispatchService, clock) -> None:
    clock.now = MONDAY_10
    number = service.file_complaint(parking()).number
    service.set_status(number, "closed", "fixed", None)
    assert rows(service) == []


@pytest.mark.parametrize("events", [["ticket.closed"], ["ticket.escalated"]])
def test_a_subscription_gets_only_the_events_it_asked_for(
    service: DispatchService, clock, receiver: Receiver, events: list[str]
) -> None:
    clock.now = MONDAY_10
    subscribe(service.engine, receiver, "/only", events=events)
    number = service.file_complaint(parking()).number
    clock.advance(minutes=15)
    service.run_escalations()
    service.set_status(number, "closed", "fixed", None)
    service.deliver_webhooks(clock.now + timedelta(seconds=1))
    assert [r.type for r in receiver.on("/only")] == events


async def test_the_background_sender_is_woken_by_a_filing(
    service: DispatchService, clock, receiver: Receiver, monkeypatch
) -> None:
    monkeypatch.setattr(background, "WEBHOOK_INTERVAL_SECONDS", 60.0)
    subscribe(service.engine, receiver, "/works")
    workers = background.DispatchWorkers(
        service, outbox_interval=60, escalation_interval=60, retention_interval=60
    )
    workers.start()
    try:
        await asyncio.sleep(0.2)  # the first rounds found nothing to send
        filed = await asyncio.to_thread(service.file_complaint, parking())
        # The filing woke the sender: the 60 s poll interval is not waited for.
        for _ in range(200):
            if receiver.on("/works"):
                break
            await asyncio.sleep(0.05)
        assert [(r.type, r.ticket) for r in receiver.on("/works")] == [
            ("ticket.created", filed.number)
        ]
    finally:
        await workers.stop()
