"""The staff pages in a real browser (Debian's Chromium driven by Playwright) against
a real uvicorn server: signing in, acknowledging in the inbox, a new ticket
appearing by itself, and a call's recording playing on the call page.

Screenshots go to /tmp/dutyline-*.png for a person to look at.
"""

from __future__ import annotations

import math
import shutil
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from dispatch.contract import CallEnd, CallStart, ComplaintReport, TurnRecord
from dispatch.db import make_engine
from dispatch.service import DispatchService
from dutyline.settings import Settings
from tests.conftest import free_port, serve_app
from tests.dispatch.conftest import RecordingSms
from tests.dispatch.web_support import PASSWORD, add_staff, build_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path("/tmp")


@dataclass
class Site:
    url: str
    service: DispatchService


@pytest.fixture
def site(migrated_settings: Settings) -> Iterator[Site]:
    port = free_port()
    settings = migrated_settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    engine = make_engine(settings.database_url)
    service = DispatchService(engine, settings, sms=RecordingSms())
    server = serve_app(build_app(service), port)
    with server.running():
        yield Site(f"http://127.0.0.1:{port}", service)
    engine.dispose()


@pytest.fixture
def browser() -> Iterator[Browser]:
    # Debian's chromium (apt-get install chromium), not a browser Playwright downloads.
    assert shutil.which(CHROMIUM), "needs Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# What the pages' Content-Security-Policy blocked (Chromium says so on the console).
CSP_VIOLATIONS: list[str] = []


@pytest.fixture(autouse=True)
def no_csp_violations() -> Iterator[None]:
    CSP_VIOLATIONS.clear()
    yield
    assert not CSP_VIOLATIONS, CSP_VIOLATIONS


def _watch_csp(message: ConsoleMessage) -> None:
    if "Content Security Policy" in message.text:
        CSP_VIOLATIONS.append(message.text)


def sign_in(page: Page, site: Site, username: str) -> None:
    page.on("console", _watch_csp)
    page.goto(f"{site.url}/inbox")
    assert "/signin" in page.url  # anonymous: sent to sign in first
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/inbox")


