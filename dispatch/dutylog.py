"""The duty log: every call and every ticket of one day, for the city's records.

A day is a calendar day in the city's time zone (DispatchSettings.timezone): from local
midnight to the next local midnight, so 23 or 25 hours long on the days the clocks change.

One row shape for everything (`DutyLogRow`, columns in `COLUMNS`):

- one row per ticket, with the facts of the call it was filed on; a call that filed two
  tickets gives two rows, its facts on each;
- one row per call that left no ticket (hang-ups, status checks, emergency referrals,
  transfers, voicemail, silent callers), its ticket columns empty;
- tickets that came without a call (Open311, the API) are ticket rows with the call
  columns empty and their channel named.

A row belongs to the day its call came in, or for a ticket without a call the day it was
filed: a call at 23:58 whose ticket is filed at 00:01 is in the earlier day's log, once.
Rows are in order of that time. Status, acknowledgement and closing are as they stand when
the log is made. Callers' numbers are masked (dispatch.contract.mask_phone); the log is
made on demand from the tables, so the retention purge reaches it by purging them.

The files (CSV, spreadsheet) are written by dispatch/dutylog_files.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from dispatch.contract import mask_phone
from dispatch.labels import OUTCOME_LABELS
from dispatch.models import Call, Department, Staff, Ticket, TicketStatus
from dispatch.ticket_status import status_label

CHANNEL_LABELS = {"phone": "Phone", "open311": "Open311", "api": "API"}
DATE_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class DutyLogRow:
    """One line of the log. Times are aware (UTC); the writers show them in the city's zone."""

    received_at: datetime  # the call came in, or the ticket without a call was filed
    channel: str
    caller: str  # masked
    call_ended_at: datetime | None
    call_outcome: str
    ticket_number: str
    filed_at: datetime | None
    kind: str
    department: str
    place: str
    status: str
    acknowledged_by: str
    acknowledged_at: datetime | None
    closed_at: datetime | None
    call_reference: str  # the telephony provider's call id, to find the call's page


@dataclass(frozen=True)
class Column:
    header: str  # as a city clerk reads it
    field: str  # the DutyLogRow attribute
    width: int  # spreadsheet column width, in characters


COLUMNS: tuple[Column, ...] = (
    Column("Received", "received_at", 17),
    Column("Channel", "channel", 9),
    Column("Caller", "caller", 15),
    Column("Call ended", "call_ended_at", 17),
    Column("Call outcome", "call_outcome", 24),
    Column("Ticket", "ticket_number", 12),
    Column("Filed", "filed_at", 17),
    Column("Kind", "kind", 24),
    Column("Department", "department", 22),
    Column("Place", "place", 34),
    Column("Status", "status", 28),
    Column("Acknowledged by", "acknowledged_by", 20),
    Column("Acknowledged", "acknowledged_at", 17),
    Column("Closed", "closed_at", 17),
    Column("Call reference", "call_reference", 36),
)


@dataclass(frozen=True)
class DutyLog:
    day: date
    timezone: str
    start: datetime  # local midnight, as an aware UTC instant
    end: datetime  # the next local midnight (exclusive)
    rows: list[DutyLogRow]

    @property
    def hours(self) -> float:
        return (self.end - self.start) / timedelta(hours=1)


def parse_day(raw: str) -> date:
    """'2026-12-07' -> date; anything else is a ValueError saying what is expected."""
    try:
        return datetime.strptime(raw.strip(), DATE_FORMAT).date()
    except ValueError:
        raise ValueError(f"Not a date: {raw!r} (use YYYY-MM-DD, e.g. 2026-12-07)") from None


