"""Read models: tickets and calls as officers, supervisors, Open311 and the dialogue
see them. Plain keyword-only functions taking a Session, like dispatch/pages/queries.py;
nothing here writes."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from dispatch.call_records import call_by_sid
from dispatch.contract import TicketView
from dispatch.i18n import LocalNames, translate
from dispatch.models import (
    OPEN_STATUSES,
    Call,
    Department,
    Escalation,
    Notification,
    Ticket,
    TicketEvent,
    TicketNote,
    TicketStatus,
    Turn,
    open311_status,
)
from dispatch.numbering import clean_number
from dispatch.public import (
    CallDetail,
    CallFilters,
    CallPublic,
    EventPublic,
    Latencies,
    NotePublic,
    NotificationPublic,
    TicketDetail,
    TicketFilters,
    TicketPublic,
    TurnPublic,
)
from dispatch.ticket_status import spoken_status, status_label

# --- tickets ----------------------------------------------------------------------------


def list_tickets(
    *, session: Session, filters: TicketFilters, department_id: int | None = None
) -> list[TicketPublic]:
    query = _ticket_query(select(Ticket), filters, department_id)
    order = col(Ticket.created_at).desc() if filters.newest_first else col(Ticket.created_at)
    rows = session.exec(
        query.order_by(order, col(Ticket.id)).offset(filters.offset).limit(filters.limit)
    ).all()
    return ticket_publics(session=session, tickets=rows)


def count_tickets(
    *, session: Session, filters: TicketFilters, department_id: int | None = None
) -> int:
    query = _ticket_query(select(func.count(col(Ticket.id))), filters, department_id)
    return int(session.exec(query).one())


def ticket_by_number(*, session: Session, number: str) -> Ticket | None:
    return session.exec(select(Ticket).where(Ticket.number == clean_number(number))).first()


def ticket_view(
    *, session: Session, number: str, locale: str | None = None, names: LocalNames | None = None
) -> TicketView | None:
    """A ticket as the dialogue reads it back to a caller, in the caller's language; a
    duplicate tells its original's."""
    digits = clean_number(number)
    if not digits:
        return None
    ticket = session.exec(select(Ticket).where(Ticket.number == digits)).first()
    if ticket is None:
        return None
    department = session.get(Department, ticket.department_id)
    label = spoken_status(ticket, locale)
    if ticket.duplicate_of_id:
        original = session.get(Ticket, ticket.duplicate_of_id)
        if original is not None:
            label = translate(locale, "Added to ticket {number}: {status}").format(
                number=original.number, status=spoken_status(original, locale)
            )
    department_name = department.name if department else ""
    if department is not None and names is not None:
        department_name = names.department(department.code, department.name, locale)
    return TicketView(
        number=ticket.number,
        kind=ticket.kind,
        kind_name=ticket.kind_name,
        status=ticket.status,
        status_label=label,
        department_name=department_name,
        location=ticket.place_name or ticket.location_text,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
    )


def ticket_for_call(*, session: Session, call_sid: str) -> str | None:
    """The number of the latest ticket filed on this call."""
    return session.exec(
        select(Ticket.number)
        .join(Call, col(Call.id) == Ticket.call_id)
        .where(Call.call_sid == call_sid)
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
    ).first()


