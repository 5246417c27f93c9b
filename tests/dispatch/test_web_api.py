"""The JSON API under /api: Bearer tokens, an officer's view limited to their
department, working tickets, and a call with its turns, latencies and ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from dispatch.contract import CallEnd, CallStart, ComplaintReport, TurnRecord
from dispatch.service import DispatchService
from tests.dispatch.conftest import ManualClock
from tests.dispatch.web_support import add_staff, bearer, build_app


@pytest.fixture
def client(service: DispatchService) -> TestClient:
    return TestClient(build_app(service))


@pytest.fixture
def tokens(service: DispatchService) -> dict[str, str]:
    engine = service.engine
    return {
        "parking": add_staff(engine, "web.parking", department="parking")[1],
        "roads": add_staff(engine, "web.roads", department="roads")[1],
        "supervisor": add_staff(engine, "web.sup", role="supervisor", department="triage")[1],
    }


def file(service: DispatchService, kind: str, location: str, **extra: object) -> str:
    report = ComplaintReport(kind=kind, location=location, **extra)
    return service.file_complaint(report).number


def test_anonymous_and_bad_tokens_get_401(client: TestClient, tokens: dict) -> None:
    for path in ("/api/tickets", "/api/tickets/2611210001", "/api/calls/CA1", "/api/me"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert client.get(path, headers=bearer("wrong")).status_code == 401
        assert client.get(path, headers={"Authorization": tokens["parking"]}).status_code == 401


def test_disabled_staff_lose_their_token(
    client: TestClient, service: DispatchService, tokens: dict
) -> None:
    from sqlmodel import Session, select

    from dispatch.models import Staff

    assert client.get("/api/me", headers=bearer(tokens["roads"])).json()["role"] == "officer"
    with Session(service.engine) as session:
        staff = session.exec(select(Staff).where(Staff.username == "web.roads")).one()
        staff.active = False
        session.add(staff)
        session.commit()
    assert client.get("/api/me", headers=bearer(tokens["roads"])).status_code == 401


def test_officers_see_only_their_department(
    client: TestClient, service: DispatchService, tokens: dict
) -> None:
    parking = file(service, "illegal_parking", "14 Elm Street", details={"vehicle": "red van"})
    pothole = file(service, "pothole", "Main Street and 5th Avenue")

    listed = client.get("/api/tickets", headers=bearer(tokens["parking"])).json()
    assert [t["number"] for t in listed] == [parking]
    # Asking for another department does not widen the view.
    listed = client.get(
        "/api/tickets", params={"department": "roads"}, headers=bearer(tokens["parking"])
    ).json()
    assert listed == []
    assert (
        client.get(f"/api/tickets/{pothole}", headers=bearer(tokens["parking"])).status_code == 404
    )
    assert (
        client.patch(
            f"/api/tickets/{pothole}", json={"acknowledge": True}, headers=bearer(tokens["parking"])
        ).status_code
        == 404
    )
    mine = client.get(f"/api/tickets/{parking}", headers=bearer(tokens["parking"])).json()
    assert mine["details"] == {"vehicle": "red van"}

    everything = client.get("/api/tickets", headers=bearer(tokens["supervisor"])).json()
    assert {t["number"] for t in everything} == {parking, pothole}
    roads = client.get(
        "/api/tickets", params={"department": "roads"}, headers=bearer(tokens["supervisor"])
    ).json()
    assert [t["number"] for t in roads] == [pothole]


def test_list_filters_and_newest_first(
    client: TestClient, service: DispatchService, clock: ManualClock, tokens: dict
) -> None:
    first = file(service, "pothole", "Main Street")
    clock.advance(minutes=5)
    second = file(service, "streetlight_out", "Oak Street and 2nd Avenue")
    clock.advance(minutes=5)
    third = file(service, "fallen_tree", "Maple Avenue")
    service.set_status(third, "closed", "fixed", None)
    token = bearer(tokens["roads"])
    numbers = [t["number"] for t in client.get("/api/tickets", headers=token).json()]
    assert numbers == [third, second, first]
    open_ = client.get("/api/tickets", params={"status": "open"}, headers=token).json()
    assert [t["number"] for t in open_] == [second, first]
    lights = client.get("/api/tickets", params={"kind": "streetlight_out"}, headers=token).json()
    assert [t["number"] for t in lights] == [second]
    since = (clock.now - timedelta(minutes=7)).isoformat()
    recent = client.get("/api/tickets", params={"created_from": since}, headers=token).json()
    assert [t["number"] for t in recent] == [third, second]
    found = client.get("/api/tickets", params={"q": "maple"}, headers=token).json()
    assert [t["number"] for t in found] == [third]
    assert (
        client.get("/api/tickets", params={"status": "pending"}, headers=token).status_code == 422
    )


def test_officer_acknowledges_notes_and_closes(
    client: TestClient, service: DispatchService, tokens: dict
) -> None:
    number = file(service, "illegal_parking", "14 Elm Street")
    token = bearer(tokens["parking"])
    acknowledged = client.patch(f"/api/tickets/{number}", json={"acknowledge": True}, headers=token)
    assert acknowledged.status_code == 200, acknowledged.text
    body = acknowledged.json()
    assert body["status"] == "acknowledged" and body["acknowledged_at"]
    assert body["assigned_name"]

    noted = client.patch(
        f"/api/tickets/{number}",
        json={"note": "Tow truck called", "status": "in_progress"},
        headers=token,
    ).json()
    assert noted["status"] == "in_progress"
    assert [n["body"] for n in noted["notes"]] == ["Tow truck called"]
    assert noted["notes"][0]["author"] == "Web.Parking"

    refused = client.patch(f"/api/tickets/{number}", json={"status": "closed"}, headers=token)
    assert refused.status_code == 422  # closing needs a reason
    closed = client.patch(
        f"/api/tickets/{number}",
        json={"status": "closed", "close_reason": "fixed"},
        headers=token,
    ).json()
    assert closed["status"] == "closed" and closed["open311_status"] == "closed"
    actions = [e["action"] for e in closed["events"]]
    assert actions.count("status") == 3 and "note_added" in actions
    assert {e["actor"] for e in closed["events"] if e["action"] == "status"} == {"web.parking"}

    assert client.patch(f"/api/tickets/{number}", json={}, headers=token).status_code == 422
    again = client.patch(f"/api/tickets/{number}", json={"acknowledge": True}, headers=token)
    assert again.status_code == 409


def test_staff_file_a_ticket_through_the_api(
    client: TestClient, service: DispatchService, tokens: dict
) -> None:
    response = client.post(
        "/api/tickets",
        json={
            "kind": "water_leak",
            "location": "Elm Street and 3rd Avenue",
            "details": {"flooding": "yes"},
        },
        headers=bearer(tokens["supervisor"]),
    )
    assert response.status_code == 201, response.text
    filed = response.json()
    assert filed["department_code"] == "water"
    ticket = service.get_ticket(filed["number"])
    assert ticket.channel == "api" and ticket.details == {"flooding": "yes"}
    unknown = client.post(
        "/api/tickets",
        json={"kind": "ufo", "location": "Main St"},
        headers=bearer(tokens["parking"]),
    )
    assert unknown.status_code == 422


def test_call_with_turns_latencies_and_ticket(
    client: TestClient, service: DispatchService, clock: ManualClock, tokens: dict
) -> None:
    sid = "CA" + "7" * 32
    service.open_call(CallStart(call_sid=sid, caller_number="+15185550777", started_at=clock.now))
    turns = [
        ("bot", "City night line. What would you like to report?", None, None, None, 900),
        (
            "caller",
            "there's a car blocking my driveway",
            0.91,
            "report_illegal_parking",
            0.97,
            None,
        ),
        ("bot", "Where is it?", None, None, None, 1300),
        ("caller", "fourteen elm street", 0.55, "inform", 0.62, None),
    ]
    for index, (speaker, text, asr, intent, conf, latency) in enumerate(turns):
        service.record_turn(
            TurnRecord(
                call_sid=sid,
                index=index,
                speaker=speaker,
                text=text,
                started_ms=index * 4000,
                ended_ms=index * 4000 + 2500,
                asr_confidence=asr,
                intent=intent,
                intent_confidence=conf,
                latency_ms=latency,
            )
        )
    number = file(service, "illegal_parking", "14 Elm Street", call_sid=sid)
    service.close_call(
        CallEnd(call_sid=sid, ended_at=clock.now + timedelta(seconds=42), outcome="ticket_filed")
    )

    response = client.get(f"/api/calls/{sid}", headers=bearer(tokens["supervisor"]))
    assert response.status_code == 200, response.text
    call = response.json()
    assert call["outcome"] == "ticket_filed"
    assert call["ticket_numbers"] == [number]
    assert call["duration_seconds"] == 42
    assert [t["speaker"] for t in call["turns"]] == ["bot", "caller", "bot", "caller"]
    assert call["turns"][1]["intent"] == "report_illegal_parking"
    assert call["turns"][3]["asr_confidence"] == 0.55
    assert call["latencies"]["count"] == 2 and call["latencies"]["median_ms"] == 1100
    listed = client.get("/api/calls", headers=bearer(tokens["supervisor"])).json()
    assert [c["call_sid"] for c in listed] == [sid]

    # Officers review tickets, not calls.
    assert client.get(f"/api/calls/{sid}", headers=bearer(tokens["parking"])).status_code == 403
    assert client.get("/api/calls", headers=bearer(tokens["parking"])).status_code == 403
    assert client.get("/api/calls/CAnope", headers=bearer(tokens["supervisor"])).status_code == 404
