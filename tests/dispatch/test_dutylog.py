"""The duty log: a day's calls and tickets, from local midnight to local midnight (23 or
25 hours on DST days), exported by `dutyline dutylog` and the staff web as CSV and XLSX
and read back with the standard readers (csv, openpyxl)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, delete
from typer.testing import CliRunner

from dispatch.contract import CallEnd, CallStart, ComplaintReport, PlaceCandidate, PlaceKind
from dispatch.db import session_scope
from dispatch.dutylog import COLUMNS, build_duty_log, day_bounds, yesterday
from dispatch.dutylog_files import csv_bytes, xlsx_bytes
from dispatch.service import DispatchService
from dispatch.throttle import SignInFailure
from dutyline.cli import app
from dutyline.settings import ROOT
from tests.dispatch.conftest import CITY, ManualClock, city_time

# The Chromium and live-server fixtures of the browser tests, used here as they are.
from tests.dispatch.test_web_browser import browser, site  # noqa: F401
from tests.dispatch.test_web_browser import sign_in as browser_sign_in
from tests.dispatch.web_support import add_staff, build_app, post_signin

DAY = date(2026, 12, 7)  # a Monday in winter (EST, UTC-5)
HEADERS = [column.header for column in COLUMNS]
CITY_HALL = PlaceCandidate(
    label="City Hall",
    kind=PlaceKind.LANDMARK,
    street="12th Street",
    lat=42.6575171,
    long=-73.7533595,
    confidence=1.0,
)
NOISE = ComplaintReport(
    kind="noise", location="outside City Hall", place=CITY_HALL, place_verified=True
)
ALICE, BOB, CAROL = "+15185550987", "+15185550123", "+442079460958"


def dec(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """An instant of December 2026 in the city's wall-clock time."""
    return city_time(2026, 12, day, hour, minute) + timedelta(seconds=second)


def sid(n: int) -> str:
    return f"CA{n:032d}"


def phone_call(
    service: DispatchService,
    clock: ManualClock,
    started: datetime,
    call_sid: str,
    caller: str | None,
    outcome: str,
    *reports: ComplaintReport,
    seconds: int = 90,
) -> list[str]:
    """A call as voice/ reports it: opened, its tickets filed 30 s apart, closed."""
    clock.now = started.astimezone(UTC)
    service.open_call(CallStart(call_sid=call_sid, caller_number=caller, started_at=clock.now))
    numbers = []
    for report in reports:
        clock.advance(seconds=30)
        update = {"call_sid": call_sid, "caller_number": caller}
        numbers.append(service.file_complaint(report.model_copy(update=update)).number)
    service.close_call(
        CallEnd(call_sid=call_sid, ended_at=started + timedelta(seconds=seconds), outcome=outcome)
    )
    return numbers


def open311(service: DispatchService, clock: ManualClock, at: datetime, **values: object) -> str:
    clock.now = at.astimezone(UTC)
    # Coordinates of its own: the report is filed as sent, without a place look-up.
    report = ComplaintReport(channel="open311", lat=42.65, long=-73.75, **values)
    return service.file_complaint(report).number


def row(**cells: str) -> dict[str, str]:
    """A CSV row: the named cells (by header), every other cell empty."""
    return {header: cells.get(header, "") for header in HEADERS}


