"""The public read shapes the service hands to the web layer, the API and Open311:
tickets, calls and their filters. Built from the tables by dispatch/read_models.py."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class TicketFilters(BaseModel):
    """Filters for listing tickets; every field optional. `status` takes fine statuses
    and also "open"/"closed" (Open311 groups)."""

    status: list[str] | None = None
    kind: list[str] | None = None
    department_code: str | None = None
    numbers: list[str] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    needs_triage: bool | None = None
    assigned_staff_id: int | None = None
    text: str | None = None  # matched in location, description, number
    limit: int = 100
    offset: int = 0
    newest_first: bool = True


class CallFilters(BaseModel):
    started_from: datetime | None = None
    started_to: datetime | None = None
    outcome: list[str] | None = None
    caller_number: str | None = None
    limit: int = 100
    offset: int = 0


class NotePublic(BaseModel):
    id: int
    author: str
    staff_id: int | None
    body: str
    created_at: datetime


class EventPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    staff_id: int | None
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    detail: str | None


class NotificationPublic(BaseModel):
    id: int
    channel: str = "sms"  # sms | email
    to_number: str | None  # SMS; blank once purged by retention
    to_address: str | None = None  # e-mail (staff only)
    subject: str | None = None
    purpose: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class TicketPublic(BaseModel):
    id: int
    number: str
    kind: str | None
    kind_name: str
    channel: str
    status: str
    status_label: str
    open311_status: str
    close_reason: str | None
    location_text: str | None
    location_normalized: str | None
    place_name: str | None
    lat: float | None
    long: float | None
    # How the city's place data matched (issue 9): a PlaceKind value, 0..1, and False
    # when only the caller's words are kept (shown to officers as not verified).
    place_kind: str | None = None
    place_confidence: float | None = None
    place_verified: bool | None = None
    details: dict[str, str]
    description: str | None
    caller_number: str | None
    department_code: str
    department_name: str
    assigned_staff_id: int | None
    assigned_name: str | None
    assigned_phone: str | None
    call_sid: str | None
    duplicate_of: str | None
    needs_triage: bool
    triage_reason: str | None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None


class TicketDetail(TicketPublic):
    transcript: str | None
    notes: list[NotePublic]
    events: list[EventPublic]
    duplicates: list[str]  # numbers of later reports linked to this one
    notifications: list[NotificationPublic]
    escalation_step: int | None
    escalation_due_at: datetime | None


class TurnPublic(BaseModel):
    index: int
    speaker: str
    text: str
    via: str
    started_ms: int | None
    ended_ms: int | None
    asr_confidence: float | None
    intent: str | None
    intent_confidence: float | None
    latency_ms: int | None
    stage_ms: dict[str, int]


class CallPublic(BaseModel):
    id: int
    call_sid: str
    caller_number: str | None
    called_number: str | None
    locale: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    telephony_status: str | None
    recording_path: str | None
    ticket_numbers: list[str]
    duration_seconds: float | None


class Latencies(BaseModel):
    """Bot turns: end of caller speech to first bot audio, milliseconds."""

    count: int
    median_ms: float | None
    p95_ms: float | None
    max_ms: int | None
    stage_median_ms: dict[str, float] = {}  # per stage (end_of_turn, recognition, ...)


class CallDetail(CallPublic):
    turns: list[TurnPublic]
    latencies: Latencies
    purged_at: datetime | None
