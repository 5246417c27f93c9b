"""The staff pages of a Korean city (DUTYLINE_LOCALE=ko) over HTTP, on SQLite and
PostgreSQL: every page's visible text is Korean (department and kind names, outcome and
status labels, dates), and the same database served with the default locale still
reads in English. The real browser's view is in test_korean_staff_browser.py."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, delete

from dispatch.contract import CallEnd, CallStart, ComplaintReport, TurnRecord
from dispatch.service import DispatchService
from dispatch.throttle import SignInFailure
from tests.dispatch.conftest import ManualClock, RecordingSms
from tests.dispatch.web_support import PASSWORD, add_staff, build_app, post_signin

# What a Korean page may still show in Latin letters: the product's name, codes and
# units that are written so in Korean too, and what a caller or officer typed.
LATIN_ALLOWED = {"dutyline", "SID", "p95", "ms", "s", "SMS", "CSV", "XLSX", "API", "Open311"}
LATIN_ALLOWED |= {"data", "roster", "yaml", "daily", "weekdays", "weekends", "mon", "tue"}
LATIN_ALLOWED |= {"Standard", "Webhooks"}  # a standard's name
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Visible(HTMLParser):
    """The text a person sees (and hears from a screen reader) on a page: text nodes
    outside scripts, styles and maps, and the placeholders, titles and labels of elements.
    Elements marked translate="no" hold recorded words (notes, transcripts, the audit
    trail's details) that stay as they were written."""

    SKIPPED = ("script", "style", "svg")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._open: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        skip = tag in self.SKIPPED or ("translate", "no") in attrs
        if tag not in VOID:
            self._open.append((tag, skip))
        if not self._skipping():
            for name, value in attrs:
                if name in ("placeholder", "title", "aria-label") and value:
                    self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def _skipping(self) -> bool:
        return any(skip for _, skip in self._open)

    def handle_data(self, data: str) -> None:
        if not self._skipping():
            self.parts.append(data)


def english_words(html: str, typed: set[str]) -> list[str]:
    """Latin-letter words on the page beyond the allowed ones and what people typed."""
    parser = _Visible()
    parser.feed(html)
    text = " ".join(parser.parts)
    words = LATIN_WORD.findall(text)
    # Codes (a call's SID, "p95") carry digits; words do not.
    return [w for w in words if w not in LATIN_ALLOWED | typed and not re.search(r"\d", w)]


@pytest.fixture
def ko_service(engine, settings_for, clock: ManualClock) -> DispatchService:
    with Session(engine) as session:
        session.exec(delete(SignInFailure))
        session.commit()
    return DispatchService(engine, settings_for(locale="ko"), sms=RecordingSms(), clock=clock)


def signed_in(app: FastAPI, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    response = post_signin(client, username=username, password=PASSWORD)
    assert response.status_code == 303, response.text
    return client


def korean_night(service: DispatchService, clock: ManualClock) -> dict[str, str]:
    """A Korean call that filed a parking ticket, an older dead-animal ticket (shown with
    its day), a closed ticket and a triage ticket."""
    sid = "CA" + "7" * 32
    clock.advance(hours=-30)
    older = service.file_complaint(
        ComplaintReport(kind="dead_animal", location="경안로 45", details={"animal": "고양이"})
    ).number
    clock.advance(hours=30)
    service.open_call(
        CallStart(call_sid=sid, caller_number="+821055501234", started_at=clock.now, locale="ko")
    )
    for index, (speaker, text) in enumerate(
        [("bot", "시청 야간 민원 전화입니다."), ("caller", "경안로 123에 차가 막고 있어요")]
    ):
        service.record_turn(
            TurnRecord(call_sid=sid, index=index, speaker=speaker, text=text, started_ms=index)
        )
    parking = service.file_complaint(
        ComplaintReport(
            kind="illegal_parking",
            location="경안로 123",
            details={"vehicle": "흰색 승용차", "blocking": "차고 입구"},
            call_sid=sid,
            channel="phone",
        )
    ).number
    service.close_call(
        CallEnd(call_sid=sid, ended_at=clock.now + timedelta(seconds=40), outcome="ticket_filed")
    )
    closed = service.file_complaint(ComplaintReport(kind="noise", location="중앙로 8")).number
    service.set_status(closed, "closed", "fixed", None)
    triage = service.file_complaint(ComplaintReport(kind=None, location="시장 앞")).number
    return {"sid": sid, "parking": parking, "older": older, "closed": closed, "triage": triage}


def test_a_korean_city_reads_every_staff_page_in_korean(
    ko_service: DispatchService, clock: ManualClock
) -> None:
    add_staff(ko_service.engine, "ko.sup", role="admin", department="triage", full_name="김당직")
    add_staff(ko_service.engine, "ko.park", department="parking", full_name="박주차")
    night = korean_night(ko_service, clock)
    app = build_app(ko_service)
    typed = {"ko", "ticket_filed"}  # the call's language code; none typed otherwise

    signin = TestClient(app).get("/signin")
    assert '<html lang="ko">' in signin.text and "아이디" in signin.text
    assert english_words(signin.text, typed) == []
    wrong = post_signin(TestClient(app), username="ko.park", password="wrong")
    assert "아이디 또는 비밀번호가 틀렸습니다." in wrong.text

    officer = signed_in(app, "ko.park")
    inbox = officer.get("/inbox").text
    assert "주차단속과" in inbox and "불법 주정차" in inbox and "접수됨" in inbox
    assert "차량" in inbox and "막고 있는 곳" in inbox  # the details' labels
    assert english_words(inbox, typed) == [], "English on the Korean inbox"

    supervisor = signed_in(app, "ko.sup")
    pages = {
        "/inbox?show=all": ["청소행정과", "동물 사체", "분류 필요", "종결: 처리 완료"],
        f"/tickets/{night['parking']}": ["불법 주정차", "주차단속과", "전화", "처리 이력"],
        f"/tickets/{night['older']}": ["동물 사체", "청소행정과"],
        "/calls": ["민원 접수", "통화"],
        f"/calls/{night['sid']}": ["민원 접수", "신고자", "봇", "대화 기록"],
        "/handover": ["인수인계", "처리 대기", "동물 사체", "청소행정과", "청소행정 비상 연락"],
        "/reports": ["통계", "최근 7일", "당직 일지", "5분 미만", "접수부터 확인까지 걸린 시간"],
        "/admin": ["당직 근무표", "주차단속과", "담당 공무원", "근무표"],
        "/admin/webhooks": ["웹훅", "구독", "전송 기록"],
        "/tickets/2099010199": ["찾을 수 없습니다", "민원 2099010199이(가) 없습니다"],
    }
    for path, expected in pages.items():
        response = supervisor.get(path, headers={"accept": "text/html"})
        assert response.status_code in (200, 404), (path, response.status_code)
        for words in expected:
            assert words in response.text, (path, words)
        found = english_words(response.text, typed)
        assert found == [], (path, " ".join(found))

    # Dates: an older ticket shows its day the Korean way ("11월 19일 (목) 21:00").
    older = supervisor.get(f"/tickets/{night['older']}").text
    assert re.search(r"\d{1,2}월 \d{1,2}일 \([월화수목금토일]\) \d\d:\d\d", older), older

    # Acting on a ticket answers in Korean too.
    page = officer.get(f"/tickets/{night['parking']}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = officer.post(
        f"/tickets/{night['parking']}/acknowledge",
        data={"csrf_token": token},
        headers={"referer": f"http://testserver/tickets/{night['parking']}"},
    )
    assert done.status_code == 303
    flash = officer.get(done.headers["location"]).text
    assert f"민원 {night['parking']}을(를) 확인했습니다." in flash
    assert "담당자 확인" in flash  # the new status label


def test_the_same_tickets_read_in_english_where_the_city_is_english(
    service: DispatchService, ko_service: DispatchService, clock: ManualClock
) -> None:
    """One database, two apps: the English one is as it always was."""
    add_staff(service.engine, "en.sup", role="supervisor", department="triage")
    night = korean_night(ko_service, clock)
    english = signed_in(build_app(service), "en.sup")
    inbox = english.get("/inbox?show=all").text
    assert '<html lang="en">' in inbox
    for words in ("Parking Enforcement", "Illegal parking", "Received", "Closed: Fixed"):
        assert words in inbox, words
    assert "주차단속과" not in inbox and "불법 주정차" not in inbox
    ticket = english.get(f"/tickets/{night['parking']}").text
    assert "Vehicle" in ticket and "Blocking" in ticket and "History" in ticket
    calls = english.get("/calls").text
    assert "Ticket filed" in calls and "민원 접수" not in calls
