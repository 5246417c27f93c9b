"""Tables (SQLModel) and ticket statuses; the read shapes are in dispatch/public.py.

Every timestamp is stored timezone-aware in UTC (`UtcDateTime`), on SQLite too.
Status-like columns are plain strings checked in Python (the status machine,
dispatch/ticket_status.py), so adding a status needs no database migration.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite returns naive ones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# --- statuses -----------------------------------------------------------------


class TicketStatus(StrEnum):
    NEW = "new"  # filed, nobody has looked yet (Open311: open)
    ACKNOWLEDGED = "acknowledged"  # an officer has seen it; escalation stops
    IN_PROGRESS = "in_progress"
    DUPLICATE = "duplicate"  # linked to an earlier open ticket (Open311: closed)
    CLOSED = "closed"  # with a CloseReason


class CloseReason(StrEnum):
    FIXED = "fixed"
    NO_FURTHER_ACTION = "no_further_action"
    NOT_RESPONSIBLE = "not_responsible"  # not the city's responsibility
    REFERRED = "referred"  # internal or external referral
    UNFOUNDED = "unfounded"  # nothing found on site
    DUPLICATE = "duplicate"


OPEN_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.ACKNOWLEDGED, TicketStatus.IN_PROGRESS})

STATUS_LABELS: dict[str, str] = {
    TicketStatus.NEW: "Received",
    TicketStatus.ACKNOWLEDGED: "Seen by an officer",
    TicketStatus.IN_PROGRESS: "In progress",
    TicketStatus.DUPLICATE: "Added to an earlier report",
    TicketStatus.CLOSED: "Closed",
}

CLOSE_REASON_LABELS: dict[str, str] = {
    CloseReason.FIXED: "Fixed",
    CloseReason.NO_FURTHER_ACTION: "No further action",
    CloseReason.NOT_RESPONSIBLE: "Not the city's responsibility",
    CloseReason.REFERRED: "Referred",
    CloseReason.UNFOUNDED: "Nothing found",
    CloseReason.DUPLICATE: "Duplicate",
}


def open311_status(status: str) -> str:
    """Open311 knows only open and closed."""
    return "open" if status in OPEN_STATUSES else "closed"


class StaffRole(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# --- tables ---------------------------------------------------------------------


class Department(SQLModel, table=True):
    __tablename__ = "department"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=120)
    phone: str | None = Field(default=None, max_length=32)
    # Who gets the ticket when nobody of the department is on shift.
    fallback_name: str | None = Field(default=None, max_length=120)
    fallback_phone: str | None = Field(default=None, max_length=32)
    # Staff usernames to escalate to, in order; the duty supervisor comes after.
    escalation_chain: list[str] = Field(default_factory=list, sa_type=JSON)
    active: bool = True


class Staff(SQLModel, table=True):
    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    full_name: str = Field(max_length=120)
    role: str = Field(default=StaffRole.OFFICER, max_length=16)
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=255)  # staff notices by e-mail too
    password_hash: str | None = Field(default=None, max_length=255)
    api_token_hash: str | None = Field(default=None, max_length=255, index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DutyShift(SQLModel, table=True):
    """A weekly recurring shift. Overnight when `end` <= `start`: it ends the next day.

    `weekdays` are the days the shift *starts* on, ISO numbers 1=Mon..7=Sun,
    comma-separated ("1,2,3,4,5"); times are wall-clock times in `timezone`.
    """

    __tablename__ = "duty_shift"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    weekdays: str = Field(max_length=20)
    start: time
    end: time
    timezone: str = Field(max_length=64)
    source: str = Field(default="roster", max_length=16)  # roster (seeded) | manual


class Call(SQLModel, table=True):
    __tablename__ = "call"

    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=64, unique=True)
    caller_number: str | None = Field(default=None, max_length=32)
    called_number: str | None = Field(default=None, max_length=32)
    locale: str = Field(default="en", max_length=16)
    started_at: datetime = Field(sa_type=UtcDateTime, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    outcome: str = Field(default="in_progress", max_length=32)
    telephony_status: str | None = Field(default=None, max_length=32)
    recording_path: str | None = Field(default=None, max_length=500)
    # Set when retention removed the recording and transcript.
    purged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Turn(SQLModel, table=True):
    __tablename__ = "turn"
    __table_args__ = (sa.UniqueConstraint("call_id", "index", name="uq_turn_call_index"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", index=True)
    index: int
    speaker: str = Field(max_length=8)  # caller | bot
    text: str = Field(sa_type=sa.Text)
    via: str = Field(default="speech", max_length=8)
    started_ms: int | None = None
    ended_ms: int | None = None
    asr_confidence: float | None = None
    intent: str | None = Field(default=None, max_length=64)
    intent_confidence: float | None = None
    latency_ms: int | None = None
    # Bot turns: where the latency went (end_of_turn, recognition, dialogue, synthesis).
    stage_ms: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (sa.Index("ix_ticket_kind_created", "kind", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # Digits only, read out to the caller: YYMMDD + per-day sequence ("2611230042").
    number: str = Field(max_length=20, unique=True)
    kind: str | None = Field(default=None, max_length=64)
    kind_name: str = Field(max_length=120)
    channel: str = Field(default="phone", max_length=16)  # phone | open311 | api
    status: str = Field(default=TicketStatus.NEW, max_length=16, index=True)
    close_reason: str | None = Field(default=None, max_length=32)
    location_text: str | None = Field(default=None, max_length=500)  # as said
    location_normalized: str | None = Field(default=None, max_length=500, index=True)
    place_name: str | None = Field(default=None, max_length=200)  # gazetteer match
    lat: float | None = None
    long: float | None = None
    # The city's place data's match (issue 9): how the place was named (PlaceKind), how
    # sure the match is (0..1), and False when only the caller's words could be kept.
    place_kind: str | None = Field(default=None, max_length=16)
    place_confidence: float | None = None
    place_verified: bool | None = None
    details: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    description: str | None = Field(default=None, sa_type=sa.Text)
    caller_number: str | None = Field(default=None, max_length=32)
    department_id: int = Field(foreign_key="department.id", index=True)
    assigned_staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    # Who was told, when it is a contact that is not a staff account (fallback).
    assigned_name: str | None = Field(default=None, max_length=120)
    assigned_phone: str | None = Field(default=None, max_length=32)
    routing_reason: str | None = Field(default=None, max_length=32)
    call_id: int | None = Field(default=None, foreign_key="call.id", index=True)
    duplicate_of_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    needs_triage: bool = Field(default=False, index=True)
    triage_reason: str | None = Field(default=None, max_length=500)
    transcript: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    acknowledged_by_id: int | None = Field(default=None, foreign_key="staff.id")
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class TicketCounter(SQLModel, table=True):
    """Per-day ticket sequence; bumped with one atomic upsert (safe under concurrency)."""

    __tablename__ = "ticket_counter"

    day: str = Field(primary_key=True, max_length=8)  # YYMMDD in the city's time zone
    last: int = 0


class TicketNote(SQLModel, table=True):
    __tablename__ = "ticket_note"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    author: str = Field(max_length=120)  # staff name, or "system"
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TicketEvent(SQLModel, table=True):
    """The audit trail: every change to a ticket, who made it and when."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    actor: str = Field(max_length=120)  # username, "caller", "open311:<key name>", "system"
    action: str = Field(max_length=32)  # created, status, acknowledged, assigned, escalated, ...
    field: str | None = Field(default=None, max_length=64)
    old_value: str | None = Field(default=None, sa_type=sa.Text)
    new_value: str | None = Field(default=None, sa_type=sa.Text)
    detail: str | None = Field(default=None, sa_type=sa.Text)


