"""The audit trail: the one way a change to a ticket is written down.

Filing, officers' work, escalation, the SMS outbox and the retention purge all
record through `record_event`, so every row has the same shape: who (a staff
username, "caller", "open311", or "system"), what, when, and the field it changed.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from dispatch.models import Staff, TicketEvent
from dispatch.webhooks.events import note_event

SYSTEM = "system"


def actor_of(staff: Staff | None) -> str:
    """The name an event is recorded under: the staff member's username, else the system."""
    return staff.username if staff else SYSTEM


def record_event(
    session: Session,
    *,
    ticket_id: int | None,
    action: str,
    at: datetime,
    actor: str = SYSTEM,
    staff: Staff | None = None,
    field: str | None = None,
    old_value: str | None = None,
    new_value: str | None = None,
    detail: str | None = None,
) -> TicketEvent:
    """Add one event to the ticket's trail (in the caller's transaction)."""
    event = TicketEvent(
        ticket_id=ticket_id,
        at=at,
        staff_id=staff.id if staff else None,
        actor=actor,
        action=action,
        field=field,
        old_value=old_value,
        new_value=new_value,
        detail=detail,
    )
    session.add(event)
    note_event(session, event)  # webhooks for it are queued when the transaction commits
    return event