def build_day(service: DispatchService, clock: ManualClock) -> list[dict[str, str]]:
    """Calls and tickets around DAY; the rows its log must hold, as the CSV shows them."""
    engine = service.engine
    kim, _ = add_staff(engine, "sup.kim", role="supervisor", full_name="김민준")

    # Before the day: a call at 23:59:40 whose ticket is filed after midnight belongs to
    # the day the call came in; an Open311 report ten minutes before midnight.
    before = ComplaintReport(kind="noise", location="Birch Lane")
    phone_call(service, clock, dec(6, 23, 59, 40), sid(1), ALICE, "ticket_filed", before)
    open311(service, clock, dec(6, 23, 50), kind="illegal_dumping", location="Cedar Road")

    phone_call(service, clock, dec(7, 0, 0), sid(2), None, "abandoned", seconds=20)
    pothole_report = ComplaintReport(kind="pothole", location="12 Oak St", place_verified=False)
    [pothole] = phone_call(
        service, clock, dec(7, 2, 10), sid(3), ALICE, "ticket_filed", pothole_report
    )
    clock.now = dec(7, 2, 20).astimezone(UTC)
    service.acknowledge(pothole, kim.id)
    clock.now = dec(7, 3, 0).astimezone(UTC)
    service.set_status(pothole, "closed", "fixed", kim.id)
    phone_call(service, clock, dec(7, 3, 15), sid(4), ALICE, "status_check")
    light_report = ComplaintReport(kind="streetlight_out", location="Elm Street")
    noise, light = phone_call(
        service,
        clock,
        dec(7, 4, 0),
        sid(5),
        CAROL,
        "ticket_filed",
        NOISE,
        light_report,
        seconds=150,
    )
    [again] = phone_call(service, clock, dec(7, 4, 30), sid(6), BOB, "ticket_filed", NOISE)
    dumping = open311(service, clock, dec(7, 9, 0), kind="illegal_dumping", location="Maple Ave")
    phone_call(service, clock, dec(7, 13, 0), sid(7), BOB, "emergency_referred")
    leak_report = ComplaintReport(kind="water_leak", location="Pine Street")
    [leak] = phone_call(
        service, clock, dec(7, 23, 59, 30), sid(8), CAROL, "ticket_filed", leak_report
    )

    # After the day: a call at the next midnight and an Open311 report five minutes later.
    after = ComplaintReport(kind="fallen_tree", location="Ash Court")
    phone_call(service, clock, dec(8, 0, 0), sid(9), BOB, "ticket_filed", after)
    open311(service, clock, dec(8, 0, 5), kind="pothole", location="Fir Street")

    alice, bob, carol = "+1518•••••87", "+1518•••••23", "+4420••••••58"
    noise_call = {"Channel": "Phone", "Caller": carol, "Call ended": "2026-12-07 04:02",
                  "Call outcome": "Ticket filed", "Call reference": sid(5)}  # fmt: skip
    return [
        row(Received="2026-12-07 00:00", Channel="Phone", Caller="unknown",
            **{"Call ended": "2026-12-07 00:00", "Call outcome": "Hung up",
               "Call reference": sid(2)}),
        row(Received="2026-12-07 02:10", Channel="Phone", Caller=alice, Ticket=pothole,
            Filed="2026-12-07 02:10", Kind="Pothole or road damage",
            Department="Roads and Streetlights", Place="12 Oak St (unverified)",
            Status="Closed: Fixed", Closed="2026-12-07 03:00", Acknowledged="2026-12-07 02:20",
            **{"Call ended": "2026-12-07 02:11", "Call outcome": "Ticket filed",
               "Acknowledged by": "김민준", "Call reference": sid(3)}),
        row(Received="2026-12-07 03:15", Channel="Phone", Caller=alice,
            **{"Call ended": "2026-12-07 03:16", "Call outcome": "Status check",
               "Call reference": sid(4)}),
        row(Received="2026-12-07 04:00", Ticket=noise, Filed="2026-12-07 04:00", Kind="Noise",
            Department="Code Enforcement (noise)", Place="City Hall", Status="Received",
            **noise_call),
        row(Received="2026-12-07 04:00", Ticket=light, Filed="2026-12-07 04:01",
            Kind="Streetlight out", Department="Roads and Streetlights",
            Place="Elm Street (unverified)", Status="Received", **noise_call),
        row(Received="2026-12-07 04:30", Channel="Phone", Caller=bob, Ticket=again,
            Filed="2026-12-07 04:30", Kind="Noise", Department="Code Enforcement (noise)",
            Place="City Hall", Status=f"Added to an earlier report: {noise}",
            **{"Call ended": "2026-12-07 04:31", "Call outcome": "Ticket filed",
               "Call reference": sid(6)}),
        row(Received="2026-12-07 09:00", Channel="Open311", Ticket=dumping,
            Filed="2026-12-07 09:00", Kind="Illegal dumping", Department="Sanitation",
            Place="Maple Ave", Status="Received"),
        row(Received="2026-12-07 13:00", Channel="Phone", Caller=bob,
            **{"Call ended": "2026-12-07 13:01", "Call outcome": "Sent to emergency number",
               "Call reference": sid(7)}),
        row(Received="2026-12-07 23:59", Channel="Phone", Caller=carol, Ticket=leak,
            Filed="2026-12-08 00:00", Kind="Water leak or main break",
            Department="Water Department", Place="Pine Street (unverified)", Status="Received",
            **{"Call ended": "2026-12-08 00:01", "Call outcome": "Ticket filed",
               "Call reference": sid(8)}),
    ]  # fmt: skip


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no byte-order mark: Excel would garble names"
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == HEADERS
    return list(reader)


