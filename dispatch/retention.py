"""Privacy: recordings and transcripts are deleted after Settings.retention_days,
and caller numbers are masked in logs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, update
from sqlmodel import col, select

from dispatch.db import session_scope
from dispatch.models import Call, Ticket, TicketEvent, Turn

log = logging.getLogger("dutyline.dispatch.retention")

PURGED_TEXT = ""


@dataclass
class PurgeReport:
    calls: int = 0
    recordings_deleted: int = 0
    stray_files_deleted: int = 0
    tickets: int = 0


def purge_expired(
    engine: Engine, recordings_dir: Path, retention_days: int, now: datetime
) -> PurgeReport:
    """Delete recordings and transcripts older than the retention period.

    Tickets themselves (what, where, status, audit trail) are kept; what the caller
    said word for word and their voice are not.
    """
    cutoff = now - timedelta(days=retention_days)
    report = PurgeReport()
    recordings_dir = Path(recordings_dir).resolve()
    with session_scope(engine, write=True) as session:
        calls = session.exec(
            select(Call).where(Call.started_at < cutoff, col(Call.purged_at).is_(None))
        ).all()
        for call in calls:
            if call.recording_path and _delete_file(Path(call.recording_path), recordings_dir):
                report.recordings_deleted += 1
            call.recording_path = None
            call.purged_at = now
            session.add(call)
            session.exec(update(Turn).where(col(Turn.call_id) == call.id).values(text=PURGED_TEXT))
            report.calls += 1
        tickets = session.exec(
            select(Ticket).where(Ticket.created_at < cutoff, col(Ticket.transcript).is_not(None))
        ).all()
        for ticket in tickets:
            ticket.transcript = None
            session.add(ticket)
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=now,
                    actor="system",
                    action="transcript_purged",
                    field="transcript",
                    detail=f"retention: older than {retention_days} days",
                )
            )
            report.tickets += 1
    # Recordings a call never got to reference (a crash mid-call) age out too.
    if recordings_dir.is_dir():
        for path in recordings_dir.rglob("*"):
            if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
                report.stray_files_deleted += 1
    if report.calls or report.tickets or report.stray_files_deleted:
        log.info("retention purge: %s", report)
    return report


def _delete_file(path: Path, recordings_dir: Path) -> bool:
    """Delete a recording, but only inside the recordings folder."""
    path = path if path.is_absolute() else recordings_dir / path
    resolved = path.resolve()
    if recordings_dir not in resolved.parents:
        log.warning("not deleting %s: outside %s", resolved, recordings_dir)
        return False
    if resolved.exists():
        resolved.unlink()
        return True
    return False
