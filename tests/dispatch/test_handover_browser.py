"""The hand-over page in a real browser (Debian's Chromium, Playwright) against a real
uvicorn server: reached from the navigation and from the SMS's link, readable on a phone,
and printable without the navigation. Screenshots and a PDF go to /tmp/dutyline-handover*."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text

from dispatch.contract import CallEnd, CallStart, ComplaintReport
from dispatch.db import make_engine
from dispatch.service import DispatchService
from dutyline.settings import Settings
from tests.conftest import free_port, serve_app
from tests.dispatch import test_web_browser as web_browser
from tests.dispatch.conftest import ManualClock, RecordingSms
from tests.dispatch.handover_support import GARCIA, city
from tests.dispatch.test_web_browser import PHONE, SCREENSHOTS, Site, sign_in
from tests.dispatch.web_support import add_staff, build_app

PARKING_CALLER = "+15185550177"
# The browser pages' fixtures: Debian's Chromium, and no Content-Security-Policy violation.
browser = web_browser.browser
no_csp_violations = web_browser.no_csp_violations


@pytest.fixture
def clock() -> ManualClock:
    # Wednesday 25 November 2026, 08:20: the night (Tuesday 20:00 to 08:00) was handed over.
    return ManualClock(city(2026, 11, 25, 8, 20))


@pytest.fixture
def site(migrated_settings: Settings, clock: ManualClock) -> Iterator[Site]:
    port = free_port()
    settings = migrated_settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    engine = make_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM handover"))
    service = DispatchService(engine, settings, sms=RecordingSms(), clock=clock)
    server = serve_app(build_app(service), port)
    with server.running():
        yield Site(f"http://127.0.0.1:{port}", service)
    engine.dispose()


def file_at(site: Site, clock: ManualClock, at, kind: str | None, where: str, **extra) -> str:
    clock.now = at
    report = ComplaintReport(kind=kind, location=where, **extra)
    return site.service.file_complaint(report).number


def listed(page: Page, section: str) -> list[str]:
    return page.locator(f"#{section} tr[data-number]").evaluate_all(
        "rows => rows.map(r => r.dataset.number)"
    )


def test_the_night_shift_hands_over_on_a_phone_and_on_paper(
    site: Site, browser: Browser, clock: ManualClock
) -> None:
    service = site.service
    add_staff(service.engine, "sup.morning", role="supervisor", department="triage")
    add_staff(service.engine, "pk.morning", department="parking")
    evening = file_at(site, clock, city(2026, 11, 24, 19, 30), "pothole", "38 Lark Street")
    night = [
        file_at(site, clock, city(2026, 11, 24, 21, 5), "noise", "outside City Hall"),
        file_at(
            site,
            clock,
            city(2026, 11, 25, 0, 40),
            "illegal_parking",
            "14 Elm Street",
            details={"vehicle": "red pickup", "blocking": "a driveway"},
            caller_number=PARKING_CALLER,
        ),
    ]
    sid = "CA" + "9" * 32
    service.open_call(
        CallStart(call_sid=sid, caller_number="+15185550188", started_at=city(2026, 11, 25, 2))
    )
    service.close_call(
        CallEnd(call_sid=sid, ended_at=city(2026, 11, 25, 2) + timedelta(minutes=1),
                outcome="emergency_referred")
    )  # fmt: skip
    file_at(site, clock, city(2026, 11, 25, 8, 10), "noise", "Elm Street")  # the new shift's
    clock.now = city(2026, 11, 25, 8, 20)

    page = browser.new_page(viewport=PHONE)
    sign_in(page, site, "sup.morning")
    page.click("nav >> text=Hand-over")
    page.wait_for_url(f"{site.url}/handover")
    assert listed(page, "filed") == night
    assert listed(page, "waiting") == [evening, *night]
    assert "Tue 24 Nov 20:00" in page.inner_text("#window")
    assert "Wed 25 Nov 08:00" in page.inner_text("#window")
    assert page.locator("#emergency li[data-call]").count() == 1
    assert "+1518•••••77" in page.content() and PARKING_CALLER not in page.content()
    # Readable on a phone: nothing wider than the screen.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    page.screenshot(path=str(SCREENSHOTS / "dutyline-handover-phone.png"), full_page=True)

    # On paper: no navigation, no links to other shifts, no form; the content stays.
    page.set_viewport_size({"width": 1100, "height": 900})
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("nav.shift-links").is_visible()
    assert not page.locator("form.filters").is_visible()
    assert page.locator("#filed tr[data-number]").first.is_visible()
    assert page.locator(".print-only").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "dutyline-handover-print.png"), full_page=True)
    pdf = page.pdf(path=str(SCREENSHOTS / "dutyline-handover.pdf"))
    assert pdf.startswith(b"%PDF")
    page.emulate_media(media="screen")
    assert page.locator("header.top").is_visible()

    # The supervisors' hand-over before: Tuesday 08:00 to 20:00.
    with page.expect_navigation():
        page.click("text=← Previous shift")
    assert "since=2026-11-24T08:00-05:00" in page.url
    assert listed(page, "filed") == [evening]
    page.screenshot(path=str(SCREENSHOTS / "dutyline-handover.png"), full_page=True)

    # The SMS sent to sup.garcia at 08:00 links to the same hand-over; a parking officer
    # who opens it sees parking only.
    assert service.send_handovers(city(2026, 11, 25, 8) + timedelta(seconds=30)) != []
    service.deliver_outbox(city(2026, 11, 25, 8, 1))
    texts = [body for to, body in service.sms.sent if "hand-over" in body and to == GARCIA]
    link = texts[0].rsplit(" ", 1)[-1]
    assert link == (
        f"{site.url}/handover?since=2026-11-24T20:00-05:00&until=2026-11-25T08:00-05:00"
    )
    officer = browser.new_page(viewport=PHONE)
    sign_in(officer, site, "pk.morning")
    officer.goto(link)
    assert listed(officer, "filed") == [night[1]]
    assert "Parking Enforcement" in officer.inner_text("h1")
    assert officer.locator("#emergency li[data-call]").count() == 0