def tone_wav(path: Path, seconds: float = 3.0, rate: int = 8000) -> Path:
    """A recording as voice/recorder.py writes it: 8 kHz 16-bit stereo, the caller on
    the left (a 440 Hz tone here), the bot on the right (660 Hz)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(
        struct.pack(
            "<hh",
            int(8000 * math.sin(2 * math.pi * 440 * i / rate)),
            int(6000 * math.sin(2 * math.pi * 660 * i / rate)),
        )
        for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


def test_officer_signs_in_and_acknowledges_a_ticket(site: Site, browser: Browser) -> None:
    service = site.service
    add_staff(service.engine, "pk.night", department="parking", full_name="Pat Night")
    older = service.file_complaint(
        ComplaintReport(
            kind="illegal_parking",
            location="14 Elm Street",
            details={"vehicle": "red pickup, plate KZR 4471", "blocking": "a driveway"},
            caller_number="+15185550188",
        )
    ).number
    service.file_complaint(
        ComplaintReport(kind="pothole", location="Main Street and 5th Avenue")
    )  # roads: never shown to a parking officer

    page = browser.new_page(viewport=PHONE)
    sign_in(page, site, "pk.night")
    card = page.locator(f"#ticket-{older}")
    assert "red pickup" in card.inner_text()
    assert page.locator(".ticket").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "dutyline-inbox-phone.png"), full_page=True)

    with page.expect_navigation():
        card.get_by_role("button", name="Acknowledge").click()
    assert f"Ticket {older} acknowledged" in page.inner_text(".flash")
    assert page.locator(f"#ticket-{older} [data-status]").get_attribute("data-status") == (
        "acknowledged"
    )
    assert service.get_ticket(older).status == "acknowledged"

    # A new ticket shows up without a reload (the page polls).
    newer = service.file_complaint(
        ComplaintReport(kind="illegal_parking", location="Oak Street and 2nd Avenue")
    ).number
    page.wait_for_selector(f"#ticket-{newer}", timeout=25_000)
    assert "New ticket" in page.inner_text("#live")
    numbers = page.locator(".ticket").evaluate_all("els => els.map(e => e.dataset.number)")
    assert numbers == [newer, older]  # newest first
    page.set_viewport_size({"width": 1100, "height": 800})
    page.screenshot(path=str(SCREENSHOTS / "dutyline-inbox.png"), full_page=True)

    # Note and resolve on the ticket's page.
    page.locator(f"#ticket-{older}").get_by_role("link", name="Note / resolve").click()
    page.fill("#note", "Tow truck called, vehicle removed 00:40.")
    with page.expect_navigation():
        page.get_by_role("button", name="Add note").click()
    assert "Note added" in page.inner_text(".flash")
    page.select_option("#close_reason", "fixed")
    with page.expect_navigation():
        page.get_by_role("button", name="Resolve").click()
    assert "Resolved" in page.inner_text(".flash")
    assert page.locator("[data-status]").first.get_attribute("data-status") == "closed"
    assert "Tow truck called" in page.inner_text("main")
    page.screenshot(path=str(SCREENSHOTS / "dutyline-ticket.png"), full_page=True)
    ticket = service.get_ticket(older)
    assert (ticket.status, ticket.close_reason) == ("closed", "fixed")


def test_supervisor_plays_a_calls_recording(site: Site, browser: Browser) -> None:
    service = site.service
    add_staff(service.engine, "sup.night", role="supervisor", department="triage")
    sid = "CA" + "3" * 32
    started = datetime.now(UTC) - timedelta(minutes=20)
    service.open_call(CallStart(call_sid=sid, caller_number="+15185550777", started_at=started))
    turns = [
        ("bot", "City night line. What would you like to report?", None, None, None, 820),
        (
            "caller",
            "There's a big dog running loose on Main Street",
            0.88,
            "report_stray_animal",
            0.95,
            None,
        ),
        ("bot", "Is it acting aggressive or threatening anyone?", None, None, None, 1240),
        ("caller", "uh it's barking at people yeah", 0.47, "affirm", 0.58, None),
        ("bot", "I'm putting you through to the officer on duty.", None, None, None, 2900),
    ]
    for index, (speaker, text, asr, intent, confidence, latency) in enumerate(turns):
        service.record_turn(
            TurnRecord(
                call_sid=sid,
                index=index,
                speaker=speaker,
                text=text,
                started_ms=index * 600,
                ended_ms=index * 600 + 500,
                asr_confidence=asr,
                intent=intent,
                intent_confidence=confidence,
                latency_ms=latency,
            )
        )
    recording = tone_wav(service.settings.recordings_dir / f"{sid}.wav")
    number = service.file_complaint(
        ComplaintReport(
            kind="stray_animal",
            location="Main Street",
            details={"animal": "big dog", "aggressive": "barking at people"},
            call_sid=sid,
        )
    ).number
    service.close_call(
        CallEnd(
            call_sid=sid,
            ended_at=started + timedelta(seconds=48),
            outcome="transferred",
            recording_path=str(recording),
        )
    )

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in(page, site, "sup.night")
    page.goto(f"{site.url}/calls")
    page.click(f"a[href='/calls/{sid}']")
    page.wait_for_selector("audio#recording")
    assert "Handed to a person" in page.inner_text(".flash")
    assert number in page.inner_text(".facts")
    assert "low speech confidence" in page.inner_text("#turn-3")

    # The seek button is a user gesture: it plays the recording from that turn.
    page.click("#turn-1 button.seek")
    page.wait_for_function(
        "() => { const a = document.getElementById('recording');"
        " return a.error === null && a.readyState >= 2 && a.currentTime > 1.0; }",
        timeout=15_000,
    )
    state = page.evaluate(
        "() => { const a = document.getElementById('recording');"
        " return {error: a.error, duration: a.duration, paused: a.paused}; }"
    )
    assert state["error"] is None
    assert abs(state["duration"] - 3.0) < 0.1
    page.evaluate("() => document.getElementById('recording').pause()")
    page.screenshot(path=str(SCREENSHOTS / "dutyline-call.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.goto(f"{site.url}/calls?flagged=true")
    assert page.locator(f"a[href='/calls/{sid}']").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "dutyline-calls-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1100, "height": 900})

    page.goto(f"{site.url}/reports")
    assert page.locator("svg.chart").count() == 3
    page.screenshot(path=str(SCREENSHOTS / "dutyline-reports.png"), full_page=True)

    # The same audio URL without the session cookie: 401, nothing served.
    anonymous = browser.new_context().request.get(f"{site.url}/calls/{sid}/recording.wav")
    assert anonymous.status == 401


def test_admin_adds_an_officer_who_can_then_sign_in(site: Site, browser: Browser) -> None:
    add_staff(site.service.engine, "admin.night", role="admin", full_name="Ada Admin")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    sign_in(page, site, "admin.night")
    page.click("nav >> text=Admin")
    form = page.locator("form[action='/admin/staff']")
    form.locator("input[name=username]").fill("wt.newhire")
    form.locator("input[name=full_name]").fill("Wren Newhire")
    form.locator("select[name=role]").select_option("officer")
    form.locator("select[name=department_id]").select_option(label="Water Department")
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.get_by_role("button", name="Add staff").click()
    assert "wt.newhire added. API token (shown once)" in page.inner_text(".flash")
    page.screenshot(path=str(SCREENSHOTS / "dutyline-admin.png"), full_page=False)

    newcomer = browser.new_page(viewport=PHONE)
    sign_in(newcomer, site, "wt.newhire")
    assert "Water Department" in newcomer.inner_text("header")
    assert newcomer.locator("nav >> text=Admin").count() == 0


def test_an_officer_sees_where_on_the_citys_own_map(site: Site, browser: Browser) -> None:
    """Issue 9, item 5: the point on a map drawn from Riverton's imported streets, in the
    inbox and on the ticket's page; the browser fetches nothing from another site."""
    service = site.service
    add_staff(service.engine, "rd.maps", department="roads", full_name="Robin Maps")
    place = service.find_place("38 Lark Street").best
    assert place is not None and place.label == "38 Lark Street"
    number = service.file_complaint(
        ComplaintReport(
            kind="pothole", location="thirty eight lark street", place=place, place_verified=True
        )
    ).number
    words = service.file_complaint(
        ComplaintReport(kind="pothole", location="by the old mill bend", place_verified=False)
    ).number

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    sign_in(page, site, "rd.maps")
    thumb = page.locator(f"#ticket-{number} svg.place-map.thumb")
    assert thumb.is_visible() and thumb.bounding_box()["width"] > 100  # type: ignore[index]
    assert "Lark Street" in thumb.locator("text.street-name").all_text_contents()
    assert "not verified" in page.inner_text(f"#ticket-{words}")
    assert page.locator(f"#ticket-{words} svg").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "dutyline-inbox-maps.png"), full_page=True)

    page.goto(f"{site.url}/tickets/{number}")
    drawn = page.locator("#place-map svg.place-map.map")
    box = drawn.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    names = drawn.locator("text.street-name").all_text_contents()
    assert {"Lark Street", "1st Street"} <= set(names)
    # The stylesheet drew it (CSP allows no inline style): the point is filled red.
    fill = drawn.locator("circle.point").evaluate("c => getComputedStyle(c).fill")
    assert fill == "rgb(179, 38, 30)"
    assert "38 Lark Street" in page.inner_text(".facts")
    page.screenshot(path=str(SCREENSHOTS / "dutyline-ticket-map.png"), full_page=True)
    assert fetched and all(url.startswith(site.url) for url in fetched), fetched
