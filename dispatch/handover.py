"""The shift hand-over: what whoever comes on duty must know at once.

For a window [since, until) (a department's, from its last shift boundary to a shift
change: dispatch/shift_changes.py):
- the tickets filed in it, counted by kind, department and status;
- every ticket still waiting, from any time: not acknowledged yet, or escalated and
  still open, oldest first;
- its calls for review (a failure, or a caller turn heard or understood with low
  confidence by dispatch/review.py's thresholds, as the Calls page flags them; a ticket
  that needs triage), its voicemails, its emergency referrals and its transfers.

Its scope is a set of departments, or the whole line: an officer's is their own
department, and they see only the calls that led to one of its tickets (as in the
inbox); a supervisor's is the whole line, except the message the duty supervisor gets at
a change where others start (dispatch/handover_notices.py), scoped to those departments,
and what a supervisor asks for with `departments=parking,roads` (departments_named).
Times are in the city's time zone; caller numbers are masked. The read shapes are
pydantic models, the JSON API's too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from dispatch.contract import mask_phone
from dispatch.models import (
    OPEN_STATUSES,
    STATUS_LABELS,
    Call,
    Department,
    Ticket,
    TicketEvent,
    TicketStatus,
    Turn,
)
from dispatch.review import heard_unsure, understood_unsure, unsure_turn
from dispatch.shift_changes import ShiftWindow
from dispatch.ticket_status import status_label

WAITING_LIMIT = 200  # listed; the count says how many there are in all
VOICEMAIL_PREFIX = "voicemail:"  # how voice/ and nlu/ describe a voicemail ticket
# These calls have their own sections; a triage flag alone adds nothing about them.
OWN_SECTION = frozenset({"voicemail", "transferred", "emergency_referred"})


class HandoverTicket(BaseModel):
    number: str
    kind: str | None
    kind_name: str
    department_code: str
    department_name: str
    status: str
    status_label: str
    place: str | None  # the city's name for it, else the caller's words
    caller: str  # masked
    channel: str
    assigned_name: str | None
    needs_triage: bool
    triage_reason: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    escalations: int  # how many times it was escalated
    last_escalated_at: datetime | None


class HandoverCall(BaseModel):
    call_sid: str
    started_at: datetime
    caller: str  # masked
    outcome: str
    duration_seconds: float | None
    ticket_numbers: list[str]
    reasons: list[str]  # why it is up for review (empty outside that section)


class Count(BaseModel):
    code: str
    label: str
    count: int


class DepartmentName(BaseModel):
    code: str
    name: str


class HandoverSummary(BaseModel):
    since: datetime
    until: datetime
    timezone: str
    departments: list[DepartmentName]  # whose tickets it holds; empty: the whole line
    filed: list[HandoverTicket]  # oldest first
    by_kind: list[Count]
    by_department: list[Count]
    by_status: list[Count]
    waiting: list[HandoverTicket]  # oldest first, at most WAITING_LIMIT
    waiting_total: int
    unacknowledged_total: int
    escalated_total: int
    review: list[HandoverCall]
    voicemails: list[HandoverCall]
    emergency_referrals: list[HandoverCall]
    transfers: list[HandoverCall]

    @property
    def scope_name(self) -> str:
        """The departments' names, for headings; empty for the whole line."""
        return ", ".join(d.name for d in self.departments)


Scope = frozenset[int] | None  # department ids; None: the whole line


def scope_of(departments: Collection[int] | None) -> Scope:
    return None if departments is None else frozenset(departments)


