"""The ticket status machine: which status may follow which, and the one place a
status changes (audit event, escalation stopped). An illegal move raises."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from dispatch import escalation
from dispatch.audit import actor_of, record_event
from dispatch.i18n import translate
from dispatch.models import (
    CLOSE_REASON_LABELS,
    OPEN_STATUSES,
    STATUS_LABELS,
    CloseReason,
    Staff,
    Ticket,
    TicketStatus,
)

# Which status may follow which. Anything else raises InvalidTransition.
TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset(
        {
            TicketStatus.ACKNOWLEDGED,
            TicketStatus.IN_PROGRESS,
            TicketStatus.DUPLICATE,
            TicketStatus.CLOSED,
        }
    ),
    TicketStatus.ACKNOWLEDGED: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.DUPLICATE, TicketStatus.CLOSED}
    ),
    TicketStatus.IN_PROGRESS: frozenset(
        {TicketStatus.ACKNOWLEDGED, TicketStatus.DUPLICATE, TicketStatus.CLOSED}
    ),
    TicketStatus.DUPLICATE: frozenset({TicketStatus.NEW, TicketStatus.CLOSED}),  # not one after all
    TicketStatus.CLOSED: frozenset({TicketStatus.IN_PROGRESS}),  # reopened
}


class InvalidTransition(ValueError):
    pass


def requested_status(status: str, reason: str | None) -> TicketStatus:
    """The status an officer asked for; closing needs a CloseReason code."""
    try:
        new = TicketStatus(status)
    except ValueError:
        raise InvalidTransition(f"unknown status {status!r}") from None
    if new == TicketStatus.CLOSED:
        try:
            CloseReason(reason or "")
        except ValueError:
            codes = ", ".join(r.value for r in CloseReason)
            raise InvalidTransition(f"closing needs a reason: one of {codes}") from None
    return new


def may_move(ticket: Ticket, new: TicketStatus) -> bool:
    return new in TRANSITIONS[TicketStatus(ticket.status)]


def check_move(ticket: Ticket, new: TicketStatus) -> None:
    if not may_move(ticket, new):
        raise InvalidTransition(f"ticket {ticket.number}: {ticket.status} -> {new} is not allowed")


def change_status(
    session: Session,
    *,
    ticket: Ticket,
    new: TicketStatus,
    at: datetime,
    staff: Staff | None,
    reason: str | None,
) -> None:
    """Set the status, write it in the trail; a ticket leaving NEW stops escalating."""
    old = ticket.status
    ticket.status = new
    ticket.updated_at = at
    record_event(
        session,
        ticket_id=ticket.id,
        action="status",
        at=at,
        actor=actor_of(staff),
        staff=staff,
        field="status",
        old_value=old,
        new_value=new,
        detail=reason,
    )
    if old == TicketStatus.NEW and new != TicketStatus.NEW:
        escalation.stop(session, ticket.id, at, "acknowledged" if new in OPEN_STATUSES else new)


def spoken_status(ticket: Ticket, locale: str | None) -> str:
    """status_label in a caller's language (dispatch/locales)."""
    label = translate(locale, STATUS_LABELS.get(ticket.status, ticket.status))
    if ticket.status == TicketStatus.CLOSED and ticket.close_reason:
        reason = CLOSE_REASON_LABELS.get(ticket.close_reason, ticket.close_reason)
        label = f"{label}: {translate(locale, reason)}"
    return label


def status_label(ticket: Ticket) -> str:
    """What an officer or a caller is told: "Closed: Fixed"."""
    label = STATUS_LABELS.get(ticket.status, ticket.status)
    if ticket.status == TicketStatus.CLOSED and ticket.close_reason:
        label = f"{label}: {CLOSE_REASON_LABELS.get(ticket.close_reason, ticket.close_reason)}"
    return label
