"""A Korean city's staff pages in a real browser (Debian's Chromium driven by Playwright)
against a real uvicorn server with DUTYLINE_LOCALE=ko: an officer signs in and works the
inbox and a ticket, a supervisor reads the calls page, all in Korean.

Screenshots go to /tmp/dutyline-ko-*.png for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page

from dispatch.contract import CallEnd, CallStart, ComplaintReport, TurnRecord
from dispatch.db import make_engine
from dispatch.service import DispatchService
from dutyline.settings import Settings
from tests.conftest import free_port, serve_app
from tests.dispatch.conftest import RecordingSms
from tests.dispatch.test_web_browser import (  # noqa: F401  (fixtures)
    PHONE,
    SCREENSHOTS,
    Site,
    _watch_csp,
    browser,
    no_csp_violations,
)
from tests.dispatch.web_support import PASSWORD, add_staff, build_app


@pytest.fixture
def korean_site(migrated_settings: Settings) -> Iterator[Site]:
    port = free_port()
    settings = migrated_settings.model_copy(
        update={"public_url": f"http://127.0.0.1:{port}", "locale": "ko", "timezone": "Asia/Seoul"}
    )
    engine = make_engine(settings.database_url)
    service = DispatchService(engine, settings, sms=RecordingSms())
    server = serve_app(build_app(service), port)
    with server.running():
        yield Site(f"http://127.0.0.1:{port}", service)
    engine.dispose()


def sign_in(page: Page, site: Site, username: str) -> None:
    page.on("console", _watch_csp)
    page.goto(f"{site.url}/inbox")
    assert "/signin" in page.url
    assert page.inner_text("h1") == "dutyline · 로그인"
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(f"{site.url}/inbox")


def test_a_korean_officer_and_supervisor_work_in_korean(
    korean_site: Site,
    browser: Browser,  # noqa: F811  (the fixture imported above)
) -> None:
    service = korean_site.service
    add_staff(service.engine, "pk.bam", department="parking", full_name="박야간")
    add_staff(service.engine, "sup.bam", role="supervisor", department="triage", full_name="김당직")
    sid = "CA" + "9" * 32
    service.open_call(
        CallStart(
            call_sid=sid, caller_number="+821055509999", started_at=service.clock(), locale="ko"
        )
    )
    service.record_turn(TurnRecord(call_sid=sid, index=0, speaker="caller", text="차가 막았어요"))
    number = service.file_complaint(
        ComplaintReport(
            kind="illegal_parking",
            location="경안로 123",
            details={"vehicle": "흰색 승합차", "blocking": "차고 입구"},
            call_sid=sid,
            channel="phone",
        )
    ).number
    service.close_call(
        CallEnd(
            call_sid=sid, ended_at=service.clock() + timedelta(seconds=50), outcome="ticket_filed"
        )
    )

    page = browser.new_page(viewport=PHONE)
    sign_in(page, korean_site, "pk.bam")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.inner_text("h1") == "민원함 · 주차단속과"
    card = page.locator(f"#ticket-{number}")
    text = card.inner_text()
    for words in ("불법 주정차", "접수됨", "차량", "흰색 승합차", "막고 있는 곳", "메모 / 종결"):
        assert words in text, words
    assert "Illegal parking" not in text and "Received" not in text
    assert "초마다 새로 고침" in page.inner_text("#live")
    page.screenshot(path=str(SCREENSHOTS / "dutyline-ko-inbox.png"), full_page=True)

    # A new ticket shows up by itself (the page polls), announced in Korean.
    newer = service.file_complaint(
        ComplaintReport(kind="illegal_parking", location="중앙로 8", channel="api")
    ).number
    page.wait_for_selector(f"#ticket-{newer}", timeout=25_000)
    assert "새 민원" in page.inner_text("#live")

    with page.expect_navigation():
        card.get_by_role("button", name="확인").click()
    assert f"민원 {number}을(를) 확인했습니다." in page.inner_text(".flash")
    assert "담당자 확인" in page.locator(f"#ticket-{number}").inner_text()

    page.locator(f"#ticket-{number}").get_by_role("link", name="메모 / 종결").click()
    main = page.inner_text("main")
    for words in ("불법 주정차", "주차단속과", "상태", "위치", "부서", "처리 이력", "접수"):
        assert words in main, words
    page.select_option("#close_reason", "fixed")
    assert page.locator("#close_reason option:checked").inner_text() == "처리 완료"
    with page.expect_navigation():
        page.get_by_role("button", name="종결", exact=True).click()
    assert f"민원 {number}: 종결했습니다." in page.inner_text(".flash")
    assert "종결: 처리 완료" in page.inner_text(".facts")
    page.screenshot(path=str(SCREENSHOTS / "dutyline-ko-ticket.png"), full_page=True)
    # The caller was told in Korean (the call's line), through the outbox.
    service.deliver_outbox()
    sms: RecordingSms = service.sms  # type: ignore[assignment]
    told = sms.to("+821055509999")
    assert told[-1] == f"접수번호 {number} (불법 주정차) 민원이 종결되었습니다: 처리 완료."

    supervisor = browser.new_page(viewport={"width": 1100, "height": 800})
    sign_in(supervisor, korean_site, "sup.bam")
    supervisor.get_by_role("link", name="통화").first.click()
    supervisor.wait_for_url(f"{korean_site.url}/calls")
    assert supervisor.inner_text("h1") == "통화"
    row = supervisor.locator("table tr", has_text=number)
    assert "민원 접수" in row.inner_text()
    options = supervisor.locator("select[name=outcome] option").all_inner_texts()
    assert {"전체", "민원 접수", "상담원 연결", "회선 포화 (전체)"} <= set(options)
    kinds = supervisor.locator("select[name=kind] option").all_inner_texts()
    assert {"불법 주정차", "동물 사체"} <= set(kinds)
    supervisor.screenshot(path=str(SCREENSHOTS / "dutyline-ko-calls.png"), full_page=True)
