"""With the database gone, a report waits on disk and is filed once the database is back."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine

from dispatch.contract import ComplaintReport, FilingDeferred
from dispatch.service import DispatchService
from dispatch.spool import CLAIM_EXPIRES_SECONDS


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


def _spool_reports(service: DispatchService, count: int) -> None:
    """`count` reports kept on disk, as a replica writes them while the database is away."""
    for n in range(count):
        report = ComplaintReport(
            needs_triage=True,
            triage_reason="caller hung up",
            location=f"{100 + n} spool street",
            transcript="the line dropped",
        )
        service.spool.put(report, "database unavailable")


def test_replicas_sharing_the_spool_file_each_report_once(
    service: DispatchService, tmp_path
) -> None:
    """Several replicas refiling one shared folder at once: every report filed, none twice
    (triage reports are never merged as duplicates, so a second filing would show)."""
    service.spool.folder = tmp_path / "spool"
    _spool_reports(service, 24)
    with ThreadPoolExecutor(4) as replicas:
        filed = list(replicas.map(lambda _: service.refile_spooled(), range(4)))
    assert sum(filed) == 24, filed
    assert service.spool.pending() == [] and list(service.spool.folder.iterdir()) == []
    places = [
        t.location_text for t in service.list_tickets() if "spool street" in (t.location_text or "")
    ]
    assert sorted(places) == sorted(f"{100 + n} spool street" for n in range(24))


def test_a_report_claimed_by_a_replica_that_died_is_filed_later(
    service: DispatchService, tmp_path
) -> None:
    service.spool.folder = tmp_path / "spool"
    _spool_reports(service, 1)
    [path] = service.spool.pending()
    claimed = service.spool.claim(path)
    assert claimed is not None and service.spool.claim(path) is None  # one claim wins
    assert service.spool.pending() == []  # held by its replica, which is filing it
    old = time.time() - CLAIM_EXPIRES_SECONDS - 1
    os.utime(claimed, (old, old))  # ... and died doing so
    assert service.spool.pending() == [claimed]
    assert service.refile_spooled() == 1
    assert list(service.spool.folder.iterdir()) == []