def compile_handover(
    session: Session,
    window: ShiftWindow,
    timezone: str,
    *,
    departments: Collection[int] | None = None,
) -> HandoverSummary:
    """The hand-over of the window for these departments (ids; None: the whole line)."""
    tz = ZoneInfo(timezone)
    scope = scope_of(departments)
    known = {d.id: d for d in session.exec(select(Department)).all()}
    query = select(Ticket).where(
        Ticket.created_at >= window.since, Ticket.created_at < window.until
    )
    if scope is not None:
        query = query.where(col(Ticket.department_id).in_(scope))
    filed_rows = session.exec(query.order_by(col(Ticket.created_at), col(Ticket.id))).all()
    waiting_rows, waiting_total, unacknowledged, escalated = _waiting(session, window, scope)
    escalations = _escalations(session, [t.id for t in [*filed_rows, *waiting_rows]])

    def shape(ticket: Ticket) -> HandoverTicket:
        return _ticket(ticket, known, escalations.get(ticket.id), tz)

    filed = [shape(t) for t in filed_rows]
    calls = _calls(session, window, scope, tz)
    named = sorted((known[i] for i in scope or () if i in known), key=lambda d: d.name)
    return HandoverSummary(
        since=window.since.astimezone(tz),
        until=window.until.astimezone(tz),
        timezone=timezone,
        departments=[DepartmentName(code=d.code, name=d.name) for d in named],
        filed=filed,
        by_kind=_counts((t.kind or "", t.kind_name) for t in filed),
        by_department=_counts((t.department_code, t.department_name) for t in filed),
        by_status=_counts((t.status, STATUS_LABELS.get(t.status, t.status)) for t in filed),
        waiting=[shape(t) for t in waiting_rows],
        waiting_total=waiting_total,
        unacknowledged_total=unacknowledged,
        escalated_total=escalated,
        review=[c for c, _ in calls if c.reasons],
        voicemails=[c for c, voicemail in calls if voicemail],
        emergency_referrals=[c for c, _ in calls if c.outcome == "emergency_referred"],
        transfers=[c for c, _ in calls if c.outcome == "transferred"],
    )


def _waiting(
    session: Session, window: ShiftWindow, scope: Scope
) -> tuple[list[Ticket], int, int, int]:
    """Open tickets filed before the hand-over that nobody acknowledged or that were
    escalated; the first WAITING_LIMIT oldest first, how many in all, and of each kind."""
    escalated = select(TicketEvent.ticket_id).where(TicketEvent.action == "escalated")
    condition = [
        Ticket.created_at < window.until,
        col(Ticket.status).in_([s.value for s in OPEN_STATUSES]),
        or_(Ticket.status == TicketStatus.NEW, col(Ticket.id).in_(escalated)),
    ]
    if scope is not None:
        condition.append(col(Ticket.department_id).in_(scope))
    rows = session.exec(
        select(Ticket)
        .where(*condition)
        .order_by(col(Ticket.created_at), col(Ticket.id))
        .limit(WAITING_LIMIT)
    ).all()
    total = session.exec(select(func.count(col(Ticket.id))).where(*condition)).one()
    new = session.exec(
        select(func.count(col(Ticket.id))).where(*condition, Ticket.status == TicketStatus.NEW)
    ).one()
    was_escalated = session.exec(
        select(func.count(col(Ticket.id))).where(*condition, col(Ticket.id).in_(escalated))
    ).one()
    return list(rows), int(total), int(new), int(was_escalated)


def _escalations(
    session: Session, ticket_ids: Sequence[int | None]
) -> dict[int, tuple[int, datetime]]:
    ids = sorted({i for i in ticket_ids if i is not None})
    if not ids:
        return {}
    rows = session.exec(
        select(TicketEvent.ticket_id, func.count(col(TicketEvent.id)), func.max(TicketEvent.at))
        .where(TicketEvent.action == "escalated", col(TicketEvent.ticket_id).in_(ids))
        .group_by(col(TicketEvent.ticket_id))
    ).all()
    # max() keeps the column's type, so the time comes back aware (UTC) on SQLite too.
    return {ticket_id: (int(count), last) for ticket_id, count, last in rows}


def _ticket(
    ticket: Ticket,
    departments: dict[int | None, Department],
    escalated: tuple[int, datetime] | None,
    tz: ZoneInfo,
) -> HandoverTicket:
    department = departments.get(ticket.department_id)
    return HandoverTicket(
        number=ticket.number,
        kind=ticket.kind,
        kind_name=ticket.kind_name,
        department_code=department.code if department else "",
        department_name=department.name if department else "",
        status=ticket.status,
        status_label=status_label(ticket),
        place=ticket.place_name or ticket.location_text,
        caller=mask_phone(ticket.caller_number),
        channel=ticket.channel,
        assigned_name=ticket.assigned_name,
        needs_triage=ticket.needs_triage,
        triage_reason=ticket.triage_reason,
        created_at=ticket.created_at.astimezone(tz),
        acknowledged_at=ticket.acknowledged_at.astimezone(tz) if ticket.acknowledged_at else None,
        escalations=escalated[0] if escalated else 0,
        last_escalated_at=escalated[1].astimezone(tz) if escalated else None,
    )


def _counts(pairs: Iterable[tuple[str, str]]) -> list[Count]:
    """(code, label) pairs -> counts, most first, then by label."""
    counted = Counter(pairs)
    return [
        Count(code=code, label=label, count=n)
        for (code, label), n in sorted(counted.items(), key=lambda item: (-item[1], item[0][1]))
    ]


