"""The notification outbox: SMS and e-mail rows are written in the same transaction
as the ticket, and sent later by the background worker with retries and backoff. A
failing SMS provider or mail server therefore never loses or delays a ticket.

Delivery claims a row (status 'sending' with a lease) in a short transaction,
sends outside any transaction, then records the result; a row whose lease ran
out (the process died mid-send) is picked up again.

Claiming is also where a message may be refused (status 'suppressed', never sent):
a number that texted STOP gets nothing, and texts to the public (receipts, updates)
are rate limited per number and for the whole line. Both are read from the database
inside the claim's transaction, serialized across processes, so every worker shares
one count. Staff notifications are not rate limited: their numbers come from the
roster, which nobody outside can choose, and a missed alert costs more than a text.

E-mail (`channel` "email") goes to staff only, through the EmailSender, with the same
claim, lease, retries and backoff; STOP and the rate limits are about texts and do not
apply. With no mail server configured an e-mail is recorded as not sent, with why.
The texts themselves are in dispatch/outbox_texts.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, text
from sqlmodel import Session, col, select

from dispatch.audit import record_event
from dispatch.contract import SmsSender, mask_phone
from dispatch.db import session_scope
from dispatch.email_sender import EmailNotConfigured, EmailNotSet, EmailSender, mask_address
from dispatch.leases import claim_due
from dispatch.metrics import OUTBOX_FAILURES
from dispatch.models import Notification, Staff
from dispatch.outbox_texts import caller_receipt_sms as caller_receipt_sms  # moved; re-exported
from dispatch.outbox_texts import officer_sms as officer_sms
from dispatch.outbox_texts import spaced as spaced
from dispatch.sms_consent import opted_out

log = logging.getLogger("dutyline.dispatch.outbox")

MAX_ATTEMPTS = 8
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
LEASE_SECONDS = 120
SMS_MAX_CHARS = 480  # 3 concatenated segments
# Texts to members of the public; everything else goes to staff.
PUBLIC_PURPOSES = frozenset({"caller_receipt", "caller_update"})
RATE_WINDOW = timedelta(hours=1)
_RATE_LOCK_KEY = 0x534D5352  # pg advisory lock: one public-text claim at a time


@dataclass(frozen=True)
class SmsPolicy:
    """Limits on texts to the public, per hour (Settings.sms_per_*_per_hour)."""

    per_number_per_hour: int = 5
    per_line_per_hour: int = 200


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 30 s, 1 min, 2 min, ... at most an hour."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS))


def enqueue(
    session: Session,
    *,
    to: str | None,
    body: str,
    purpose: str,
    at: datetime,
    ticket_id: int | None = None,
) -> Notification | None:
    if not to:
        return None
    notification = Notification(
        ticket_id=ticket_id,
        channel="sms",
        to_number=to,
        body=body[:SMS_MAX_CHARS],
        purpose=purpose,
        next_attempt_at=at,
        created_at=at,
    )
    session.add(notification)
    return notification


def enqueue_email(
    session: Session,
    *,
    to: str | None,
    subject: str,
    body: str,
    purpose: str,
    at: datetime,
    ticket_id: int | None = None,
) -> Notification | None:
    """An e-mail to a staff member, sent by the same worker as the texts."""
    if purpose in PUBLIC_PURPOSES:
        raise ValueError(f"e-mail is for staff only, not for {purpose!r}")
    if not to:
        return None
    notification = Notification(
        ticket_id=ticket_id,
        channel="email",
        to_address=to.strip(),
        subject=" ".join(subject.split())[:200],  # one header line, whatever was typed
        body=body,
        purpose=purpose,
        next_attempt_at=at,
        created_at=at,
    )
    session.add(notification)
    return notification


def notify_staff(
    session: Session,
    staff: Staff | None,
    *,
    sms_body: str,
    subject: str,
    email_body: str,
    purpose: str,
    at: datetime,
    ticket_id: int | None = None,
    phone: str | None = None,
) -> list[Notification]:
    """Tell a staff member by SMS and, when they have an address, by e-mail too.
    `phone`: the number to text instead of `staff.phone` (and the only one when
    `staff` is None: a contact who is just a name and a number gets the SMS alone)."""
    number = phone if phone is not None or staff is None else staff.phone
    texted = enqueue(session, to=number, body=sms_body, purpose=purpose, at=at, ticket_id=ticket_id)
    mailed = email_staff(
        session, staff, subject=subject, body=email_body, purpose=purpose, at=at,
        ticket_id=ticket_id,
    )  # fmt: skip
    return [row for row in (texted, mailed) if row is not None]


def email_staff(
    session: Session,
    staff: Staff | int | None,
    *,
    subject: str,
    body: str,
    purpose: str,
    at: datetime,
    ticket_id: int | None = None,
) -> Notification | None:
    """The e-mail half of a staff notice (a Staff or its id); None without an address."""
    if isinstance(staff, int):
        staff = session.get(Staff, staff)
    if staff is None or not staff.email:
        return None
    return enqueue_email(
        session,
        to=staff.email,
        subject=subject,
        body=body,
        purpose=purpose,
        at=at,
        ticket_id=ticket_id,
    )


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    suppressed: int = 0  # refused texts: STOP, rate limits
    not_configured: int = 0  # e-mails recorded unsent: no mail server is set


def deliver_due(
    engine: Engine,
    sms: SmsSender,
    now: datetime,
    limit: int = 50,
    *,
    policy: SmsPolicy | None = None,
    email: EmailSender | None = None,
) -> DeliveryReport:
    report = DeliveryReport()
    policy = policy or SmsPolicy()
    email = email or EmailNotSet()
    due = or_(col(Notification.status) == "pending", col(Notification.status) == "sending")
    with session_scope(engine) as session:
        ids = session.exec(
            select(Notification.id)
            .where(due, Notification.next_attempt_at <= now)
            .order_by(col(Notification.next_attempt_at))
            .limit(limit)
        ).all()
    for notification_id in ids:
        claimed = _claim(engine, notification_id, now, policy)
        if claimed is None:
            continue  # another worker has it
        if claimed.status == "suppressed":
            report.suppressed += 1
            continue
        try:
            provider_id = _send(claimed, sms, email)
        except EmailNotConfigured as exc:
            _record_unsendable(engine, claimed, now, str(exc))
            report.not_configured += 1
            continue
        except Exception as exc:  # any provider failure is retried
            outcome = _record_failure(engine, claimed, now, exc)
            if outcome == "failed":
                report.failed += 1
            else:
                report.retrying += 1
            OUTBOX_FAILURES.labels(
                claimed.channel, "failed" if outcome == "failed" else "retrying"
            ).inc()
            continue
        with session_scope(engine, write=True) as session:
            row = session.get(Notification, notification_id)
            if row is not None:
                row.status = "sent"
                row.sent_at = now
                row.provider_id = str(provider_id)[:64] if provider_id else None
                row.last_error = None
                session.add(row)
        report.sent += 1
    return report


def _send(row: Notification, sms: SmsSender, email: EmailSender) -> str:
    if row.channel == "email":
        assert row.to_address  # the claim refuses a row without one
        return email.send_email(row.to_address, row.subject or "", row.body)
    assert row.to_number
    return sms.send_sms(row.to_number, row.body)


def _record_unsendable(engine: Engine, claimed: Notification, now: datetime, reason: str) -> None:
    """Nothing to send through: final, kept with the reason (not a ticket event: it says
    nothing about the ticket, and the SMS of the same notice still went)."""
    with session_scope(engine, write=True) as session:
        row = session.get(Notification, claimed.id)
        if row is not None:
            row.status, row.last_error, row.next_attempt_at = "suppressed", reason, now
            session.add(row)
    log.info("%s not sent: %s", _what(claimed), reason)


def _what(row: Notification) -> str:
    """'officer SMS to +1518•••••01' / 'officer e-mail to a•••@example.org' (for logs)."""
    if row.channel == "email":
        return f"{row.purpose} e-mail to {mask_address(row.to_address)}"
    return f"{row.purpose} SMS to {mask_phone(row.to_number)}"


def _claim(
    engine: Engine, notification_id: int, now: datetime, policy: SmsPolicy | None = None
) -> Notification | None:
    """Lease the row to this worker; None if another has it. A row that may not be sent
    comes back with status 'suppressed' (recorded, and never tried again)."""
    policy = policy or SmsPolicy()
    with session_scope(engine, write=True) as session:
        row = session.get(Notification, notification_id)
        # Counts must not race: on PostgreSQL one claim of a public text at a time
        # (SQLite's write transactions are serialized already).
        if (
            row is not None
            and row.purpose in PUBLIC_PURPOSES
            and session.get_bind().dialect.name == "postgresql"
        ):
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _RATE_LOCK_KEY})
        if not claim_due(
            session, Notification, notification_id, now, timedelta(seconds=LEASE_SECONDS)
        ):
            return None
        row = session.get(Notification, notification_id)
        assert row is not None
        session.refresh(row)
        reason = _refusal(session, row, now, policy)
        if reason is not None:
            _suppress(session, row, now, reason)
        return row


def _refusal(session: Session, row: Notification, now: datetime, policy: SmsPolicy) -> str | None:
    """Why this text may not be sent now, or None. E-mail goes to staff only: STOP and
    the rate limits are about texts to the public."""
    if row.channel == "email":
        return None if row.to_address else "no address (removed by retention)"
    if not row.to_number:
        return "no number (removed by retention)"
    if opted_out(session, row.to_number):
        return "the recipient texted STOP"
    if row.purpose not in PUBLIC_PURPOSES:
        return None
    if _recent(session, now, exclude=row.id, to=row.to_number) >= policy.per_number_per_hour:
        return f"rate limit: {policy.per_number_per_hour} texts an hour to one number"
    if _recent(session, now, exclude=row.id) >= policy.per_line_per_hour:
        return f"rate limit: {policy.per_line_per_hour} texts an hour to the public"
    return None


def _recent(session: Session, now: datetime, *, exclude: int | None, to: str | None = None) -> int:
    """Public texts sent in the last hour, or being sent right now (by any worker)."""
    query = select(func.count(col(Notification.id))).where(
        col(Notification.purpose).in_(PUBLIC_PURPOSES),
        col(Notification.id) != exclude,
        or_(
            col(Notification.status) == "sending",
            (col(Notification.status) == "sent") & (col(Notification.sent_at) >= now - RATE_WINDOW),
        ),
    )
    if to is not None:
        query = query.where(Notification.to_number == to)
    return int(session.exec(query).one())


def _suppress(session: Session, row: Notification, now: datetime, reason: str) -> None:
    row.status = "suppressed"
    row.last_error = reason
    row.next_attempt_at = now
    session.add(row)
    if row.ticket_id is not None:
        record_event(
            session,
            ticket_id=row.ticket_id,
            action="notification_suppressed",
            at=now,
            detail=f"{_what(row)} not sent: {reason}",
        )
    log.warning("notification %s, %s, not sent: %s", row.id, _what(row), reason)


def _record_failure(engine: Engine, claimed: Notification, now: datetime, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"[:1000]
    with session_scope(engine, write=True) as session:
        row = session.get(Notification, claimed.id)
        if row is None:
            return "failed"
        row.last_error = error
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            if row.ticket_id is not None:
                record_event(
                    session,
                    ticket_id=row.ticket_id,
                    action="notification_failed",
                    at=now,
                    detail=f"{_what(row)} gave up after {row.attempts} attempts: {error}",
                )
            log.error("notification %s, %s, failed for good: %s", row.id, _what(row), error)
        else:
            row.status = "pending"
            row.next_attempt_at = now + backoff(row.attempts)
            log.warning(
                "notification %s, %s, failed (attempt %d), retry at %s: %s",
                row.id,
                _what(row),
                row.attempts,
                row.next_attempt_at.isoformat(),
                error,
            )
        session.add(row)
        return row.status
