"""The staff pages over HTTP: sign-in, roles, the inbox's actions, the recording
route, reports and admin; and the `user`/`apikey` commands."""

from __future__ import annotations

import re
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, delete, select
from typer.testing import CliRunner

from dispatch.auth import SESSION_COOKIE, token_hash
from dispatch.contract import CallEnd, CallStart, ComplaintReport, TurnRecord
from dispatch.models import ApiKey, DutyShift, Staff
from dispatch.service import DispatchService
from dispatch.throttle import SignInFailure
from tests.dispatch.conftest import ManualClock
from tests.dispatch.web_support import (
    PASSWORD,
    add_staff,
    bearer,
    build_app,
    csrf_token,
    post_signin,
)


@pytest.fixture
def app(service: DispatchService) -> FastAPI:
    # The module's database is shared by its tests; so would be their failed sign-ins.
    with Session(service.engine) as session:
        session.exec(delete(SignInFailure))
        session.commit()
    return build_app(service)


def browser(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=False)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    response = post_signin(client, username=username, password=password)
    assert response.status_code == 303, response.text
    assert SESSION_COOKIE in response.cookies


csrf = csrf_token


def file(service: DispatchService, kind: str, location: str, **extra: object) -> str:
    return service.file_complaint(ComplaintReport(kind=kind, location=location, **extra)).number


def make_call(service: DispatchService, clock: ManualClock, recording: Path | None) -> str:
    sid = "CA" + "5" * 32
    service.open_call(CallStart(call_sid=sid, caller_number="+15185550777", started_at=clock.now))
    service.record_turn(
        TurnRecord(call_sid=sid, index=0, speaker="bot", text="City night line.", started_ms=0)
    )
    service.record_turn(
        TurnRecord(
            call_sid=sid,
            index=1,
            speaker="caller",
            text="a dog is loose on main street",
            started_ms=2100,
            asr_confidence=0.42,
            intent="report_stray_animal",
            intent_confidence=0.93,
        )
    )
    file(service, "stray_animal", "Main Street", call_sid=sid)
    service.close_call(
        CallEnd(
            call_sid=sid,
            ended_at=clock.now + timedelta(seconds=30),
            outcome="transferred",
            recording_path=str(recording) if recording else None,
        )
    )
    return sid


