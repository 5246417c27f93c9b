"""The hand-over messages sent at each shift change (dispatch/handover_notices.py): each
incoming person gets their department's window, the duty supervisor the departments
starting, once per change even when two app processes race. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from dispatch.db import make_engine
from dispatch.models import Handover, Notification
from dispatch.service import DispatchService
from tests.dispatch.conftest import ManualClock, RecordingSms
from tests.dispatch.handover_support import (
    CALLER,
    CONTRACTOR,
    GARCIA,
    MASKED,
    NOVAK,
    OKAFOR,
    WALKER,
    city,
    file_at,
    filed_in,
    handover_rows,
    utc,
)
from tests.dispatch.web_support import add_staff, build_app, post_signin


def sent_at(service: DispatchService, change: datetime) -> dict[str, Notification]:
    """The messages of one change by recipient (phone for SMS, address for e-mail)."""
    rows = [r for r in handover_rows(service.engine) if r.created_at == change]
    found = {(r.to_number or r.to_address or ""): r for r in rows}
    assert len(found) == len(rows), "someone got two messages of one kind"
    return found


def query_of(message: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(message.split()[-1]).query)


def test_the_day_supervisor_at_eight_is_handed_the_whole_night(
    service: DispatchService, clock: ManualClock, sms: RecordingSms
) -> None:
    before = file_at(service, clock, city(2026, 11, 24, 19, 59), "noise", "1 Elm Street")
    night = [
        file_at(service, clock, city(2026, 11, 24, 20, 0), "noise", "2 Elm Street"),
        file_at(service, clock, city(2026, 11, 25, 0, 10), "pothole", "3 Lark Street"),
        file_at(service, clock, city(2026, 11, 25, 6, 30), "illegal_parking", "4 Pine Street"),
        file_at(service, clock, city(2026, 11, 25, 7, 59), "noise", "5 Oak Street"),
    ]
    after = file_at(service, clock, city(2026, 11, 25, 8, 0), "noise", "6 Ash Street")
    for change in (city(2026, 11, 25, 6), city(2026, 11, 25, 7)):  # others' changes first
        assert service.send_handovers(change + timedelta(seconds=30)) == [change]

    eight = city(2026, 11, 25, 8)
    assert service.send_handovers(eight + timedelta(seconds=30)) == [eight]
    with Session(service.engine) as session:
        claim = session.exec(select(Handover).where(Handover.shift_change_at == eight)).one()
    assert (claim.since, claim.until) == (city(2026, 11, 24, 16), eight)  # water's since 16:00
    mine = sent_at(service, eight + timedelta(seconds=30))
    # sup.garcia, wt.brennan and tf.ivanova start; she is the duty supervisor: one each.
    assert set(mine) == {GARCIA, "ana.garcia@example.org", "+15185550151", "+15185550161"}
    assert claim.recipients == 3
    email = mine["ana.garcia@example.org"].body
    assert filed_in(email) == night
    assert before not in filed_in(email) and after not in email
    assert CALLER not in email and MASKED in email
    assert "4 tickets filed" in mine[GARCIA].body and len(mine[GARCIA].body) <= 480
    link = mine[GARCIA].body.split()[-1]
    assert query_of(link) == {
        "since": ["2026-11-24T20:00-05:00"],
        "until": ["2026-11-25T08:00-05:00"],
    }
    assert mine["ana.garcia@example.org"].subject.startswith("Hand-over Wed 25 Nov 08:00: ")

    # The page behind the link lists the same tickets.
    add_staff(service.engine, "sup.reader", role="supervisor", department="triage")
    client = TestClient(build_app(service))
    post_signin(client, username="sup.reader", password="night-shift-2026")
    page = client.get(link.removeprefix(service.settings.public_url)).text
    assert [n for n in [before, *night, after] if f'id="filed-{n}"' in page] == night

    service.deliver_outbox(eight + timedelta(minutes=1))
    assert [t for t in sms.to(GARCIA) if "hand-over" in t] == [mine[GARCIA].body]
    assert service.send_handovers(eight + timedelta(minutes=5)) == []  # once


def test_parking_on_monday_is_handed_the_weekend_and_the_supervisor_both_departments(
    service: DispatchService, clock: ManualClock
) -> None:
    file_at(service, clock, city(2026, 11, 21, 22, 59), "illegal_parking", "1 Pine Street")
    weekend = [
        file_at(service, clock, city(2026, 11, 21, 23, 0), "illegal_parking", "2 Pine Street"),
        file_at(service, clock, city(2026, 11, 22, 12, 0), "illegal_parking", "3 Pine Street"),
        file_at(service, clock, city(2026, 11, 23, 6, 59), "illegal_parking", "4 Pine Street"),
    ]
    road_day = file_at(service, clock, city(2026, 11, 22, 16), "pothole", "5 Lark Street")
    road_night = file_at(service, clock, city(2026, 11, 23, 1), "pothole", "6 Lark Street")
    noise = file_at(service, clock, city(2026, 11, 23, 2), "noise", "7 Elm Street")
    monday = file_at(service, clock, city(2026, 11, 23, 7, 0), "illegal_parking", "8 Pine St")

    seven = city(2026, 11, 23, 7)
    assert service.send_handovers(seven + timedelta(seconds=30)) == [seven]
    mine = sent_at(service, seven + timedelta(seconds=30))
    assert set(mine) == {
        OKAFOR,
        "chidi.okafor@example.org",
        NOVAK,
        WALKER,  # on until 08:00: the duty supervisor
        "tom.walker@example.org",
    }
    okafor = mine["chidi.okafor@example.org"]
    assert filed_in(okafor.body) == weekend
    assert okafor.subject.startswith("Hand-over Mon 23 Nov 07:00 (Parking Enforcement): ")
    assert mine[OKAFOR].body.startswith(
        "dutyline hand-over (Parking Enforcement), shift Sat 21 Nov 23:00–Mon 23 Nov 07:00: "
        "3 tickets filed"
    )
    assert query_of(mine[OKAFOR].body) == {
        "since": ["2026-11-21T23:00-05:00"],
        "until": ["2026-11-23T07:00-05:00"],
        "departments": ["parking"],
    }
    # Roads' window runs from rd.tanaka's Sunday 23:30 end.
    assert "Roads and Streetlights), shift Sun 22 Nov 23:30–" in mine[NOVAK].body
    assert "1 ticket filed" in mine[NOVAK].body
    # sup.walker: both departments together since the earlier of their windows; no noise.
    walker = mine["tom.walker@example.org"]
    assert filed_in(walker.body) == [*weekend[:2], road_day, road_night, weekend[2]]
    assert noise not in walker.body and monday not in walker.body
    assert query_of(mine[WALKER].body)["departments"] == ["parking,roads"]
    assert "(Parking Enforcement, Roads and Streetlights)" in walker.subject


@pytest.mark.parametrize(
    ("night", "inside", "since", "query"),
    [
        (
            (city(2026, 3, 7, 19, 59), city(2026, 3, 8, 8)),
            [
                city(2026, 3, 7, 20),
                city(2026, 3, 8, 1, 59),
                utc(2026, 3, 8, 7),
                city(2026, 3, 8, 7, 59),
            ],
            utc(2026, 3, 8, 1),
            ["2026-03-07T20:00-05:00", "2026-03-08T08:00-04:00"],
        ),
        (
            (city(2026, 10, 31, 19, 59), city(2026, 11, 1, 8)),
            [
                city(2026, 10, 31, 20),
                city(2026, 11, 1, 1, 30),
                city(2026, 11, 1, 1, 30, fold=1),
                city(2026, 11, 1, 7, 59),
            ],
            utc(2026, 11, 1, 0),
            ["2026-10-31T20:00-04:00", "2026-11-01T08:00-05:00"],
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_the_supervisors_dst_night_is_handed_over_whole(
    service: DispatchService, clock: ManualClock, night, inside, since, query
) -> None:
    evening, morning = night  # 19:59 the evening before (outside), 08:00 the hand-over
    file_at(service, clock, evening, "noise", "1 Elm Street")
    tickets = [
        file_at(service, clock, at, "noise", f"{i} Oak Street") for i, at in enumerate(inside)
    ]
    file_at(service, clock, morning, "noise", "9 Ash Street")
    assert service.send_handovers(morning - timedelta(minutes=1)) == []  # not yet

    assert service.send_handovers(morning + timedelta(seconds=40)) == [morning]
    with Session(service.engine) as session:
        claim = session.exec(select(Handover)).one()
    assert (claim.since, claim.until) == (since, morning)
    # Sunday 08:00: only sup.garcia comes on (the contractor's 07:00 Chicago is an end).
    mine = sent_at(service, morning + timedelta(seconds=40))
    assert set(mine) == {GARCIA, "ana.garcia@example.org"}
    assert filed_in(mine["ana.garcia@example.org"].body) == tickets
    assert query_of(mine[GARCIA].body) == {"since": [query[0]], "until": [query[1]]}


def test_the_chicago_contractor_is_handed_water_since_its_last_boundary(
    service: DispatchService, clock: ManualClock
) -> None:
    # Sunday 1 November: the contractor ended at 07:00 CST (08:00 EST), starts at 15:00 CST.
    file_at(service, clock, city(2026, 11, 1, 7, 59), "water_leak", "1 Elm Street")
    water = [
        file_at(service, clock, city(2026, 11, 1, 8, 0), "water_leak", "2 Elm Street"),
        file_at(service, clock, city(2026, 11, 1, 15, 59), "water_leak", "3 Elm Street"),
    ]
    roads = file_at(service, clock, city(2026, 11, 1, 15, 45), "pothole", "4 Lark Street")
    later = file_at(service, clock, city(2026, 11, 1, 16, 0), "water_leak", "5 Elm Street")
    assert service.send_handovers(city(2026, 11, 1, 15, 30)) == [city(2026, 11, 1, 15, 30)]

    change = utc(2026, 11, 1, 21)  # 16:00 EST
    assert service.send_handovers(change) == [change]
    mine = sent_at(service, change)
    # The contractor (no address) and sup.garcia, on duty, scoped to water.
    assert set(mine) == {CONTRACTOR, GARCIA, "ana.garcia@example.org"}
    assert mine[CONTRACTOR].body.startswith(
        "dutyline hand-over (Water Department), shift Sun 01 Nov 08:00–16:00: 2 tickets filed"
    )
    assert query_of(mine[CONTRACTOR].body)["since"] == ["2026-11-01T08:00-05:00"]
    email = mine["ana.garcia@example.org"].body
    assert filed_in(email) == water and roads not in email and later not in email


def test_the_retention_purge_reaches_the_handovers_messages(
    service: DispatchService, clock: ManualClock
) -> None:
    # The e-mail repeats places and masked numbers: it goes with every other copy.
    file_at(service, clock, city(2026, 11, 24, 22), "noise", "2 Elm Street")
    assert city(2026, 11, 25, 8) in service.send_handovers(city(2026, 11, 25, 8))
    assert any("2 Elm Street" in r.body for r in handover_rows(service.engine))
    later = city(2026, 11, 25, 8) + timedelta(days=service.settings.retention_days + 1)
    service.purge_expired(later)
    assert all("Elm Street" not in r.body for r in handover_rows(service.engine))


def test_a_restart_does_not_send_stale_handovers(service: DispatchService) -> None:
    # Wednesday 25 November 10:30: 06:00, 07:00, 08:00 and 09:00 are over an hour ago.
    assert service.send_handovers(city(2026, 11, 25, 10, 30)) == [city(2026, 11, 25, 10)]
    assert service.send_handovers(city(2026, 11, 25, 10, 31)) == []


def test_two_processes_send_each_handover_once(
    service: DispatchService, clock: ManualClock, migrated_url: str
) -> None:
    file_at(service, clock, city(2026, 11, 24, 22), "noise", "2 Elm Street")
    engines = [make_engine(migrated_url) for _ in range(2)]
    services = [
        DispatchService(engine, service.settings, sms=RecordingSms(), clock=clock)
        for engine in engines
    ]
    try:
        # Wednesday 06:00, 07:00 and 08:00: each change raced by both processes.
        for change in (city(2026, 11, 25, 6), city(2026, 11, 25, 7), city(2026, 11, 25, 8)):
            results = race(services, change + timedelta(seconds=5))
            assert sorted(results, key=len) == [[], [change]]
    finally:
        for engine in engines:
            engine.dispose()
    with Session(service.engine) as session:
        claims = session.exec(select(Handover).order_by(col(Handover.shift_change_at))).all()
    assert [c.shift_change_at for c in claims] == [
        city(2026, 11, 25, 6),
        city(2026, 11, 25, 7),
        city(2026, 11, 25, 8),
    ]
    rows = handover_rows(service.engine)
    texts = [r for r in rows if r.channel == "sms"]
    assert len(texts) == sum(c.recipients for c in claims) == 2 + 3 + 3
    # 06:00: sn.moreau and sup.walker (still on); each texted once.
    first_round = [
        r.to_number for r in texts if r.created_at == city(2026, 11, 25, 6) + timedelta(seconds=5)
    ]
    assert sorted(first_round) == sorted(["+15185550121", WALKER])


def race(services: list[DispatchService], now: datetime) -> list[list[datetime]]:
    """Every service runs the hand-over step at the same moment, each in its own thread."""
    barrier = threading.Barrier(len(services))
    results: list[list[datetime]] = []

    def run(one: DispatchService) -> None:
        barrier.wait()
        results.append(one.send_handovers(now))

    threads = [threading.Thread(target=run, args=(one,)) for one in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == len(services), "a hand-over step failed or hung"
    return results
