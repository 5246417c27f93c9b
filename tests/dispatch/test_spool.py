"""With the database gone, a report waits on disk and is filed once the database is back."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from dispatch.contract import ComplaintReport, FilingDeferred
from dispatch.service import DispatchService


def test_a_report_survives_the_database_being_away(service: DispatchService, tmp_path) -> None:
    service.spool.folder = tmp_path / "spool"
    real_engine = service.engine
    # A database nobody can reach: every write fails, as during an outage.
    service.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/gone")
    report = ComplaintReport(
        kind="water_leak",
        location="200 pine street",
        caller_number="+15555550999",
        transcript="water is gushing out of the street on pine",
    )
    with pytest.raises(FilingDeferred):
        service.file_complaint(report)
    assert len(service.spool.pending()) == 1
    assert service.refile_spooled() == 0  # still away: it waits, nothing lost
    assert len(service.spool.pending()) == 1

    service.engine = real_engine  # back
    assert service.refile_spooled() == 1
    assert service.spool.pending() == []
    # No call record (the database was away when the call came in): the reported number is
    # kept for staff to call back, but never texted (#10: only a call record's number is).
    [ticket] = [t for t in service.list_tickets() if t.location_text == "200 pine street"]
    assert ticket.kind == "water_leak" and ticket.caller_number == "+15555550999"
    detail = service.get_ticket(ticket.number)
    assert detail is not None
    assert "+15555550999" not in [n.to_number for n in detail.notifications]
