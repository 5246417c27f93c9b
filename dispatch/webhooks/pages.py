"""The admins' webhook page: subscriptions and the delivery log, with retries.

GET /admin/webhooks shows each subscription (never its secret) with its messages by
status, and the latest messages: event, ticket, status, attempts, the receiver's last
answer. A failed message can be sent again (it also frees the messages of its ticket
that wait behind it), one at a time or all of a subscription's at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func
from sqlmodel import Session, col, select

from dispatch.auth import FormStaff, PageStaff, ServicesDep, SessionDep, require_admin
from dispatch.db import session_scope
from dispatch.models import Ticket, WebhookDelivery, WebhookSubscription
from dispatch.pages.common import page_router, render
from dispatch.webhooks import delivery
from dispatch.webhooks.subscriptions import list_subscriptions, set_active

router = page_router(prefix="/admin/webhooks")

STATUSES = ("pending", "sending", "delivered", "failed")
LOG_ROWS = 100


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    url: str
    events: list[str]
    internal: bool
    active: bool
    description: str | None
    counts: dict[str, int]


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    created_at: datetime
    event_type: str
    ticket_number: str | None
    subscription_id: int
    receiver: str
    status: str
    waiting: bool  # pending behind an earlier message of its ticket
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime
    delivered_at: datetime | None


def subscription_rows(session: Session) -> list[SubscriptionRow]:
    counts: dict[int, dict[str, int]] = {}
    for subscription_id, status, n in session.exec(
        select(WebhookDelivery.subscription_id, WebhookDelivery.status, func.count()).group_by(
            col(WebhookDelivery.subscription_id), col(WebhookDelivery.status)
        )
    ):
        counts.setdefault(subscription_id, {})[status] = n
    return [
        SubscriptionRow(
            id=s.id or 0,
            url=s.url,
            events=list(s.events),
            internal=s.internal,
            active=s.active,
            description=s.description,
            counts={status: counts.get(s.id or 0, {}).get(status, 0) for status in STATUSES},
        )
        for s in list_subscriptions(session)
    ]


def delivery_rows(
    session: Session, *, status: str | None, subscription_id: int | None
) -> list[DeliveryRow]:
    query = (
        select(WebhookDelivery, Ticket.number, WebhookSubscription.url, delivery.held_back())
        .join(
            WebhookSubscription,
            col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
        )
        .outerjoin(Ticket, col(Ticket.id) == col(WebhookDelivery.ticket_id))
        .order_by(col(WebhookDelivery.id).desc())
        .limit(LOG_ROWS)
    )
    if status:
        query = query.where(WebhookDelivery.status == status)
    if subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    return [
        DeliveryRow(
            id=row.id or 0,
            created_at=row.created_at,
            event_type=row.event_type,
            ticket_number=number,
            subscription_id=row.subscription_id,
            receiver=urlsplit(url).netloc or url,
            status=row.status,
            waiting=bool(waiting) and row.status == "pending",
            attempts=row.attempts,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
        )
        for row, number, url, waiting in session.exec(query)
    ]


def _done(message: str, *, error: bool = False) -> RedirectResponse:
    return RedirectResponse(f"/admin/webhooks?{'error' if error else 'done'}={quote(message)}", 303)


@router.get("", response_class=HTMLResponse)
def webhooks_page(
    request: Request,
    staff: PageStaff,
    session: SessionDep,
    status: str = "",
    subscription: int | None = None,
    done: str = "",
    error: str = "",
) -> HTMLResponse:
    require_admin(staff)
    if status and status not in STATUSES:
        raise HTTPException(422, f"status: one of {', '.join(STATUSES)}")
    return render(
        request,
        "webhooks.html",
        staff=staff,
        session=session,
        subscriptions=subscription_rows(session),
        deliveries=delivery_rows(session, status=status or None, subscription_id=subscription),
        statuses=STATUSES,
        status=status,
        subscription=subscription,
        flash=error or done,
        flash_kind="error" if error else "ok",
        section="admin",
    )


@router.post("/deliveries/{delivery_id}/retry")
def retry_delivery(delivery_id: int, staff: FormStaff, services: ServicesDep) -> RedirectResponse:
    require_admin(staff)
    with session_scope(services.dispatch.engine, write=True) as session:
        retried = delivery.retry(session, services.dispatch.clock(), delivery_id=delivery_id)
    if not retried:
        return _done(f"Message {delivery_id} is not a failed one; nothing to retry.", error=True)
    return _done(f"Message {delivery_id} will be sent again.")


@router.post("/{subscription_id}/retry-failed")
def retry_failed(subscription_id: int, staff: FormStaff, services: ServicesDep) -> RedirectResponse:
    require_admin(staff)
    with session_scope(services.dispatch.engine, write=True) as session:
        count = delivery.retry_failed(
            session, services.dispatch.clock(), subscription_id=subscription_id
        )
    return _done(f"{count} failed message(s) of webhook {subscription_id} will be sent again.")


@router.post("/{subscription_id}/active")
def set_subscription_active(
    subscription_id: int,
    staff: FormStaff,
    services: ServicesDep,
    active: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    require_admin(staff)
    with session_scope(services.dispatch.engine, write=True) as session:
        if set_active(session, subscription_id, active) is None:
            raise HTTPException(404, "No such webhook")
    return _done(f"Webhook {subscription_id} {'enabled' if active else 'paused'}.")
