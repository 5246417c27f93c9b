"""Privacy: every copy of what a caller said, and of their number, goes after
DispatchSettings.retention_days.

What the purge reaches, past the retention period:
- calls: the recording (file), the caller's number, every turn's words;
- tickets: the transcript, the caller's number, the description (a voicemail, the
  reporter's own words; a description staff typed through the API stays), Open311
  contact details, and the copy of the report in the original's "reported again" note;
- SMS rows: the recipient's number, the text and the provider's error; e-mail rows:
  the address, subject, text and error;
- webhook messages to internal subscriptions: the caller's number and words in them;
- opt-ins older than the period (an opt-out stays: forgetting it would text them again);
- files: recordings no call references, reports waiting in the spool;
- Rasa's Redis tracker store: conversations of purged calls, and any other
  conversation whose last event is older than the period.

Tickets themselves (what, where, status, audit trail) and timings are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import redis
from sqlalchemy import Engine, delete, or_, update
from sqlmodel import Session, col, select

from dispatch.audit import record_event
from dispatch.db import session_scope
from dispatch.models import Call, Notification, Ticket, TicketNote, Turn
from dispatch.open311.requests import CONTACT_FIELDS
from dispatch.settings import DispatchSettings
from dispatch.sms_consent import SmsConsent
from dispatch.tracker_store import RedisTrackerStore
from dispatch.webhooks.delivery import scrub_callers

log = logging.getLogger("dutyline.dispatch.retention")

PURGED_TEXT = ""
# Details an Open311 client may add about the reporter (not about the problem).
PERSONAL_DETAILS = frozenset(
    CONTACT_FIELDS[f] for f in ("first_name", "last_name", "email", "device_id", "account_id")
)
NO_TRACKER_STORE = "not configured: no Redis tracker store, Rasa keeps no conversation there"
TRACKER_BATCH = 200


@dataclass
class PurgeReport:
    calls: int = 0
    recordings_deleted: int = 0
    stray_files_deleted: int = 0
    tickets: int = 0
    notes: int = 0
    notifications: int = 0
    consents: int = 0
    webhook_messages: int = 0
    spool_files_deleted: int = 0
    tracker_conversations_deleted: int = 0
    tracker_store: str = NO_TRACKER_STORE

    @property
    def anything(self) -> bool:
        return any(v for k, v in vars(self).items() if k != "tracker_store")


def purge_with_settings(engine: Engine, settings: DispatchSettings, now: datetime) -> PurgeReport:
    store = None
    if settings.rasa_tracker_redis_url:
        store = RedisTrackerStore(settings.rasa_tracker_redis_url, settings.rasa_tracker_key_prefix)
    try:
        return purge_expired(
            engine,
            settings.recordings_dir,
            settings.retention_days,
            now,
            spool_dir=settings.spool_dir,
            tracker_store=store,
        )
    finally:
        if store is not None:
            store.close()


def purge_expired(
    engine: Engine,
    recordings_dir: Path,
    retention_days: int,
    now: datetime,
    *,
    spool_dir: Path | None = None,
    tracker_store: RedisTrackerStore | None = None,
) -> PurgeReport:
    """Remove or anonymize every copy of callers' data older than the retention period."""
    cutoff = now - timedelta(days=retention_days)
    report = PurgeReport()
    recordings_dir = Path(recordings_dir).resolve()
    with session_scope(engine, write=True) as session:
        _purge_calls(session, recordings_dir, cutoff, now, report)
        _purge_tickets(session, cutoff, now, retention_days, report)
        report.notifications = _purge_notifications(session, cutoff)
        report.consents = _purge_consents(session, cutoff)
        report.webhook_messages = scrub_callers(session, cutoff)
    # Recordings a call never got to reference (a crash mid-call) age out too.
    report.stray_files_deleted = _delete_old_files(recordings_dir, cutoff)
    if spool_dir is not None:
        report.spool_files_deleted = _delete_old_files(Path(spool_dir), cutoff)
    if tracker_store is not None:
        # After the database: the calls just purged are found as purged.
        try:
            report.tracker_conversations_deleted = _purge_tracker_store(
                engine, tracker_store, cutoff, now
            )
            report.tracker_store = "redis"
        except redis.RedisError as exc:  # the next run deletes what this one could not
            report.tracker_store = f"unreachable: {type(exc).__name__}"
            log.error("retention purge: Rasa's tracker store unreachable: %s", exc)
    if report.anything or tracker_store is None:
        log.info("retention purge: %s", report)
    return report


# --- the database ---------------------------------------------------------------------


def _purge_calls(
    session: Session, recordings_dir: Path, cutoff: datetime, now: datetime, report: PurgeReport
) -> None:
    calls = session.exec(
        select(Call).where(
            Call.started_at < cutoff,
            or_(
                col(Call.purged_at).is_(None),
                col(Call.caller_number).is_not(None),
                col(Call.recording_path).is_not(None),
            ),
        )
    ).all()
    for call in calls:
        if call.recording_path and _delete_file(Path(call.recording_path), recordings_dir):
            report.recordings_deleted += 1
        call.recording_path = None
        call.caller_number = None
        call.purged_at = call.purged_at or now
        session.add(call)
        session.exec(update(Turn).where(col(Turn.call_id) == call.id).values(text=PURGED_TEXT))
        report.calls += 1