class Escalation(SQLModel, table=True):
    """Escalation state of one ticket; the scheduler reads `due_at`, so it survives restarts."""

    __tablename__ = "escalation"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    step: int = 0  # 0: first assignee; n: n-th escalation done
    due_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    stopped_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    stop_reason: str | None = Field(default=None, max_length=32)  # acknowledged|closed|exhausted


class Notification(SQLModel, table=True):
    """Outbox: SMS and e-mail to send. Rows are written with the ticket, sent later with
    retries. An SMS row has `to_number`; an e-mail row `to_address` and `subject`."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.Index("ix_notification_due", "status", "next_attempt_at"),
        sa.Index("ix_notification_to_sent", "to_number", "sent_at"),  # SMS rate limits
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    channel: str = Field(default="sms", max_length=8)  # sms | email
    to_number: str | None = Field(default=None, max_length=32)
    to_address: str | None = Field(default=None, max_length=255)
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(sa_type=sa.Text)
    purpose: str = Field(max_length=32)  # officer | caller_receipt | caller_update | escalation
    status: str = Field(default="pending", max_length=16)  # pending|sending|sent|failed|suppressed
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    provider_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ApiKey(SQLModel, table=True):
    """Open311 API keys (only a hash is stored)."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    key_hash: str = Field(max_length=255, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    active: bool = True


class Handover(SQLModel, table=True):
    """A shift change's hand-over, sent once (the unique instant is the claim, so two
    replicas never both send it)."""

    __tablename__ = "handover"

    id: int | None = Field(default=None, primary_key=True)
    shift_change_at: datetime = Field(sa_type=UtcDateTime, unique=True)
    since: datetime = Field(sa_type=UtcDateTime)  # the shift it covers
    until: datetime = Field(sa_type=UtcDateTime)
    recipients: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class WebhookSubscription(SQLModel, table=True):
    """A city system that wants ticket events (Standard Webhooks signing with `secret`)."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=1000)
    secret: str = Field(max_length=100)  # whsec_<base64>; needed in the clear to sign
    events: list[str] = Field(default_factory=list, sa_type=JSON)
    # Internal subscriptions get the caller's number and words; others never do.
    internal: bool = False
    active: bool = True
    description: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class WebhookDelivery(SQLModel, table=True):
    """Outbox of webhook messages: one row per event and subscription, delivered in
    order per ticket, retried with backoff; the admins' delivery log reads it."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_order", "subscription_id", "ticket_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    message_id: str = Field(max_length=64, unique=True)  # the webhook-id header
    event_type: str = Field(max_length=40)
    payload: str = Field(sa_type=sa.Text)  # the exact JSON body that is signed
    status: str = Field(default="pending", max_length=16)  # pending|sending|delivered|failed
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
