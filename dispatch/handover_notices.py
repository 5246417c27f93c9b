"""The hand-over as a message at the shift change, sent once.

At each shift change T (an instant some roster shift starts; dispatch/shift_changes.py)
each person gets one message through the outbox: an SMS with a short summary and a link
to the page, and an e-mail with the full summary when they have an address.

- Whoever starts a shift of department D at T gets D's window: [D's last boundary (a
  start or end of its shifts) before T, T). An officer's is scoped to D; a supervisor's
  to the whole line (at 08:00 the day supervisor gets the night since 20:00, all of it).
- The duty supervisor on at T who is not starting then gets the departments starting
  at T, their tickets together since the earliest of their windows (on Monday 07:00 the
  night supervisor gets parking's and roads' since parking's Saturday 23:00).

Sent once, whatever the number of app processes: the `Handover` row of T (unique on the
instant; `since` the earliest window's start) is written in the same transaction as all
of T's messages, so the first process to commit sends them and the others' inserts
fail. Changes older than SEND_LOOK_BACK are left alone, so a restart after a long stop
does not send stale ones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from dispatch.db import session_scope
from dispatch.handover import (
    HandoverCall,
    HandoverSummary,
    HandoverTicket,
    Scope,
    compile_handover,
)
from dispatch.models import Department, Handover, Staff
from dispatch.outbox import SMS_MAX_CHARS, enqueue, enqueue_email
from dispatch.routing import Target, duty_supervisor
from dispatch.shift_changes import (
    INSTANT,
    LOOK_BACK,
    RosterShift,
    ShiftWindow,
    changes_between,
    of_department,
    roster_shifts,
    starting_at,
    window_at,
)

log = logging.getLogger("dutyline.dispatch.handover")

SEND_LOOK_BACK = timedelta(hours=1)
PURPOSE = "handover"


@dataclass(frozen=True)
class Recipient:
    staff_id: int | None  # None: the triage desk standing in for a duty supervisor
    name: str
    phone: str | None
    email: str | None
    departments: Scope  # whose tickets they get; None: the whole line
    window: ShiftWindow


def send_due(engine: Engine, *, now: datetime, timezone: str, base_url: str) -> list[datetime]:
    """Send the hand-over of every shift change in the last hour not sent yet; the
    changes this call sent."""
    with session_scope(engine) as session:
        shifts = roster_shifts(session)
    sent = []
    for change in changes_between(shifts, now - SEND_LOOK_BACK, now + INSTANT):
        try:
            with session_scope(engine, write=True) as session:
                claimed = _send_one(session, shifts, change, now, timezone, base_url)
        except IntegrityError:  # another process committed this hand-over first
            log.info("hand-over at %s sent by another process", change.isoformat())
            continue
        if claimed:
            sent.append(change)
    return sent


def _send_one(
    session: Session,
    shifts: Sequence[RosterShift],
    change: datetime,
    now: datetime,
    timezone: str,
    base_url: str,
) -> bool:
    done = session.exec(select(Handover.id).where(Handover.shift_change_at == change)).first()
    if done is not None:
        return False
    people = recipients(session, shifts, change)
    since = min((p.window.since for p in people), default=change - INSTANT)
    claim = Handover(shift_change_at=change, since=since, until=change, created_at=now)
    session.add(claim)
    session.flush()  # the claim: on PostgreSQL a second process waits here, then fails
    codes = dict(session.exec(select(Department.id, Department.code)).all())
    summaries: dict[tuple[Scope, ShiftWindow], HandoverSummary] = {}
    for person in people:
        key = (person.departments, person.window)
        if key not in summaries:
            summaries[key] = compile_handover(
                session, person.window, timezone, departments=person.departments
            )
        summary = summaries[key]
        scope = None if person.departments is None else [codes[i] for i in person.departments]
        link = handover_link(base_url, person.window, timezone, scope)
        enqueue(session, to=person.phone, body=sms_text(summary, link), purpose=PURPOSE, at=now)
        enqueue_email(
            session,
            to=person.email,
            subject=subject(summary),
            body=email_text(summary, link),
            purpose=PURPOSE,
            at=now,
        )
    claim.recipients = len(people)
    session.add(claim)
    log.info("hand-over at %s sent to %d people", change.isoformat(), len(people))
    return True


def recipients(
    session: Session, shifts: Sequence[RosterShift], change: datetime
) -> list[Recipient]:
    """Whoever starts a shift at the change, then the duty supervisor on at it; each once,
    with the departments and window of their hand-over (rules in the module doc)."""
    windows: dict[int, ShiftWindow] = {}

    def window_of(departments: set[int]) -> ShiftWindow:
        """The departments' windows at the change together: since the earliest."""
        for department in departments - windows.keys():
            # A shift of it starts at the change, so it has a boundary within LOOK_BACK.
            own = window_at(of_department(shifts, department), change)
            windows[department] = own or ShiftWindow(change - LOOK_BACK, change)
        return ShiftWindow(min(windows[d].since for d in departments), change)

    starting = starting_at(shifts, change)
    found: list[Recipient] = []
    for staff_id in dict.fromkeys(s.staff_id for s in starting):  # roster order, once each
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active:
            continue
        theirs = [s for s in starting if s.staff_id == staff_id]
        if any(s.supervisor for s in theirs):  # the whole line, over their department's window
            scope, departments = None, {s.department_id for s in theirs if s.supervisor}
        else:
            departments = {s.department_id for s in theirs}
            scope = frozenset(departments)
        window = window_of(departments)
        found.append(Recipient(staff.id, staff.full_name, staff.phone, staff.email, scope, window))
    supervisor = duty_supervisor(session, change)
    if supervisor is None or not starting or _already(found, supervisor):
        return found
    staff = session.get(Staff, supervisor.staff_id) if supervisor.staff_id is not None else None
    departments = {s.department_id for s in starting}
    found.append(
        Recipient(
            supervisor.staff_id,
            supervisor.name or "",
            supervisor.phone,
            staff.email if staff is not None else None,
            frozenset(departments),
            window_of(departments),
        )
    )
    return found