def read_xlsx(data: bytes, day: date) -> list[dict[str, str]]:
    """The workbook's rows as the CSV shows them, after checking what makes it a sheet."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book[f"Duty log {day:%Y-%m-%d}"]
    assert book.sheetnames == [sheet.title]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.column_dimensions["J"].width > sheet.column_dimensions["B"].width  # Place
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == HEADERS
    rows = []
    for line in values[1:]:
        cells = {}
        for header, value in zip(HEADERS, line, strict=True):
            if header in ("Received", "Call ended", "Filed", "Acknowledged", "Closed"):
                # Real Excel date-times (not text), in the city's wall-clock time.
                assert value is None or isinstance(value, datetime), (header, value)
            cells[header] = value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else (
                "" if value is None else str(value)
            )  # fmt: skip
        rows.append(cells)
    return rows


def test_a_days_log_holds_its_calls_and_tickets_and_nothing_else(service, clock) -> None:
    expected = build_day(service, clock)
    with session_scope(service.engine) as session:
        log = build_duty_log(session=session, day=DAY, timezone="America/New_York")
    assert log.hours == 24
    assert log.start == city_time(2026, 12, 7, 0).astimezone(UTC)
    assert read_csv(csv_bytes(log)) == expected
    assert read_xlsx(xlsx_bytes(log), DAY) == expected
    # The day before holds the call that came in at 23:59:40, with its ticket.
    with session_scope(service.engine) as session:
        before = build_duty_log(session=session, day=DAY - timedelta(days=1), timezone=log.timezone)
    assert [(r.call_reference, r.kind) for r in before.rows if r.channel == "Phone"] == [
        (sid(1), "Noise")
    ]


def cli_env(service: DispatchService, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DUTYLINE_ENVIRONMENT": "test",
        "DUTYLINE_DATABASE_URL": service.settings.database_url,
        "DUTYLINE_TIMEZONE": "America/New_York",
        "DUTYLINE_DATA_DIR": str(ROOT / "data"),
        "DUTYLINE_RECORDINGS_DIR": str(tmp_path / "recordings"),
        "DUTYLINE_SPOOL_DIR": str(tmp_path / "spool"),
    }


def dutyline(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "dutyline"), "dutylog", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        timeout=120,
    )


def test_the_command_writes_csv_and_xlsx_the_standard_readers_open(
    service, clock, tmp_path: Path
) -> None:
    expected = build_day(service, clock)
    env = cli_env(service, tmp_path)

    done = dutyline(env, tmp_path, "--date", "2026-12-07", "--format", "csv", "--output", "n.csv")
    assert done.returncode == 0, done.stderr.decode()
    assert b"9 row(s) written to n.csv" in done.stdout
    assert read_csv((tmp_path / "n.csv").read_bytes()) == expected

    done = dutyline(env, tmp_path, "--date", "2026-12-07", "--format", "xlsx")
    assert done.returncode == 0, done.stderr.decode()
    assert read_xlsx((tmp_path / "dutylog-2026-12-07.xlsx").read_bytes(), DAY) == expected

    done = dutyline(env, tmp_path, "--date", "2026-12-07", "--output", "-")
    assert done.returncode == 0, done.stderr.decode()
    assert not done.stdout.startswith(b"\xef\xbb\xbf")  # for scripts, no byte-order mark
    assert list(csv.DictReader(io.StringIO(done.stdout.decode(), newline=""))) == expected


def test_the_command_refuses_bad_input_and_defaults_to_yesterday(
    service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in cli_env(service, tmp_path).items():
        if key.startswith("DUTYLINE_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args in (["--date", "2026-13-01"], ["--date", "07.12.2026"], ["--format", "pdf"]):
        result = runner.invoke(app, ["dutylog", *args])
        assert result.exit_code == 2, (args, result.output)
    assert (
        "Not a date: '2026-13-01'" in runner.invoke(app, ["dutylog", "--date", "2026-13-01"]).output
    )
    result = runner.invoke(app, ["dutylog", "--format", "xlsx", "--output", "-"])
    assert result.exit_code == 2 and "needs a file name" in result.output
    assert list(tmp_path.glob("dutylog-*")) == []  # nothing written on a refusal

    before = yesterday("America/New_York")
    result = runner.invoke(app, ["dutylog"])
    after = yesterday("America/New_York")
    assert result.exit_code == 0, result.output
    [written] = tmp_path.glob("dutylog-*.csv")
    assert written.name in {f"dutylog-{before}.csv", f"dutylog-{after}.csv"}
    assert read_csv(written.read_bytes()) == []  # the test's calls are all in 2026


def test_a_fall_back_day_has_25_hours_and_a_spring_day_23(service, clock) -> None:
    kim, _ = add_staff(service.engine, "sup.kim", role="supervisor", full_name="Kim Park")
    utc = [datetime(2026, 11, 1, 3, 59, tzinfo=UTC)]  # 2026-10-31 23:59 EDT: the day before
    utc += [datetime(2026, 11, 1, h, m, tzinfo=UTC) for h, m in [(4, 0), (5, 30), (6, 30)]]
    utc += [datetime(2026, 11, 2, 4, 59, tzinfo=UTC), datetime(2026, 11, 2, 5, 0, tzinfo=UTC)]
    for n, at in enumerate(utc):
        phone_call(service, clock, at, sid(n), BOB, "abandoned", seconds=10)
    # A ticket filed in the second 01:30 (EST), acknowledged half an hour later.
    [ticket] = phone_call(
        service,
        clock,
        datetime(2026, 11, 1, 6, 35, tzinfo=UTC),
        sid(10),
        ALICE,
        "ticket_filed",
        ComplaintReport(kind="pothole", location="Oak"),
    )
    clock.now = datetime(2026, 11, 1, 7, 5, tzinfo=UTC)  # 02:05 EST
    service.acknowledge(ticket, kim.id)

    with session_scope(service.engine) as session:
        log = build_duty_log(session=session, day=date(2026, 11, 1), timezone="America/New_York")
    assert log.hours == 25
    ticket_call = datetime(2026, 11, 1, 6, 35, tzinfo=UTC)
    assert [r.received_at for r in log.rows] == [*utc[1:4], ticket_call, utc[4]]
    rows = read_csv(csv_bytes(log))
    assert [r["Received"] for r in rows] == [
        "2026-11-01 00:00", "2026-11-01 01:30", "2026-11-01 01:30", "2026-11-01 01:35",
        "2026-11-01 23:59",
    ]  # fmt: skip
    assert rows[3]["Ticket"] == ticket and rows[3]["Acknowledged by"] == "Kim Park"
    assert rows[3]["Acknowledged"] == "2026-11-01 02:05"
    assert read_xlsx(xlsx_bytes(log), date(2026, 11, 1)) == rows

    start, end = day_bounds(date(2026, 3, 8), "America/New_York")  # clocks go forward
    assert (start, end - start) == (datetime(2026, 3, 8, 5, 0, tzinfo=UTC), timedelta(hours=23))


# --- the web --------------------------------------------------------------------------------


@pytest.fixture
def client(service: DispatchService) -> TestClient:
    with Session(service.engine) as session:
        session.exec(delete(SignInFailure))
        session.commit()
    return TestClient(build_app(service), follow_redirects=False)


def sign_in(client: TestClient, username: str) -> None:
    assert post_signin(client, username=username, password="night-shift-2026").status_code == 303


def test_supervisors_download_the_log_from_the_reports_page(service, clock, client) -> None:
    expected = build_day(service, clock)
    add_staff(service.engine, "sup.lee", role="supervisor")
    add_staff(service.engine, "officer.ray", role="officer", department="roads")

    assert client.get("/dutylog.csv?date=2026-12-07").status_code == 303  # sign in first
    sign_in(client, "officer.ray")
    for path in ("/dutylog.csv?date=2026-12-07", "/dutylog.xlsx?date=2026-12-07"):
        assert client.get(path).status_code == 403
    client.cookies.clear()

    sign_in(client, "sup.lee")
    page = client.get("/reports")
    assert page.status_code == 200
    assert 'action="/dutylog.csv"' in page.text and 'formaction="/dutylog.xlsx"' in page.text
    assert f'value="{yesterday("America/New_York")}"' in page.text

    response = client.get("/dutylog.csv", params={"date": "2026-12-07"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"] == 'attachment; filename="dutylog-2026-12-07.csv"'
    )
    assert response.headers["cache-control"] == "no-store"
    assert read_csv(response.content) == expected

    response = client.get("/dutylog.xlsx", params={"date": "2026-12-07"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert (
        response.headers["content-disposition"] == 'attachment; filename="dutylog-2026-12-07.xlsx"'
    )
    assert read_xlsx(response.content, DAY) == expected

    bad = client.get("/dutylog.csv?date=7.12.2026")
    assert bad.status_code == 400 and "Not a date" in bad.text
    yesterdays = client.get("/dutylog.csv")
    assert yesterdays.status_code == 200
    assert (
        f"dutylog-{yesterday('America/New_York')}.csv" in yesterdays.headers["content-disposition"]
    )


def test_the_reports_page_downloads_both_files_in_a_browser(site, browser, tmp_path) -> None:  # noqa: F811
    """The form's two buttons in Chromium: the page's policy lets them submit, and the
    browser saves what the server sent under the server's file name."""
    service = site.service
    add_staff(service.engine, "sup.lee", role="supervisor", full_name="Lee Moss")
    today = datetime.now(UTC).astimezone(CITY).date()
    number = service.file_complaint(
        ComplaintReport(channel="open311", kind="pothole", location="Oak", lat=42.6, long=-73.7)
    ).number
    page = browser.new_page()
    browser_sign_in(page, site, "sup.lee")
    page.goto(f"{site.url}/reports#dutylog")
    page.fill("input[name=date]", today.isoformat())
    for button, suffix in (("Download CSV", "csv"), ("Download spreadsheet (XLSX)", "xlsx")):
        with page.expect_download() as download:
            page.click(f"button:has-text('{button}')")
        assert download.value.suggested_filename == f"dutylog-{today}.{suffix}"
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        rows = (
            read_csv(saved.read_bytes())
            if suffix == "csv"
            else read_xlsx(saved.read_bytes(), today)
        )
        assert [(r["Ticket"], r["Channel"]) for r in rows] == [(number, "Open311")]
    page.close()