def ticket_publics(*, session: Session, tickets: Sequence[Ticket]) -> list[TicketPublic]:
    departments = {d.id: d for d in session.exec(select(Department)).all()}
    call_ids = {t.call_id for t in tickets if t.call_id}
    calls = (
        {
            c.id: c.call_sid
            for c in session.exec(select(Call).where(col(Call.id).in_(call_ids))).all()
        }
        if call_ids
        else {}
    )
    original_ids = {t.duplicate_of_id for t in tickets if t.duplicate_of_id}
    originals = (
        {
            t.id: t.number
            for t in session.exec(select(Ticket).where(col(Ticket.id).in_(original_ids))).all()
        }
        if original_ids
        else {}
    )
    result = []
    for ticket in tickets:
        department = departments.get(ticket.department_id)
        result.append(
            TicketPublic(
                id=ticket.id,
                number=ticket.number,
                kind=ticket.kind,
                kind_name=ticket.kind_name,
                channel=ticket.channel,
                status=ticket.status,
                status_label=status_label(ticket),
                open311_status=open311_status(ticket.status),
                close_reason=ticket.close_reason,
                location_text=ticket.location_text,
                location_normalized=ticket.location_normalized,
                place_name=ticket.place_name,
                lat=ticket.lat,
                long=ticket.long,
                place_kind=ticket.place_kind,
                place_confidence=ticket.place_confidence,
                place_verified=ticket.place_verified,
                details=dict(ticket.details or {}),
                description=ticket.description,
                caller_number=ticket.caller_number,
                department_code=department.code if department else "",
                department_name=department.name if department else "",
                assigned_staff_id=ticket.assigned_staff_id,
                assigned_name=ticket.assigned_name,
                assigned_phone=ticket.assigned_phone,
                call_sid=calls.get(ticket.call_id) if ticket.call_id else None,
                duplicate_of=originals.get(ticket.duplicate_of_id)
                if ticket.duplicate_of_id
                else None,
                needs_triage=ticket.needs_triage,
                triage_reason=ticket.triage_reason,
                created_at=ticket.created_at,
                updated_at=ticket.updated_at,
                acknowledged_at=ticket.acknowledged_at,
                closed_at=ticket.closed_at,
            )
        )
    return result


def ticket_detail(*, session: Session, ticket: Ticket) -> TicketDetail:
    session.flush()
    public = ticket_publics(session=session, tickets=[ticket])[0]
    notes = session.exec(
        select(TicketNote).where(TicketNote.ticket_id == ticket.id).order_by(col(TicketNote.id))
    ).all()
    events = session.exec(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(col(TicketEvent.id))
    ).all()
    duplicates = session.exec(
        select(Ticket.number).where(Ticket.duplicate_of_id == ticket.id).order_by(col(Ticket.id))
    ).all()
    notifications = session.exec(
        select(Notification)
        .where(Notification.ticket_id == ticket.id)
        .order_by(col(Notification.id))
    ).all()
    state = session.exec(select(Escalation).where(Escalation.ticket_id == ticket.id)).first()
    return TicketDetail(
        **public.model_dump(),
        transcript=ticket.transcript,
        notes=[note_public(n) for n in notes],
        events=[EventPublic.model_validate(e, from_attributes=True) for e in events],
        duplicates=list(duplicates),
        notifications=[
            NotificationPublic.model_validate(n, from_attributes=True) for n in notifications
        ],
        escalation_step=state.step if state else None,
        escalation_due_at=state.due_at if state else None,
    )


def note_public(note: TicketNote) -> NotePublic:
    return NotePublic.model_validate(note, from_attributes=True)


def _ticket_query(query: Any, filters: TicketFilters, department_id: int | None) -> Any:
    if department_id is not None:
        query = query.where(Ticket.department_id == department_id)
    if filters.status:
        wanted: set[str] = set()
        for status in filters.status:
            if status == "open":
                wanted |= {s.value for s in OPEN_STATUSES}
            elif status == "closed":
                wanted |= {s.value for s in TicketStatus if s not in OPEN_STATUSES}
            else:
                wanted.add(status)
        query = query.where(col(Ticket.status).in_(sorted(wanted)))
    if filters.kind:
        query = query.where(col(Ticket.kind).in_(filters.kind))
    if filters.department_code:
        query = query.where(
            Ticket.department_id
            == select(Department.id)
            .where(Department.code == filters.department_code)
            .scalar_subquery()
        )
    if filters.numbers:
        query = query.where(col(Ticket.number).in_([clean_number(n) for n in filters.numbers]))
    if filters.created_from:
        query = query.where(Ticket.created_at >= filters.created_from)
    if filters.created_to:
        query = query.where(Ticket.created_at < filters.created_to)
    if filters.needs_triage is not None:
        query = query.where(Ticket.needs_triage == filters.needs_triage)
    if filters.assigned_staff_id is not None:
        query = query.where(Ticket.assigned_staff_id == filters.assigned_staff_id)
    if filters.text:
        pattern = f"%{filters.text.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(col(Ticket.location_text)).like(pattern),
                func.lower(col(Ticket.description)).like(pattern),
                func.lower(col(Ticket.place_name)).like(pattern),
                col(Ticket.number).like(pattern),
            )
        )
    return query