def _already(found: list[Recipient], supervisor: Target) -> bool:
    """Is the duty supervisor (or the triage desk standing in) among those starting?"""
    if supervisor.staff_id is not None:
        return any(r.staff_id == supervisor.staff_id for r in found)
    return not supervisor.phone or any(r.phone == supervisor.phone for r in found)


# --- the texts -----------------------------------------------------------------------


def iso(at: datetime, timezone: str) -> str:
    """For links: the city's wall-clock time with its offset, to the minute when whole."""
    local = at.astimezone(ZoneInfo(timezone))
    return local.isoformat(timespec="minutes" if local.second == 0 else "seconds")


def handover_link(
    base_url: str, window: ShiftWindow, timezone: str, departments: Sequence[str] | None = None
) -> str:
    """The page of this hand-over; `departments` (codes) narrows a supervisor's to them."""
    query = {"since": iso(window.since, timezone), "until": iso(window.until, timezone)}
    if departments:
        query["departments"] = ",".join(sorted(departments))
    return f"{base_url.rstrip('/')}/handover?{urlencode(query, safe=':,')}"


def when(at: datetime) -> str:
    return at.strftime("%a %d %b %H:%M")


def shift_text(summary: HandoverSummary) -> str:
    since, until = summary.since, summary.until
    end = until.strftime("%H:%M") if since.date() == until.date() else when(until)
    return f"{when(since)}–{end}"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def headline(summary: HandoverSummary) -> list[str]:
    """The hand-over in a few phrases, for the SMS and the e-mail's subject."""
    parts = [_plural(len(summary.filed), "ticket") + " filed"]
    if summary.waiting_total:
        parts.append(
            f"{summary.waiting_total} waiting ({summary.unacknowledged_total} not acknowledged, "
            f"{summary.escalated_total} escalated)"
        )
    for items, one, many in (
        (summary.voicemails, "voicemail", None),
        (summary.emergency_referrals, "emergency referral", None),
        (summary.transfers, "transfer", None),
        (summary.review, "call to review", "calls to review"),
    ):
        if items:
            parts.append(_plural(len(items), one, many))
    return parts


def _scope(summary: HandoverSummary) -> str:
    return f" ({summary.scope_name})" if summary.scope_name else ""


def subject(summary: HandoverSummary) -> str:
    return f"Hand-over {when(summary.until)}{_scope(summary)}: " + ", ".join(headline(summary)[:2])


def sms_text(summary: HandoverSummary, link: str) -> str:
    text = f"dutyline hand-over{_scope(summary)}, shift {shift_text(summary)}: "
    text += "; ".join(headline(summary)) + "."
    room = SMS_MAX_CHARS - len(link) - 1
    if len(text) > room:
        text = text[: room - 1] + "…"
    return f"{text} {link}"


def _ticket_line(ticket: HandoverTicket) -> str:
    line = f"  {ticket.number}  {when(ticket.created_at)}  {ticket.kind_name}"
    line += f" at {ticket.place or 'no place given'}; {ticket.department_name}"
    line += f"; {ticket.status_label}; caller {ticket.caller}"
    if ticket.escalations:
        line += f"; escalated {_plural(ticket.escalations, 'time')}"
    if ticket.assigned_name:
        line += f"; with {ticket.assigned_name}"
    return line


def _call_line(call: HandoverCall) -> str:
    line = f"  {when(call.started_at)}  caller {call.caller}"
    if call.ticket_numbers:
        line += f"; ticket {', '.join(call.ticket_numbers)}"
    if call.reasons:
        line += f"; {'; '.join(call.reasons)}"
    return line


def email_text(summary: HandoverSummary, link: str) -> str:
    lines = [
        f"Hand-over at {when(summary.until)}{_scope(summary)}, times in {summary.timezone}.",
        f"The shift: {shift_text(summary)}.",
        f"On the page: {link}",
        "",
        f"Tickets filed in the shift: {len(summary.filed)}",
    ]
    for title, counts in (
        ("By kind", summary.by_kind),
        ("By department", summary.by_department),
        ("By status", summary.by_status),
    ):
        if counts:
            lines.append(f"  {title}: " + ", ".join(f"{c.label} {c.count}" for c in counts))
    lines += [_ticket_line(t) for t in summary.filed]
    lines += [
        "",
        f"Still waiting, from any time, oldest first: {summary.waiting_total} "
        f"({summary.unacknowledged_total} not acknowledged, {summary.escalated_total} escalated)",
    ]
    lines += [_ticket_line(t) for t in summary.waiting]
    if summary.waiting_total > len(summary.waiting):
        lines.append(f"  … and {summary.waiting_total - len(summary.waiting)} more on the page")
    for title, calls in (
        ("Calls to review", summary.review),
        ("Voicemails", summary.voicemails),
        ("Sent to the emergency number", summary.emergency_referrals),
        ("Transferred to a person", summary.transfers),
    ):
        lines += ["", f"{title}: {len(calls)}", *(_call_line(c) for c in calls)]
    return "\n".join(lines) + "\n"
