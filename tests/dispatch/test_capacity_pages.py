"""Supervisors see the calls the full line turned away (voice/capacity.py): today's count
on the calls page, the calls themselves behind one filter, the period's count on the
reports page, and why on the call's own page. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from dispatch.contract import CallEnd, CallStart, ComplaintReport
from dispatch.service import DispatchService
from tests.dispatch.web_support import add_staff, build_app, post_signin


def _call(service: DispatchService, sid: str, outcome: str, started: datetime) -> None:
    service.open_call(CallStart(call_sid=sid, caller_number="+15185550190", started_at=started))
    if outcome == "voicemail_at_capacity":
        service.file_complaint(
            ComplaintReport(
                description="Voicemail: left while the line was full",
                call_sid=sid,
                needs_triage=True,
                triage_reason="voicemail: the line was at capacity (1 calls at once)",
            )
        )
    service.close_call(CallEnd(call_sid=sid, ended_at=started, outcome=outcome))


def test_supervisors_see_calls_refused_at_capacity(service: DispatchService) -> None:
    now = datetime.now(UTC)
    voicemail, referred, yesterday, normal = ("CA" + digit * 32 for digit in ("1", "2", "3", "4"))
    _call(service, voicemail, "voicemail_at_capacity", now)
    _call(service, referred, "refused_at_capacity", now)
    _call(service, yesterday, "voicemail_at_capacity", now - timedelta(days=1, hours=1))
    _call(service, normal, "abandoned", now)
    add_staff(service.engine, "cap.sup", role="supervisor", department="triage")
    client = TestClient(build_app(service), follow_redirects=False)
    assert post_signin(client, username="cap.sup", password="night-shift-2026").status_code == 303

    page = client.get("/calls").text
    assert "Line full today: 2 calls refused at capacity" in page
    assert "1 left a voicemail, 1 given the emergency number" in page
    assert "Line full: voicemail" in page and "Line full: referred" in page

    refused = client.get("/calls?outcome=at_capacity").text
    for sid in (voicemail, referred, yesterday):
        assert f"/calls/{sid}" in refused
    assert f"/calls/{normal}" not in refused
    only_voicemail = client.get("/calls?outcome=voicemail_at_capacity").text
    assert f"/calls/{voicemail}" in only_voicemail and f"/calls/{referred}" not in only_voicemail

    report = client.get("/reports?days=7").text
    assert "Refused at capacity (the line was full): 3 calls" in report
    assert "2 left a voicemail, 1 given the emergency number" in report

    detail = client.get(f"/calls/{voicemail}").text
    assert "The line was full (at capacity): no dialogue, the caller left a voicemail" in detail


def test_no_refusals_says_so(service: DispatchService) -> None:
    _call(service, "CA" + "5" * 32, "ticket_filed", datetime.now(UTC))
    add_staff(service.engine, "cap.sup", role="supervisor", department="triage")
    client = TestClient(build_app(service), follow_redirects=False)
    post_signin(client, username="cap.sup", password="night-shift-2026")
    assert "No calls refused at capacity today." in client.get("/calls").text
    assert "Refused at capacity (the line was full): 0 calls" in client.get("/reports").text