def write_wav(path: Path, seconds: float = 1.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x10" * int(8000 * seconds))
    return path


# --- signing in ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/inbox", "/tickets/2611210001", "/calls", "/reports", "/admin"])
def test_anonymous_pages_redirect_to_sign_in(app: FastAPI, path: str) -> None:
    response = browser(app).get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?next={path}"


def test_anonymous_recording_is_401(
    app: FastAPI, service: DispatchService, clock: ManualClock
) -> None:
    sid = make_call(service, clock, write_wav(service.settings.recordings_dir / "a.wav"))
    assert browser(app).get(f"/calls/{sid}/recording.wav").status_code == 401


def test_sign_in_and_out(app: FastAPI, service: DispatchService) -> None:
    add_staff(service.engine, "web.parking", department="parking")
    client = browser(app)
    page = client.get("/signin?next=/inbox")
    assert page.status_code == 200 and 'name="password"' in page.text
    wrong = post_signin(client, username="web.parking", password="nope")
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    assert post_signin(client, username="ghost", password="x").status_code == 401

    done = post_signin(client, username="web.parking", password=PASSWORD, next="/tickets/1")
    assert done.headers["location"] == "/tickets/1"
    inbox = client.get("/inbox")
    assert inbox.status_code == 200 and "Inbox" in inbox.text

    out = client.post("/signout", data={"csrf_token": csrf(inbox.text)})
    assert out.status_code == 303
    assert client.get("/inbox").status_code == 303


def test_no_open_redirect_after_sign_in(app: FastAPI, service: DispatchService) -> None:
    add_staff(service.engine, "web.parking", department="parking")
    client = browser(app)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = post_signin(client, username="web.parking", password=PASSWORD, next=target)
        assert response.headers["location"] == "/inbox"


def test_forged_or_stale_cookies_are_refused(app: FastAPI, service: DispatchService) -> None:
    add_staff(service.engine, "web.parking", department="parking")
    client = browser(app)
    sign_in(client, "web.parking")
    cookie = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert client.get("/inbox").status_code == 303

    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get("/inbox").status_code == 200
    add_staff(service.engine, "web.parking", department="parking", password="a-new-password")
    assert client.get("/inbox").status_code == 303  # a password change signs everyone out


# --- the inbox -------------------------------------------------------------------------------


def test_officer_inbox_shows_own_department_only(app: FastAPI, service: DispatchService) -> None:
    add_staff(service.engine, "web.parking", department="parking")
    parking = file(service, "illegal_parking", "14 Elm Street", details={"vehicle": "red van"})
    pothole = file(service, "pothole", "Main Street and 5th Avenue")
    client = browser(app)
    sign_in(client, "web.parking")
    inbox = client.get("/inbox?department=roads").text
    assert parking in inbox and "red van" in inbox
    assert pothole not in inbox
    rows = client.get("/inbox/rows").text
    assert parking in rows and pothole not in rows and "<html" not in rows
    assert client.get(f"/tickets/{pothole}").status_code == 404
    assert client.get(f"/tickets/{parking}").status_code == 200
    token = csrf(inbox)
    refused = client.post(f"/tickets/{pothole}/acknowledge", data={"csrf_token": token})
    assert refused.status_code == 404
    assert service.get_ticket(pothole).status == "new"


def test_acknowledge_note_and_resolve_from_the_pages(
    app: FastAPI, service: DispatchService
) -> None:
    add_staff(service.engine, "web.parking", department="parking")
    number = file(service, "illegal_parking", "14 Elm Street")
    client = browser(app)
    sign_in(client, "web.parking")
    token = csrf(client.get("/inbox").text)

    forged = client.post(f"/tickets/{number}/acknowledge", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert service.get_ticket(number).status == "new"

    done = client.post(
        f"/tickets/{number}/acknowledge",
        data={"csrf_token": token},
        headers={"referer": "http://testserver/inbox?show=new&done=old+news"},
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/inbox?show=new&done=Ticket+")
    assert service.get_ticket(number).status == "acknowledged"

    client.post(f"/tickets/{number}/note", data={"csrf_token": token, "body": "Tow truck called"})
    no_reason = client.post(
        f"/tickets/{number}/status", data={"csrf_token": token, "status": "closed"}
    )
    assert "error=" in no_reason.headers["location"]
    assert service.get_ticket(number).status == "acknowledged"
    client.post(
        f"/tickets/{number}/status",
        data={"csrf_token": token, "status": "closed", "close_reason": "fixed"},
    )
    ticket = service.get_ticket(number)
    assert ticket.status == "closed" and ticket.close_reason == "fixed"
    assert [n.body for n in ticket.notes] == ["Tow truck called"]
    page = client.get(f"/tickets/{number}")
    assert "Tow truck called" in page.text and "Closed" in page.text
    assert page.headers["cache-control"] == "no-store"
    client.post(f"/tickets/{number}/status", data={"csrf_token": token, "status": "in_progress"})
    assert service.get_ticket(number).status == "in_progress"  # reopened


# --- calls and recordings ---------------------------------------------------------------------


def test_officers_never_get_calls_or_recordings(
    app: FastAPI,
    service: DispatchService,
    clock: ManualClock,
) -> None:
    sid = make_call(service, clock, write_wav(service.settings.recordings_dir / "a.wav"))
    _, token = add_staff(service.engine, "web.animals", department="animal_control")
    client = browser(app)
    sign_in(client, "web.animals")
    assert client.get("/calls").status_code == 403
    page = client.get("/calls", headers={"accept": "text/html,*/*"})
    assert page.status_code == 403 and "Not for your role" in page.text
    assert client.get(f"/calls/{sid}").status_code == 403
    assert client.get(f"/calls/{sid}/recording.wav").status_code == 403
    assert browser(app).get(f"/calls/{sid}/recording.wav", headers=bearer(token)).status_code == 403
    ticket_page = client.get(f"/tickets/{service.ticket_for_call(sid)}").text
    assert f"/calls/{sid}" not in ticket_page


def test_supervisor_reviews_a_call_and_its_recording(
    app: FastAPI,
    service: DispatchService,
    clock: ManualClock,
) -> None:
    wav = write_wav(service.settings.recordings_dir / "call.wav", seconds=2)
    sid = make_call(service, clock, wav)
    add_staff(service.engine, "web.sup", role="supervisor", department="triage")
    client = browser(app)
    sign_in(client, "web.sup")
    listing = client.get("/calls").text
    assert f"/calls/{sid}" in listing and "Transferred to a person" in listing
    assert sid not in client.get("/calls?outcome=ticket_filed").text
    assert f"/calls/{sid}" in client.get("/calls?kind=stray_animal&flagged=true").text
    clean = "CA" + "6" * 32
    service.open_call(CallStart(call_sid=clean, started_at=clock.now))
    service.record_turn(
        TurnRecord(call_sid=clean, index=0, speaker="caller", text="hi", asr_confidence=0.95)
    )
    service.close_call(CallEnd(call_sid=clean, ended_at=clock.now, outcome="status_check"))
    assert f"/calls/{clean}" in client.get("/calls").text
    assert f"/calls/{clean}" not in client.get("/calls?flagged=true").text
    assert f"/calls/{sid}" not in client.get("/calls?kind=pothole").text
    page = client.get(f"/calls/{sid}").text
    assert "a dog is loose on main street" in page
    assert "low speech confidence" in page and "Handed to a person" in page
    assert "report_stray_animal" in page and "93%" in page
    assert f'src="/calls/{sid}/recording.wav"' in page

    audio = client.get(f"/calls/{sid}/recording.wav")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content == wav.read_bytes()
    part = client.get(f"/calls/{sid}/recording.wav", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100


def test_recordings_outside_the_recordings_folder_are_not_served(
    app: FastAPI,
    service: DispatchService,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    elsewhere = write_wav(tmp_path / "elsewhere" / "x.wav")
    sid = make_call(service, clock, elsewhere)
    add_staff(service.engine, "web.sup", role="supervisor", department="triage")
    client = browser(app)
    sign_in(client, "web.sup")
    assert client.get(f"/calls/{sid}/recording.wav").status_code == 404
    assert "No recording for this call" in client.get(f"/calls/{sid}").text


# --- reports and admin ----------------------------------------------------------------------------


def test_reports_draw_charts_for_supervisors_only(
    app: FastAPI,
    service: DispatchService,
    clock: ManualClock,
) -> None:
    from datetime import UTC, datetime

    clock.now = datetime.now(UTC) - timedelta(hours=2)
    make_call(service, clock, None)
    add_staff(service.engine, "web.sup", role="supervisor", department="triage")
    add_staff(service.engine, "web.parking", department="parking")
    client = browser(app)
    sign_in(client, "web.sup")
    page = client.get("/reports").text
    assert page.count("<svg") == 3
    assert "Stray or dangerous animal" in page  # the call's kind in the legend/tooltips
    assert "0 of 1 calls" in page  # transferred: not handled without a person
    officer = browser(app)
    sign_in(officer, "web.parking")
    assert officer.get("/reports").status_code == 403


def test_admin_adds_staff_and_shifts(app: FastAPI, service: DispatchService) -> None:
    add_staff(service.engine, "web.admin", role="admin")
    add_staff(service.engine, "web.sup", role="supervisor", department="triage")
    client = browser(app)
    sign_in(client, "web.admin")
    page = client.get("/admin").text
    assert "Parking Enforcement" in page and "Duty roster" in page
    token = csrf(page)
    with Session(service.engine) as session:
        parking_id = session.exec(
            select(Staff.department_id).where(Staff.username == "pk.okafor")
        ).one()
    added = client.post(
        "/admin/staff",
        data={
            "csrf_token": token,
            "username": "pk.new",
            "full_name": "Nia New",
            "role": "officer",
            "department_id": str(parking_id),
            "password": "first-night-1",
        },
    )
    assert added.status_code == 200
    assert "<b>pk.new</b>" in added.text
    api_token = re.search(r"\(shown once\): ([A-Za-z0-9_-]+)", added.text).group(1)
    with Session(service.engine) as session:
        staff = session.exec(select(Staff).where(Staff.username == "pk.new")).one()
        assert staff.api_token_hash == token_hash(api_token)
    newcomer = browser(app)
    sign_in(newcomer, "pk.new", "first-night-1")

    shift = client.post(
        "/admin/shifts",
        data={
            "csrf_token": token,
            "staff_id": str(staff.id),
            "department_id": str(parking_id),
            "days": "sat,sun",
            "start": "22:00",
            "end": "06:00",
        },
    )
    assert "done=" in shift.headers["location"]
    with Session(service.engine) as session:
        row = session.exec(select(DutyShift).where(DutyShift.staff_id == staff.id)).one()
    assert (row.weekdays, row.source, row.start.hour, row.end.hour) == ("6,7", "manual", 22, 6)
    bad = client.post(
        "/admin/shifts",
        data={
            "csrf_token": token,
            "staff_id": str(staff.id),
            "department_id": str(parking_id),
            "days": "someday",
            "start": "22:00",
            "end": "06:00",
        },
    )
    assert "error=" in bad.headers["location"]

    supervisor = browser(app)
    sign_in(supervisor, "web.sup")
    assert supervisor.get("/admin").status_code == 403
    assert supervisor.post(
        "/admin/staff", data={"csrf_token": "x", "username": "evil"}
    ).status_code in (403, 422)


def test_admin_sets_and_clears_an_email_and_the_ticket_shows_it(
    app: FastAPI, service: DispatchService, clock: ManualClock
) -> None:
    add_staff(service.engine, "web.admin", role="admin")
    client = browser(app)
    sign_in(client, "web.admin")
    token = csrf(client.get("/admin").text)
    with Session(service.engine) as session:
        eva = session.exec(select(Staff).where(Staff.username == "pk.lindqvist")).one()
    form = {
        "csrf_token": token,
        "role": "officer",
        "department_id": str(eva.department_id),
        "phone": eva.phone or "",
        "active": "true",
    }

    def email_now() -> str | None:
        with Session(service.engine) as session:
            return session.get(Staff, eva.id).email

    saved = client.post(f"/admin/staff/{eva.id}", data={**form, "email": " eva@example.org "})
    assert "done=" in saved.headers["location"] and email_now() == "eva@example.org"
    assert 'value="eva@example.org"' in client.get("/admin").text
    bad = client.post(f"/admin/staff/{eva.id}", data={**form, "email": "eva at example"})
    assert "error=" in bad.headers["location"] and email_now() == "eva@example.org"
    client.post(f"/admin/staff/{eva.id}", data={**form, "email": ""})
    assert email_now() is None

    # Okafor's notice by e-mail, not sent (no mail server here): the page says to whom and why.
    clock.now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in the city
    number = file(service, "illegal_parking", "Lark Street", caller_number="+15185550777")
    service.deliver_outbox()
    add_staff(service.engine, "web.sup", role="supervisor", department="triage")
    supervisor = browser(app)
    sign_in(supervisor, "web.sup")
    page = supervisor.get(f"/tickets/{number}").text
    assert "chidi.okafor@example.org" in page and "DUTYLINE_SMTP_HOST" in page
    assert "+15185550111" in page  # the SMS row beside it


# --- the command line ----------------------------------------------------------------------------


def test_user_and_apikey_commands(
    service: DispatchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dispatch.cli import apikey_app, user_app
    from dutyline.settings import get_settings

    monkeypatch.setenv("DUTYLINE_DATABASE_URL", service.settings.database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(
            user_app,
            ["add", "rd.cli", "--name", "Cleo Cli", "--department", "roads"],
            input="long-enough-pw\nlong-enough-pw\n",
        )
        assert result.exit_code == 0, result.output
        token = result.output.strip().splitlines()[-1]
        with Session(service.engine) as session:
            staff = session.exec(select(Staff).where(Staff.username == "rd.cli")).one()
        assert staff.api_token_hash == token_hash(token) and token not in str(staff.model_dump())
        assert staff.password_hash.startswith("$argon2id$")

        client = TestClient(build_app(service))
        assert client.get("/api/me", headers=bearer(token)).json()["department_code"] == "roads"

        duplicate = runner.invoke(
            user_app,
            ["add", "rd.cli", "--name", "X", "--department", "roads", "--password", "x" * 9],
        )
        assert duplicate.exit_code == 1
        no_department = runner.invoke(
            user_app, ["add", "o.x", "--name", "X", "--password", "x" * 9]
        )
        assert no_department.exit_code == 1

        result = runner.invoke(apikey_app, ["add", "CitySourced"])
        assert result.exit_code == 0, result.output
        key = result.output.strip().splitlines()[-1]
        with Session(service.engine) as session:
            row = session.exec(select(ApiKey).where(ApiKey.name == "CitySourced")).one()
        assert row.key_hash == token_hash(key)
        form = {"api_key": key, "service_code": "pothole", "address_string": "Main Street"}
        assert client.post("/open311/v2/requests.json", data=form).status_code == 200
        assert runner.invoke(apikey_app, ["revoke", str(row.id)]).exit_code == 0
        assert client.post("/open311/v2/requests.json", data=form).status_code == 403
    finally:
        get_settings.cache_clear()


def test_charts_escape_labels_and_count_in_whole_numbers() -> None:
    from dispatch.pages.plots import bar_chart

    svg = bar_chart(["00", "01"], {"<script>": [1, 0], "Noise": [0, 1]}, title="t", counts=True)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ticks = re.findall(r'class="tick" text-anchor="end">([^<]+)<', svg)
    assert ticks == ["0", "1", "2", "3", "4"]


def test_password_guessing_is_throttled(
    app: FastAPI, service: DispatchService, clock: ManualClock
) -> None:
    add_staff(service.engine, "web.guessed", department="parking")
    client = browser(app)
    for _ in range(service.settings.signin_failures_per_user):
        wrong = post_signin(client, username="web.guessed", password="guess")
        assert wrong.status_code == 401
    right = post_signin(client, username="web.guessed", password=PASSWORD)
    assert right.status_code == 429 and "Too many wrong passwords" in right.text
    assert 0 < int(right.headers["retry-after"]) <= 15 * 60
    assert SESSION_COOKIE not in right.cookies
    clock.advance(minutes=service.settings.signin_window_minutes, seconds=1)
    sign_in(client, "web.guessed")  # the window has passed


def test_old_password_hashes_are_upgraded_at_sign_in(
    app: FastAPI, service: DispatchService
) -> None:
    from argon2 import PasswordHasher

    staff, _ = add_staff(service.engine, "web.legacy", department="parking")
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    with Session(service.engine) as session:
        row = session.get(Staff, staff.id)
        row.password_hash = weak
        session.add(row)
        session.commit()
    client = browser(app)
    sign_in(client, "web.legacy")
    with Session(service.engine) as session:
        upgraded = session.get(Staff, staff.id).password_hash
    assert upgraded != weak and "m=65536" in upgraded
    assert client.get("/inbox").status_code == 200  # the cookie matches the new hash
