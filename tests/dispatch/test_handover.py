"""The shift hand-over (issue 15, item 1): what it holds, as a summary, as JSON and as the
page, for the window dispatch/shift_changes.py gives each department (the messages at the
shift change: test_handover_sending.py). SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from dispatch.contract import CallEnd, CallStart, ComplaintReport, TurnRecord
from dispatch.service import DispatchService
from tests.dispatch.conftest import ManualClock
from tests.dispatch.handover_support import (
    CALLER,
    MASKED,
    city,
    department_id,
    file_at,
    numbers,
    staff_id,
    utc,
)
from tests.dispatch.web_support import add_staff, bearer, build_app, post_signin


def test_the_supervisors_morning_handover_holds_exactly_the_nights_tickets(
    service: DispatchService, clock: ManualClock
) -> None:
    # Tuesday 20:00 to Wednesday 08:00, across midnight and the 06:00 and 07:00 changes.
    before = file_at(service, clock, city(2026, 11, 24, 19, 59), "pothole", "1 Lark Street")
    first = file_at(service, clock, city(2026, 11, 24, 20, 0), "noise", "2 Elm Street")
    late = file_at(service, clock, city(2026, 11, 24, 23, 59), "noise", "3 Oak Street")
    midnight = file_at(service, clock, city(2026, 11, 25, 0, 0), "pothole", "4 Main Street")
    parked = file_at(service, clock, city(2026, 11, 25, 6, 30), "illegal_parking", "5 Pine St")
    last = file_at(service, clock, city(2026, 11, 25, 7, 59), "noise", "6 Ash Street")
    after = file_at(service, clock, city(2026, 11, 25, 8, 0), "noise", "7 Ash Street")
    service.acknowledge(late, staff_id=staff_id(service.engine, "ce.haddad"))
    clock.now = city(2026, 11, 25, 8, 10)

    window = service.handover_window()  # a supervisor's: the duty supervisors' last one
    summary = service.handover(window)
    assert (summary.since, summary.until) == (city(2026, 11, 24, 20), city(2026, 11, 25, 8))
    assert summary.since.isoformat() == "2026-11-24T20:00:00-05:00"  # the city's time
    assert numbers(summary.filed) == [first, late, midnight, parked, last]
    assert [(c.label, c.count) for c in summary.by_kind] == [
        ("Noise", 3),
        ("Illegal parking", 1),
        ("Pothole or road damage", 1),
    ]
    assert {c.code: c.count for c in summary.by_status} == {"new": 4, "acknowledged": 1}
    assert {c.code: c.count for c in summary.by_department} == {
        "code_enforcement": 3,
        "parking": 1,
        "roads": 1,
    }
    assert all(t.caller == MASKED for t in summary.filed)
    assert summary.departments == [] and summary.scope_name == ""  # the whole line
    # Waiting: every open, unacknowledged ticket filed before the hand-over, oldest first.
    assert numbers(summary.waiting) == [before, first, midnight, parked, last]
    assert after not in numbers(summary.waiting)

    # Scoped to departments: their tickets only.
    parking = department_id(service.engine, "parking")
    theirs = service.handover(window, departments={parking})
    assert numbers(theirs.filed) == [parked] and numbers(theirs.waiting) == [parked]
    assert [(d.code, d.name) for d in theirs.departments] == [("parking", "Parking Enforcement")]
    roads = department_id(service.engine, "roads")
    both = service.handover(window, departments={parking, roads})
    assert numbers(both.filed) == [midnight, parked]
    assert both.scope_name == "Parking Enforcement, Roads and Streetlights"


def test_waiting_holds_old_and_escalated_tickets_oldest_first(
    service: DispatchService, clock: ManualClock
) -> None:
    old = file_at(service, clock, city(2026, 11, 17, 10), "pothole", "9 Lark Street")
    escalated = file_at(service, clock, city(2026, 11, 24, 21), "noise", "10 Elm Street")
    service.run_escalations(city(2026, 11, 24, 21, 20))  # not acknowledged in 15 min
    service.acknowledge(escalated, staff_id=staff_id(service.engine, "sup.walker"))
    closed = file_at(service, clock, city(2026, 11, 24, 22), "noise", "11 Oak Street")
    service.set_status(closed, "closed", "fixed", None)
    seen = file_at(service, clock, city(2026, 11, 24, 23), "pothole", "12 Main Street")
    service.acknowledge(seen, staff_id=staff_id(service.engine, "rd.tanaka"))
    fresh = file_at(service, clock, city(2026, 11, 25, 7, 55), "pothole", "13 Pine Street")
    clock.now = city(2026, 11, 25, 8, 5)

    summary = service.handover(service.handover_window())
    assert numbers(summary.waiting) == [old, escalated, fresh]
    by_number = {t.number: t for t in summary.waiting}
    # The week-old one was escalated by the same round; the night's one was seen since.
    assert [by_number[n].escalations for n in (old, escalated, fresh)] == [1, 1, 0]
    assert by_number[escalated].last_escalated_at == city(2026, 11, 24, 21, 20)
    assert [by_number[n].status for n in (old, escalated, fresh)] == ["new", "acknowledged", "new"]
    totals = (summary.waiting_total, summary.unacknowledged_total, summary.escalated_total)
    assert totals == (3, 2, 2)


def _call(
    service: DispatchService, sid: str, at: datetime, outcome: str, *, unsure: bool = False
) -> str:
    service.open_call(CallStart(call_sid=sid, caller_number=CALLER, started_at=at))
    if unsure:
        service.record_turn(
            TurnRecord(call_sid=sid, index=0, speaker="caller", text="uh", asr_confidence=0.3)
        )
    service.close_call(CallEnd(call_sid=sid, ended_at=at + timedelta(minutes=2), outcome=outcome))
    return sid


def test_calls_for_review_voicemails_referrals_and_transfers(
    service: DispatchService, clock: ManualClock
) -> None:
    night = city(2026, 11, 24, 21)
    clock.now = night
    voicemail = _call(service, "CA" + "v" * 32, night, "voicemail")
    service.file_complaint(
        ComplaintReport(
            description="Voicemail: the bins were not collected",
            call_sid=voicemail,
            needs_triage=True,
            triage_reason="voicemail: the transfer to a person was not answered (no-answer)",
        )
    )
    emergency = _call(service, "CA" + "e" * 32, night + timedelta(minutes=5), "emergency_referred")
    transfer = _call(service, "CA" + "t" * 32, night + timedelta(minutes=10), "transferred")
    failed = _call(service, "CA" + "f" * 32, night + timedelta(minutes=15), "failed")
    unsure = _call(
        service, "CA" + "u" * 32, night + timedelta(minutes=20), "abandoned", unsure=True
    )
    _call(service, "CA" + "o" * 32, night + timedelta(minutes=25), "status_check")  # nothing to say
    full = _call(service, "CA" + "r" * 32, night + timedelta(minutes=30), "refused_at_capacity")
    _call(service, "CA" + "x" * 32, city(2026, 11, 25, 8), "emergency_referred")  # the next one
    clock.now = city(2026, 11, 25, 8, 1)

    summary = service.handover(service.handover_window())
    assert [c.call_sid for c in summary.voicemails] == [voicemail]
    assert [c.call_sid for c in summary.emergency_referrals] == [emergency]
    assert [c.call_sid for c in summary.transfers] == [transfer]
    assert [c.call_sid for c in summary.review] == [failed, unsure, full]
    assert summary.review[0].reasons == ["a component failed during the call"]
    assert summary.review[1].reasons == ["1 caller turn(s) heard with low confidence"]
    assert summary.review[2].reasons == [
        "the line was full: the caller was given the emergency number only"
    ]
    assert summary.voicemails[0].caller == MASKED
    assert len(summary.voicemails[0].ticket_numbers) == 1
    # The voicemail went to triage: a parking officer's hand-over has none of these calls.
    parking = service.handover(
        service.handover_window(), departments={department_id(service.engine, "parking")}
    )
    assert parking.voicemails == parking.review == parking.emergency_referrals == []


# --- the JSON and the page ------------------------------------------------------------------


@pytest.fixture
def client(service: DispatchService) -> TestClient:
    return TestClient(build_app(service))


def test_the_json_holds_the_spring_forward_night_and_the_parking_weekend(
    service: DispatchService, clock: ManualClock, client: TestClient
) -> None:
    _, token = add_staff(service.engine, "web.sup", role="supervisor", department="triage")
    _, parking_token = add_staff(service.engine, "web.parking", department="parking")
    # Saturday 7 March 20:00 EST to Sunday 8 March 08:00 EDT: 11 hours, one skipped.
    file_at(service, clock, city(2026, 3, 7, 19, 59), "noise", "1 Elm Street")
    night = [
        file_at(service, clock, city(2026, 3, 7, 20, 0), "noise", "2 Elm Street"),
        file_at(service, clock, city(2026, 3, 8, 1, 59), "pothole", "3 Lark Street"),
        file_at(service, clock, utc(2026, 3, 8, 7, 0), "illegal_parking", "4 Pine Street"),
        file_at(service, clock, city(2026, 3, 8, 7, 59), None, "somewhere"),
    ]
    file_at(service, clock, city(2026, 3, 8, 8, 0), "noise", "5 Oak Street")
    clock.now = city(2026, 3, 8, 8, 10)

    body = client.get("/api/handover", headers=bearer(token)).json()
    assert (body["since"], body["until"]) == (
        "2026-03-07T20:00:00-05:00",
        "2026-03-08T08:00:00-04:00",
    )
    assert [t["number"] for t in body["filed"]] == night
    assert body["filed"][2]["created_at"] == "2026-03-08T03:00:00-04:00"
    assert body["filed"][3]["needs_triage"] is True and body["departments"] == []
    same = client.get(
        "/api/handover",
        params={"since": "2026-03-07T20:00", "until": "2026-03-08T08:00"},
        headers=bearer(token),
    ).json()
    assert same == body
    narrowed = client.get(
        "/api/handover", params={"departments": "parking,roads"}, headers=bearer(token)
    ).json()
    assert [t["number"] for t in narrowed["filed"]] == night[1:3]
    assert [d["code"] for d in narrowed["departments"]] == ["parking", "roads"]

    # Monday 07:10: a parking officer's default is the weekend since Saturday 23:00.
    clock.now = city(2026, 3, 9, 7, 10)
    officer = client.get("/api/handover", headers=bearer(parking_token)).json()
    assert (officer["since"], officer["until"]) == (
        "2026-03-07T23:00:00-05:00",
        "2026-03-09T07:00:00-04:00",
    )
    assert [t["number"] for t in officer["filed"]] == [night[2]]
    assert [d["code"] for d in officer["departments"]] == ["parking"]
    # An officer cannot widen theirs by naming other departments.
    widened = client.get(
        "/api/handover", params={"departments": "roads"}, headers=bearer(parking_token)
    ).json()
    assert widened == officer

    assert client.get("/api/handover").status_code == 401
    for params, message in (
        ({"since": "yesterday"}, "since: 'yesterday' is not a date and time"),
        ({"until": "2026-13-01T00:00"}, "until: '2026-13-01T00:00' is not a date and time"),
        ({"since": "2026-03-08T08:00", "until": "2026-03-08T08:00"}, "since must be before until"),
        ({"since": "2026-03-08T09:00", "until": "2026-03-08T08:00"}, "since must be before until"),
        ({"departments": "parking,bridges"}, "there is no department 'bridges'"),
    ):
        response = client.get("/api/handover", params=params, headers=bearer(token))
        assert response.status_code == 422, params
        assert message in response.json()["detail"]


def test_the_page_shows_the_night_and_steps_through_the_departments_changes(
    service: DispatchService, clock: ManualClock, client: TestClient
) -> None:
    add_staff(service.engine, "web.sup", role="supervisor", department="triage")
    add_staff(service.engine, "web.parking", department="parking")
    before = file_at(service, clock, city(2026, 11, 24, 19, 59), "noise", "1 Elm Street")
    inside = file_at(service, clock, city(2026, 11, 24, 23, 30), "pothole", "2 Lark Street")
    parked = file_at(service, clock, city(2026, 11, 25, 6, 50), "illegal_parking", "3 Pine St")
    clock.now = city(2026, 11, 25, 8, 10)

    assert client.get("/handover", follow_redirects=False).status_code == 303  # sign in first
    assert post_signin(client, username="web.sup", password="night-shift-2026").status_code in (
        200,
        303,
    )
    page = client.get("/handover")
    assert page.status_code == 200
    html = page.text
    assert re.findall(r'id="filed-(\d+)"', html) == [inside, parked]
    assert re.findall(r'id="waiting-(\d+)"', html) == [before, inside, parked]
    assert "Tue 24 Nov 20:00" in html and "Wed 25 Nov 08:00" in html
    assert 'href="/handover"' in html  # the navigation's link
    # The supervisors' hand-overs before this one, and the day shift so far; no 06:00 or 07:00.
    previous = "/handover?since=2026-11-24T08:00-05:00&amp;until=2026-11-24T20:00-05:00"
    current = "/handover?since=2026-11-25T08:00-05:00&amp;until=2026-11-25T08:10-05:00"
    assert f'href="{previous}"' in html and f'href="{current}"' in html
    assert "Next shift" not in html
    assert MASKED in html and CALLER not in html
    earlier = client.get(previous.replace("&amp;", "&"))
    assert re.findall(r'id="filed-(\d+)"', earlier.text) == [before]
    assert "until=2026-11-25T08:00-05:00" in earlier.text  # its next is the night
    narrowed = client.get("/handover", params={"departments": "parking"})
    assert re.findall(r'id="filed-(\d+)"', narrowed.text) == [parked]
    assert "Hand-over · Parking Enforcement" in narrowed.text
    assert 'name="departments" value="parking"' in narrowed.text

    refused = client.get("/handover?since=soon", headers={"Accept": "text/html"})
    assert refused.status_code == 422
    assert "since: &#39;soon&#39; is not a date and time" in refused.text

    # A parking officer's page: parking's last hand-over (Tuesday 23:00 to 07:00).
    officer = TestClient(build_app(service))
    post_signin(officer, username="web.parking", password="night-shift-2026")
    theirs = officer.get("/handover").text
    assert re.findall(r'id="filed-(\d+)"', theirs) == [parked]
    assert "Tue 24 Nov 23:00" in theirs and "Wed 25 Nov 07:00" in theirs
    assert "since=2026-11-24T07:00-05:00&amp;until=2026-11-24T15:00-05:00" in theirs
