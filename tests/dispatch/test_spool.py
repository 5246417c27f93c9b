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
    [ticket] = [t for t in service.list_tickets() if t.caller_number == "+15555550999"]
    assert ticket.kind == "water_leak" and "pine" in (ticket.location_text or "").lower()