def _purge_tickets(
    session: Session, cutoff: datetime, now: datetime, retention_days: int, report: PurgeReport
) -> None:
    tickets = session.exec(
        select(Ticket).where(
            Ticket.created_at < cutoff,
            or_(
                col(Ticket.transcript).is_not(None),
                col(Ticket.caller_number).is_not(None),
                col(Ticket.description).is_not(None) & (col(Ticket.channel) != "api"),
                col(Ticket.channel) == "open311",  # contact details live in `details`
            ),
        )
    ).all()
    for ticket in tickets:
        removed = []
        if ticket.transcript is not None:
            ticket.transcript = None
            removed.append("transcript")
        if ticket.description is not None and ticket.channel != "api":
            ticket.description = None
            removed.append("description")
        if ticket.caller_number is not None:
            ticket.caller_number = None
            removed.append("caller number")
        personal = PERSONAL_DETAILS & set(ticket.details or {})
        if personal:
            ticket.details = {k: v for k, v in ticket.details.items() if k not in personal}
            removed.append("contact details")
        report.notes += _scrub_duplicate_notes(session, ticket)
        if not removed:
            continue
        session.add(ticket)
        record_event(
            session,
            ticket_id=ticket.id,
            action="transcript_purged",
            at=now,
            field="transcript",
            detail=f"retention: {', '.join(removed)} removed (older than {retention_days} days)",
        )
        report.tickets += 1


def _scrub_duplicate_notes(session: Session, ticket: Ticket) -> int:
    """The original's "Reported again as ..." note copies this report's words."""
    marker = f"Reported again as {ticket.number}"
    notes = session.exec(
        select(TicketNote).where(
            TicketNote.author == "system", col(TicketNote.body).startswith(marker)
        )
    ).all()
    scrubbed = 0
    for note in notes:
        body = f"{marker}; what was said was removed after the retention period."
        if note.body != body:
            note.body = body
            session.add(note)
            scrubbed += 1
    return scrubbed


def _purge_notifications(session: Session, cutoff: datetime) -> int:
    old = col(Notification.created_at) < cutoff
    # Nothing this old is still to be sent; it must not be tried without a number.
    session.exec(
        update(Notification)
        .where(old, col(Notification.status).in_(["pending", "sending"]))
        .values(status="failed")
    )
    result = session.exec(
        update(Notification)
        .where(
            old,
            col(Notification.channel) != "email",
            or_(
                col(Notification.to_number) != "",
                col(Notification.body) != "",
                col(Notification.last_error).is_not(None),
            ),
        )
        .values(to_number="", body="", last_error=None)
    )
    # E-mails to staff: the subject and text repeat the report's facts.
    emails = session.exec(
        update(Notification)
        .where(
            old,
            col(Notification.channel) == "email",
            or_(
                col(Notification.to_address) != "",
                col(Notification.subject) != "",
                col(Notification.body) != "",
                col(Notification.last_error).is_not(None),
            ),
        )
        .values(to_address="", subject="", body="", last_error=None)
    )
    return int(result.rowcount or 0) + int(emails.rowcount or 0)


def _purge_consents(session: Session, cutoff: datetime) -> int:
    result = session.exec(
        delete(SmsConsent).where(
            col(SmsConsent.opted_out).is_(False), col(SmsConsent.updated_at) < cutoff
        )
    )
    return int(result.rowcount or 0)


# --- files ------------------------------------------------------------------------------


def _delete_old_files(folder: Path, cutoff: datetime) -> int:
    deleted = 0
    if folder.is_dir():
        for path in folder.rglob("*"):
            if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
                deleted += 1
    return deleted


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


# --- Rasa's tracker store ------------------------------------------------------------------


def _purge_tracker_store(
    engine: Engine, store: RedisTrackerStore, cutoff: datetime, now: datetime
) -> int:
    deleted, batch = 0, []
    for sender in store.senders():
        batch.append(sender)
        if len(batch) >= TRACKER_BATCH:
            deleted += _judge_conversations(engine, store, batch, cutoff, now)
            batch = []
    return deleted + _judge_conversations(engine, store, batch, cutoff, now)


def _judge_conversations(
    engine: Engine, store: RedisTrackerStore, senders: list[str], cutoff: datetime, now: datetime
) -> int:
    if not senders:
        return 0
    with session_scope(engine) as session:
        calls = {
            c.call_sid: c
            for c in session.exec(select(Call).where(col(Call.call_sid).in_(senders))).all()
        }
    retention = now - cutoff
    doomed = []
    for sender in senders:
        call = calls.get(sender)
        if call is not None:
            if call.purged_at is not None or call.started_at < cutoff:
                doomed.append(sender)
            continue
        # A conversation no call knows (a test, a forged sender): its own age decides;
        # one that cannot be read expires a retention period from now.
        last = store.last_event_at(sender)
        if last is None:
            store.expire_if_unset(sender, int(retention.total_seconds()))
        elif last < cutoff.timestamp():
            doomed.append(sender)
    return store.delete(doomed)