def _calls(
    session: Session, window: ShiftWindow, scope: Scope, tz: ZoneInfo
) -> list[tuple[HandoverCall, bool]]:
    """The shift's calls that have something to say in the hand-over, oldest first, each
    with whether it was a voicemail."""
    calls = session.exec(
        select(Call)
        .where(Call.started_at >= window.since, Call.started_at < window.until)
        .order_by(col(Call.started_at), col(Call.id))
    ).all()
    ids = [c.id for c in calls]
    if not ids:
        return []
    tickets: dict[int, list[Ticket]] = {}
    for ticket in session.exec(
        select(Ticket).where(col(Ticket.call_id).in_(ids)).order_by(col(Ticket.id))
    ).all():
        tickets.setdefault(ticket.call_id, []).append(ticket)  # type: ignore[arg-type]
    unsure = _unsure_turns(session, ids)
    found = []
    for call in calls:
        own = tickets.get(call.id, [])
        if scope is not None and not any(t.department_id in scope for t in own):
            continue  # a department's hand-over: only the calls behind its tickets
        # voice/ files a voicemail on an unanswered transfer, nlu/ when nobody is on duty.
        voicemail = call.outcome == "voicemail" or any(
            (t.description or "").lower().startswith(VOICEMAIL_PREFIX) for t in own
        )
        reasons = _reasons(call, own, unsure.get(call.id, (0, 0)), voicemail)
        if not (reasons or voicemail or call.outcome in OWN_SECTION):
            continue
        duration = (call.ended_at - call.started_at).total_seconds() if call.ended_at else None
        entry = HandoverCall(
            call_sid=call.call_sid,
            started_at=call.started_at.astimezone(tz),
            caller=mask_phone(call.caller_number),
            outcome=call.outcome,
            duration_seconds=duration,
            ticket_numbers=[t.number for t in own],
            reasons=reasons,
        )
        found.append((entry, voicemail))
    return found


def _unsure_turns(session: Session, call_ids: list[int | None]) -> dict[int, tuple[int, int]]:
    """Per call: caller turns heard with low confidence, and understood with low confidence."""
    rows = session.exec(
        select(Turn.call_id, Turn.asr_confidence, Turn.intent_confidence).where(
            col(Turn.call_id).in_(call_ids),
            Turn.speaker == "caller",
            unsure_turn(),
        )
    ).all()
    found: dict[int, tuple[int, int]] = {}
    for call_id, asr, intent in rows:
        heard, understood = found.get(call_id, (0, 0))
        found[call_id] = (
            heard + heard_unsure(asr),
            understood + understood_unsure(intent),
        )
    return found


def _reasons(
    call: Call, tickets: list[Ticket], unsure: tuple[int, int], voicemail: bool
) -> list[str]:
    reasons = []
    if call.outcome == "failed":
        reasons.append("a component failed during the call")
    if call.outcome == "refused_at_capacity":
        reasons.append("the line was full: the caller was given the emergency number only")
    heard, understood = unsure
    if heard:
        reasons.append(f"{heard} caller turn(s) heard with low confidence")
    if understood:
        reasons.append(f"{understood} caller turn(s) understood with low confidence")
    if not voicemail and call.outcome not in OWN_SECTION:
        for ticket in tickets:
            if ticket.needs_triage and ticket.status in OPEN_STATUSES:
                reasons.append(f"ticket {ticket.number} needs triage: {ticket.triage_reason}")
    return reasons


class UnknownDepartment(ValueError):
    """A department code asked for that the line does not have."""


def departments_named(session: Session, codes: str) -> frozenset[int] | None:
    """Department ids from comma-separated codes ("parking,roads"); None when none given."""
    wanted = [code.strip() for code in codes.split(",") if code.strip()]
    if not wanted:
        return None
    found = dict(
        session.exec(
            select(Department.code, Department.id).where(col(Department.code).in_(wanted))
        ).all()
    )
    missing = [code for code in wanted if code not in found]
    if missing:
        raise UnknownDepartment(f"departments: there is no department {missing[0]!r}")
    return frozenset(i for i in found.values() if i is not None)


def reader_scope(session: Session, own: int | None, codes: str) -> Scope:
    """Whose tickets a reader sees: an officer (`own`, their department) only their own;
    a supervisor (`own` None) the departments named in `codes`, else the whole line."""
    return frozenset({own}) if own is not None else departments_named(session, codes)
