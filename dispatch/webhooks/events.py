"""Ticket events become webhook messages, in the same transaction as the change.

dispatch/audit.py's `record_event` (the one way a ticket change is written down) hands
every event to `note_event`, which only remembers the ones subscribers may want. When
the transaction commits, `_queue_messages` turns them into one WebhookDelivery row per
active subscription that wants the event type, with its body: the ticket as the change
left it (its close reason, the ticket it duplicates). Built at commit rather than at
`record_event`, because the code around a status change fills those in just after
recording it. A rolled-back change queues nothing; a committed one cannot lose its
messages.

The mapping: action "created" -> ticket.created; "status" -> ticket.status_changed,
and ticket.closed after it when the new status is closed; "escalated" ->
ticket.escalated. Without subscriptions the cost is one small query per transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from dispatch.models import (
    Department,
    Ticket,
    TicketEvent,
    TicketStatus,
    WebhookDelivery,
    WebhookSubscription,
)
from dispatch.open311.places import public_address, public_point
from dispatch.webhooks.payloads import (
    CallerPayload,
    EventType,
    PlacePayload,
    TicketPayload,
    WebhookMessage,
)

_PENDING = "dutyline.webhook_events"  # Session.info key: this transaction's events


def event_types(event: TicketEvent) -> list[EventType]:
    """The webhook event types a ticket event is, in the order they are sent."""
    if event.action == "created":
        return [EventType.CREATED]
    if event.action == "escalated":
        return [EventType.ESCALATED]
    if event.action == "status":
        if event.new_value == TicketStatus.CLOSED:
            return [EventType.STATUS_CHANGED, EventType.CLOSED]
        return [EventType.STATUS_CHANGED]
    return []


def note_event(session: Session, event: TicketEvent) -> None:
    """Remember a ticket event for the webhooks queued when this transaction commits."""
    if event.ticket_id is not None and event_types(event):
        session.info.setdefault(_PENDING, []).append(event)


@sa_event.listens_for(OrmSession, "before_commit")
def _queue_messages(session: OrmSession) -> None:
    pending: list[TicketEvent] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    subscriptions = session.scalars(
        select(WebhookSubscription)
        .where(col(WebhookSubscription.active).is_(True))
        .order_by(col(WebhookSubscription.id))
    ).all()
    if not subscriptions:
        return
    ticket_ids = sorted({e.ticket_id for e in pending if e.ticket_id is not None})
    if session.get_bind().dialect.name == "postgresql":
        # Per ticket, rows must be committed in id order (the sender goes by id): a second
        # transaction on the same ticket waits here until this one has committed.
        session.execute(
            select(Ticket.id).where(col(Ticket.id).in_(ticket_ids)).with_for_update()
        ).all()
    for event in pending:
        ticket = session.get(Ticket, event.ticket_id)
        if ticket is None:
            continue
        for event_type in event_types(event):
            for subscription in subscriptions:
                if event_type not in (subscription.events or []):
                    continue
                message = build_message(session, event_type, event, ticket, subscription.internal)
                session.add(
                    WebhookDelivery(
                        subscription_id=subscription.id,
                        ticket_id=ticket.id,
                        message_id=f"msg_{uuid.uuid4().hex}",
                        event_type=event_type,
                        payload=message.body(),
                        next_attempt_at=event.at,
                        created_at=event.at,
                    )
                )


@sa_event.listens_for(OrmSession, "after_rollback")
def _forget_messages(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)


def build_message(
    session: Any, event_type: EventType, event: TicketEvent, ticket: Ticket, internal: bool
) -> WebhookMessage:
    """The message of one event: no caller number or words unless `internal`."""
    department = session.get(Department, ticket.department_id)
    original = session.get(Ticket, ticket.duplicate_of_id) if ticket.duplicate_of_id else None
    status_change = event.action == "status"
    status = event.new_value if status_change and event.new_value else ticket.status
    if internal:
        place = PlacePayload(name=ticket.place_name, lat=ticket.lat, long=ticket.long)
        caller: CallerPayload | None = CallerPayload(
            number=ticket.caller_number,
            location_said=ticket.location_text,
            description=ticket.description,
            transcript=ticket.transcript,
            details=dict(ticket.details or {}),
        )
    else:
        lat, long = public_point(ticket.lat, ticket.long)
        name = public_address(
            ticket.location_text, ticket.location_normalized, ticket.place_name, ticket.place_kind
        )
        place = PlacePayload(name=name, lat=lat, long=long)
        caller = None
    return WebhookMessage(
        type=event_type,
        timestamp=event.at,
        data=TicketPayload(
            number=ticket.number,
            kind=ticket.kind,
            kind_name=ticket.kind_name,
            department=department.code if department else "",
            channel=ticket.channel,
            status=status,
            previous_status=event.old_value if status_change else None,
            close_reason=ticket.close_reason if status == TicketStatus.CLOSED else None,
            duplicate_of=original.number if original else None,
            place=place,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            actor=event.actor,
            caller=caller,
        ),
    )
