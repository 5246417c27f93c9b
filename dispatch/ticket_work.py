"""Officers' work on a ticket: acknowledge it, change its status, link it to an
earlier report, hand it to someone, add a note, and who is texted about it.

Each function works inside the caller's transaction on a ticket row it locks, and
returns what changed; dispatch/read_models.py turns that into what the web shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from dispatch import escalation
from dispatch.audit import actor_of, record_event
from dispatch.caller_sms import tell_callers_closed
from dispatch.duplicates import link_to_original
from dispatch.kinds import ComplaintKind
from dispatch.models import (
    OPEN_STATUSES,
    Call,
    Department,
    Staff,
    Ticket,
    TicketNote,
    TicketStatus,
)
from dispatch.numbering import clean_number
from dispatch.outbox import notify_staff
from dispatch.outbox_texts import officer_notice
from dispatch.routing import Target, route
from dispatch.ticket_status import (
    InvalidTransition,
    change_status,
    check_move,
    may_move,
    requested_status,
)

CALLER = "caller"  # the author and audit actor of what a caller adds on the phone


class TicketNotFound(LookupError):
    pass


class UnknownStaff(LookupError):
    pass


def ticket_for_update(session: Session, number: str) -> Ticket:
    ticket = session.exec(
        select(Ticket).where(Ticket.number == clean_number(number)).with_for_update()
    ).first()
    if ticket is None:
        raise TicketNotFound(f"no ticket {number}")
    return ticket


def active_staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise UnknownStaff(f"no active staff member {staff_id}")
    return staff


def _staff_or_system(session: Session, staff_id: int | None) -> Staff | None:
    return active_staff(session, staff_id) if staff_id is not None else None


def acknowledge(session: Session, *, number: str, staff_id: int, at: datetime) -> Ticket:
    ticket = ticket_for_update(session, number)
    staff = active_staff(session, staff_id)
    if ticket.status in (TicketStatus.ACKNOWLEDGED, TicketStatus.IN_PROGRESS):
        return ticket  # already seen: nothing changes
    if ticket.status != TicketStatus.NEW:
        raise InvalidTransition(f"ticket {ticket.number} is {ticket.status}")
    change_status(
        session, ticket=ticket, new=TicketStatus.ACKNOWLEDGED, at=at, staff=staff, reason=None
    )
    ticket.acknowledged_at = at
    ticket.acknowledged_by_id = staff.id
    if ticket.assigned_staff_id is None:
        reassign(session, ticket=ticket, target=staff, at=at, by=staff)
    session.add(ticket)
    return ticket


def set_status(
    session: Session,
    *,
    number: str,
    status: str,
    reason: str | None,
    staff_id: int | None,
    at: datetime,
    kinds: Mapping[str, ComplaintKind],
    escalation_minutes: int,
    base_url: str | None = None,
    locale: str = "en",
) -> Ticket:
    """Change a ticket's status. Closing needs a CloseReason code; a reason given
    for another status is kept in the audit trail."""
    new = requested_status(status, reason)
    ticket = ticket_for_update(session, number)
    staff = _staff_or_system(session, staff_id)
    if new == ticket.status:
        return ticket
    check_move(ticket, new)
    change_status(session, ticket=ticket, new=new, at=at, staff=staff, reason=reason)
    if new == TicketStatus.ACKNOWLEDGED and ticket.acknowledged_at is None:
        ticket.acknowledged_at = at
        ticket.acknowledged_by_id = staff.id if staff else None
    if new == TicketStatus.CLOSED:
        ticket.closed_at = at
        ticket.close_reason = reason
        tell_callers_closed(session, ticket, at)  # and the callers of its duplicates
    elif ticket.closed_at is not None:
        ticket.closed_at = None  # reopened
        ticket.close_reason = None
    if ticket.status == TicketStatus.NEW and ticket.duplicate_of_id is not None:
        # No longer a duplicate: it is worked (and escalated) on its own.
        record_event(
            session,
            ticket_id=ticket.id,
            action="duplicate_unlinked",
            at=at,
            actor=actor_of(staff),
            staff=staff,
            field="duplicate_of",
        )
        ticket.duplicate_of_id = None
        if ticket.assigned_name is None:  # filed as a duplicate: never routed
            department = session.get(Department, ticket.department_id)
            target = route(session, department.code, at).target
            give_to(ticket, target)
            ticket.routing_reason = target.reason
            notify_assignee(
                session, ticket=ticket, kinds=kinds, at=at, base_url=base_url, locale=locale
            )
        escalation.restart(session, ticket, at, escalation_minutes)
    session.add(ticket)
    return ticket


def link_duplicate(
    session: Session, *, number: str, original: str, staff_id: int | None, at: datetime
) -> Ticket:
    """An officer found that `number` reports the same thing as `original` (open)."""
    ticket = ticket_for_update(session, number)
    first = ticket_for_update(session, original)
    staff = _staff_or_system(session, staff_id)
    if first.id == ticket.id or first.duplicate_of_id is not None:
        raise InvalidTransition(f"{first.number} cannot be the original of {ticket.number}")
    if first.status not in OPEN_STATUSES:
        raise InvalidTransition(f"ticket {first.number} is {first.status}")
    if not may_move(ticket, TicketStatus.DUPLICATE):
        raise InvalidTransition(f"ticket {ticket.number} is {ticket.status}")
    change_status(
        session, ticket=ticket, new=TicketStatus.DUPLICATE, at=at, staff=staff, reason=None
    )
    ticket.duplicate_of_id = first.id
    session.add(ticket)
    link_to_original(session, ticket=ticket, original=first, at=at, actor=actor_of(staff))
    return ticket


def assign(
    session: Session, *, number: str, to_staff_id: int, staff_id: int | None, at: datetime
) -> Ticket:
    ticket = ticket_for_update(session, number)
    target = active_staff(session, to_staff_id)
    by = _staff_or_system(session, staff_id)
    reassign(session, ticket=ticket, target=target, at=at, by=by)
    session.add(ticket)
    return ticket


def add_note(
    session: Session, *, number: str, staff_id: int | None, body: str, at: datetime
) -> TicketNote:
    body = (body or "").strip()
    if not body:
        raise ValueError("a note needs some text")
    ticket = ticket_for_update(session, number)
    staff = _staff_or_system(session, staff_id)
    note = TicketNote(
        ticket_id=ticket.id,
        staff_id=staff.id if staff else None,
        author=staff.full_name if staff else "system",
        body=body,
        created_at=at,
    )
    session.add(note)
    ticket.updated_at = at
    session.add(ticket)
    session.flush()
    record_event(
        session,
        ticket_id=ticket.id,
        action="note_added",
        at=at,
        actor=actor_of(staff),
        staff=staff,
        detail=body[:200],
    )
    return note


def add_caller_note(session: Session, *, call_sid: str, text: str, at: datetime) -> str | None:
    """What a caller added after their ticket was filed, as a note on the call's latest
    ticket (author and audit actor "caller"); its number, or None if the call filed none."""
    body = (text or "").strip()
    if not body:
        raise ValueError("a note needs some text")
    ticket = session.exec(
        select(Ticket)
        .join(Call, col(Call.id) == Ticket.call_id)
        .where(Call.call_sid == call_sid)
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .with_for_update()
    ).first()
    if ticket is None:
        return None
    session.add(TicketNote(ticket_id=ticket.id, author=CALLER, body=body, created_at=at))
    ticket.updated_at = at
    session.add(ticket)
    session.flush()
    record_event(
        session, ticket_id=ticket.id, action="note_added", at=at, actor=CALLER, detail=body[:200]
    )
    return ticket.number


def reassign(
    session: Session, *, ticket: Ticket, target: Staff, at: datetime, by: Staff | None
) -> None:
    before = ticket.assigned_name
    ticket.assigned_staff_id = target.id
    ticket.assigned_name = target.full_name
    ticket.assigned_phone = target.phone
    ticket.routing_reason = "assigned"
    ticket.updated_at = at
    record_event(
        session,
        ticket_id=ticket.id,
        action="assigned",
        at=at,
        actor=actor_of(by),
        staff=by,
        field="assigned",
        old_value=before,
        new_value=target.full_name,
    )


def give_to(ticket: Ticket, target: Target) -> None:
    """Hand the ticket to whom routing found (a staff member or a contact)."""
    ticket.assigned_staff_id = target.staff_id
    ticket.assigned_name = target.name
    ticket.assigned_phone = target.phone


def notify_assignee(
    session: Session,
    *,
    ticket: Ticket,
    kinds: Mapping[str, ComplaintKind],
    at: datetime,
    base_url: str | None = None,
    locale: str = "en",
) -> None:
    """Text the ticket's assignee, and e-mail them when they are staff with an address
    (a fallback contact is only a phone number), through the outbox, in this transaction."""
    kind = kinds.get(ticket.kind) if ticket.kind else None
    details = {(kind.label(k) if kind else k): v for k, v in ticket.details.items()}
    # `locale`: the city's (DUTYLINE_LOCALE), the language its officers read.
    notice = officer_notice(
        ticket, details=details, escalated=False, base_url=base_url, locale=locale
    )
    staff = session.get(Staff, ticket.assigned_staff_id) if ticket.assigned_staff_id else None
    notify_staff(
        session,
        staff,
        phone=ticket.assigned_phone,
        sms_body=notice.sms,
        subject=notice.email.subject,
        email_body=notice.email.body,
        purpose="officer",
        at=at,
        ticket_id=ticket.id,
    )
