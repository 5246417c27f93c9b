"""In a real browser (Debian's chromium): a supervisor finds the calls the full line turned
away from the calls page's notice and filter, and reads why on the call's page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser

from dispatch.contract import CallEnd, CallStart, ComplaintReport
from tests.dispatch.test_web_browser import (  # noqa: F401 (fixtures)
    Site,
    browser,
    no_csp_violations,
    sign_in,
    site,
)
from tests.dispatch.web_support import add_staff


def test_supervisor_finds_the_calls_refused_at_capacity(
    site: Site,  # noqa: F811 (the fixture imported above)
    browser: Browser,  # noqa: F811
) -> None:
    service = site.service
    add_staff(service.engine, "sup.full", role="supervisor", department="triage")
    # Within the city's today, whenever the test runs (the notice counts from local midnight).
    midnight = datetime.now(ZoneInfo(service.settings.timezone)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    started = max(datetime.now(UTC) - timedelta(minutes=5), midnight.astimezone(UTC))
    sid, other = "CA" + "7" * 32, "CA" + "8" * 32
    for call_sid, outcome in ((sid, "voicemail_at_capacity"), (other, "ticket_filed")):
        service.open_call(
            CallStart(call_sid=call_sid, caller_number="+15185550123", started_at=started)
        )
        service.file_complaint(
            ComplaintReport(
                description="Voicemail: left while the line was full", call_sid=call_sid,
                needs_triage=True, triage_reason="voicemail: the line was at capacity",
            )
        )  # fmt: skip
        service.close_call(CallEnd(call_sid=call_sid, ended_at=started, outcome=outcome))

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in(page, site, "sup.full")
    page.goto(f"{site.url}/calls")
    notice = page.inner_text("#at-capacity")
    assert "Line full today: 1 call refused at capacity" in notice
    page.select_option("select[name=outcome]", "at_capacity")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**outcome=at_capacity**")
    assert page.locator(f"a[href='/calls/{sid}']").count() == 1
    assert page.locator(f"a[href='/calls/{other}']").count() == 0
    page.click(f"a[href='/calls/{sid}']")
    page.wait_for_selector(".flash")
    assert "The line was full (at capacity)" in page.inner_text(".flash")