# --- calls ------------------------------------------------------------------------------


def list_calls(*, session: Session, filters: CallFilters) -> list[CallPublic]:
    query = select(Call)
    if filters.started_from:
        query = query.where(Call.started_at >= filters.started_from)
    if filters.started_to:
        query = query.where(Call.started_at < filters.started_to)
    if filters.outcome:
        query = query.where(col(Call.outcome).in_(filters.outcome))
    if filters.caller_number:
        query = query.where(Call.caller_number == filters.caller_number)
    calls = session.exec(
        query.order_by(col(Call.started_at).desc(), col(Call.id).desc())
        .offset(filters.offset)
        .limit(filters.limit)
    ).all()
    numbers = _numbers_by_call(session, [c.id for c in calls])
    return [_call_public(c, numbers.get(c.id, [])) for c in calls]


def call_detail(*, session: Session, call_sid: str) -> CallDetail | None:
    call = call_by_sid(session, call_sid)
    if call is None:
        return None
    turns = session.exec(
        select(Turn).where(Turn.call_id == call.id).order_by(col(Turn.index))
    ).all()
    numbers = _numbers_by_call(session, [call.id]).get(call.id, [])
    bot_turns = [t for t in turns if t.speaker == "bot"]
    values = [t.latency_ms for t in bot_turns if t.latency_ms is not None]
    stages: dict[str, list[int]] = {}
    for turn in bot_turns:
        for stage, ms in (turn.stage_ms or {}).items():
            stages.setdefault(stage, []).append(ms)
    return CallDetail(
        **_call_public(call, numbers).model_dump(),
        turns=[TurnPublic.model_validate(t, from_attributes=True) for t in turns],
        latencies=latencies(values, stages),
        purged_at=call.purged_at,
    )


def latencies(values: list[int], stages: dict[str, list[int]]) -> Latencies:
    """Median, 95th percentile and worst of the bot's reply times, and each stage's median."""
    stage_median = {name: float(statistics.median(ms)) for name, ms in stages.items() if ms}
    if not values:
        return Latencies(
            count=0, median_ms=None, p95_ms=None, max_ms=None, stage_median_ms=stage_median
        )
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return Latencies(
        count=len(values),
        median_ms=float(statistics.median(values)),
        p95_ms=float(p95),
        max_ms=max(values),
        stage_median_ms=stage_median,
    )


def _numbers_by_call(session: Session, call_ids: list[int | None]) -> dict[int, list[str]]:
    ids = [i for i in call_ids if i is not None]
    if not ids:
        return {}
    found: dict[int, list[str]] = {}
    for call_id, number in session.exec(
        select(Ticket.call_id, Ticket.number)
        .where(col(Ticket.call_id).in_(ids))
        .order_by(col(Ticket.id))
    ).all():
        found.setdefault(call_id, []).append(number)
    return found


def _call_public(call: Call, numbers: list[str]) -> CallPublic:
    duration = (call.ended_at - call.started_at).total_seconds() if call.ended_at else None
    return CallPublic(
        id=call.id,
        call_sid=call.call_sid,
        caller_number=call.caller_number,
        called_number=call.called_number,
        locale=call.locale,
        started_at=call.started_at,
        ended_at=call.ended_at,
        outcome=call.outcome,
        telephony_status=call.telephony_status,
        recording_path=call.recording_path,
        ticket_numbers=numbers,
        duration_seconds=duration,
    )