def yesterday(timezone: str, now: datetime | None = None) -> date:
    """The day before today in the city (the night just ended, in the morning)."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone))
    return local.date() - timedelta(days=1)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight, as UTC instants. Built from wall-clock
    midnights (not start + 24 h), so a DST day is 23 or 25 hours; zoneinfo's fold=0 maps a
    midnight skipped by a forward change to the change itself and a repeated one to its
    first occurrence, which is where the day starts either way."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(day, time(), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
    return start, end


def build_duty_log(*, session: Session, day: date, timezone: str) -> DutyLog:
    start, end = day_bounds(day, timezone)
    calls = session.exec(
        select(Call).where(col(Call.started_at) >= start, col(Call.started_at) < end)
    ).all()
    # Tickets of those calls: a join, not a list of ids, however busy the night was.
    on_calls = session.exec(
        select(Ticket)
        .join(Call, col(Call.id) == col(Ticket.call_id))
        .where(col(Call.started_at) >= start, col(Call.started_at) < end)
    ).all()
    without_call = session.exec(
        select(Ticket).where(
            col(Ticket.call_id).is_(None),
            col(Ticket.created_at) >= start,
            col(Ticket.created_at) < end,
        )
    ).all()
    names = _Names.load(session, [*on_calls, *without_call])
    by_call: dict[int, list[Ticket]] = {}
    for ticket in on_calls:
        by_call.setdefault(ticket.call_id or 0, []).append(ticket)
    rows = [_ticket_row(t, None, names) for t in without_call]
    for call in calls:
        tickets = by_call.get(call.id or 0, [])
        rows += [_ticket_row(t, call, names) for t in tickets] or [_call_row(call)]
    rows.sort(key=lambda r: (r.received_at, r.filed_at or r.received_at, r.ticket_number))
    return DutyLog(day=day, timezone=timezone, start=start, end=end, rows=rows)


@dataclass(frozen=True)
class _Names:
    departments: dict[int, str]
    staff: dict[int, str]
    originals: dict[int, str]  # ticket id -> number, of the tickets duplicates were added to

    @classmethod
    def load(cls, session: Session, tickets: list[Ticket]) -> _Names:
        original_ids = {t.duplicate_of_id for t in tickets if t.duplicate_of_id}
        originals = (
            session.exec(select(Ticket.id, Ticket.number).where(col(Ticket.id).in_(original_ids)))
            if original_ids
            else []
        )
        return cls(
            departments={d.id: d.name for d in session.exec(select(Department)) if d.id},
            staff={s.id: s.full_name for s in session.exec(select(Staff)) if s.id},
            originals={ticket_id: number for ticket_id, number in originals if ticket_id},
        )


def _place(ticket: Ticket) -> str:
    place = ticket.place_name or ticket.location_text or ""
    # Only the caller's words were kept: no place of the city's data matched them.
    if place and ticket.place_verified is False:
        return f"{place} (unverified)"
    return place


def _status(ticket: Ticket, names: _Names) -> str:
    original = names.originals.get(ticket.duplicate_of_id or 0)
    if ticket.status == TicketStatus.DUPLICATE and original:
        return f"{status_label(ticket)}: {original}"
    return status_label(ticket)


def _caller(number: str | None, call: Call | None) -> str:
    if number is None and call is None:
        return ""  # an Open311/API report without a phone number
    return mask_phone(number)


def _call_row(call: Call) -> DutyLogRow:
    return DutyLogRow(
        received_at=call.started_at,
        channel=CHANNEL_LABELS["phone"],
        caller=mask_phone(call.caller_number),
        call_ended_at=call.ended_at,
        call_outcome=OUTCOME_LABELS.get(call.outcome, call.outcome),
        ticket_number="",
        filed_at=None,
        kind="",
        department="",
        place="",
        status="",
        acknowledged_by="",
        acknowledged_at=None,
        closed_at=None,
        call_reference=call.call_sid,
    )


def _ticket_row(ticket: Ticket, call: Call | None, names: _Names) -> DutyLogRow:
    acknowledged_by = names.staff.get(ticket.acknowledged_by_id or 0, "")
    return DutyLogRow(
        received_at=call.started_at if call else ticket.created_at,
        channel=CHANNEL_LABELS.get(ticket.channel, ticket.channel),
        caller=_caller(ticket.caller_number or (call.caller_number if call else None), call),
        call_ended_at=call.ended_at if call else None,
        call_outcome=OUTCOME_LABELS.get(call.outcome, call.outcome) if call else "",
        ticket_number=ticket.number,
        filed_at=ticket.created_at,
        kind=ticket.kind_name,
        department=names.departments.get(ticket.department_id, ""),
        place=_place(ticket),
        status=_status(ticket, names),
        acknowledged_by=acknowledged_by,
        acknowledged_at=ticket.acknowledged_at,
        closed_at=ticket.closed_at,
        call_reference=call.call_sid if call else "",
    )
