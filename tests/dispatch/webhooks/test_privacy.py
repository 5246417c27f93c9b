"""What a webhook may carry: no caller number or words (and the place at block level)
unless the subscription is internal; the retention purge reaches the internal copies."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text

from dispatch.contract import ComplaintReport
from dispatch.service import DispatchService
from tests.dispatch.webhooks.conftest import Receiver, subscribe

CALLER = {
    "number": "+15185550987",
    "description": "Voicemail: the van of my neighbour Jo Smith again",
    "transcript": "Caller: it is outside my house, number twelve",
    "location": "12 Lark Street",
}


def report(caller: dict[str, str] = CALLER) -> ComplaintReport:
    return ComplaintReport(
        kind="illegal_parking",
        location=caller["location"],
        description=caller["description"],
        transcript=caller["transcript"],
        caller_number=caller["number"],
        details={"vehicle": "white van"},
        lat=42.6543219,
        long=-73.7612345,
    )


def test_only_internal_subscriptions_get_the_callers_number_and_words(
    service: DispatchService, clock, receiver: Receiver
) -> None:
    subscribe(service.engine, receiver, "/city", events=["ticket.created"])
    subscribe(service.engine, receiver, "/internal", events=["ticket.created"], internal=True)
    number = service.file_complaint(report()).number
    assert service.deliver_webhooks().delivered == 2

    [public] = receiver.on("/city")
    raw = json.dumps(public.body)
    for value in (*CALLER.values(), "+1518", "Jo Smith", "white van"):
        assert value not in raw, value
    data = public.body["data"]
    assert data["number"] == number and data["caller"] is None
    assert data["place"] == {"name": "0 block of Lark Street", "lat": 42.654, "long": -73.761}

    [internal] = receiver.on("/internal")
    caller = internal.body["data"]["caller"]
    assert caller == {
        "number": CALLER["number"],
        "location_said": CALLER["location"],
        "description": CALLER["description"],
        "transcript": CALLER["transcript"],
        "details": {"vehicle": "white van"},
    }
    assert internal.body["data"]["place"]["lat"] == 42.6543219


def test_the_retention_purge_removes_callers_from_stored_messages(
    service: DispatchService, clock, receiver: Receiver
) -> None:
    now = clock()
    subscribe(service.engine, receiver, "/city")
    subscribe(service.engine, receiver, "/internal", internal=True)
    receiver.answer = lambda body: 200 if body["data"]["caller"] is None else 503

    clock.now = now - timedelta(days=service.settings.retention_days + 1)
    old = service.file_complaint(report()).number
    service.set_status(old, "closed", "fixed", None)
    service.deliver_webhooks()  # the internal receiver is failing: its copies wait
    recent = {
        "number": "+15185550321",
        "description": "Voicemail: Sam Jones here",
        "transcript": "Caller: the van is back",
        "location": CALLER["location"],
    }
    clock.now = now - timedelta(days=1)
    service.file_complaint(report(recent))

    stored = _all_messages(service)
    assert CALLER["number"] in stored and CALLER["description"] in stored

    clock.now = now
    purged = service.purge_expired()
    assert purged.webhook_messages == 3  # the old ticket's internal messages
    stored = _all_messages(service)
    for name, value in CALLER.items():
        if name != "location":  # "12 Lark Street" is the new ticket's place too
            assert value not in stored, name
    assert recent["number"] in stored and recent["description"] in stored  # too new
    assert service.purge_expired().webhook_messages == 0  # nothing left to do

    # The waiting messages still go, without the caller, and still verify.
    receiver.answer = lambda body: 200
    service.deliver_webhooks()
    internal = [r for r in receiver.on("/internal") if r.ticket == old]
    assert [r.type for r in internal] == [
        "ticket.created",
        "ticket.status_changed",
        "ticket.closed",
    ]
    assert all(r.body["data"]["caller"] is None for r in internal)
    assert receiver.rejected == []


def _all_messages(service: DispatchService) -> str:
    with service.engine.connect() as connection:
        return "\n".join(
            str(tuple(row)) for row in connection.execute(text("SELECT * FROM webhook_delivery"))
        )
