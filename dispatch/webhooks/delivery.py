"""The webhook sender: the outbox worker for WebhookDelivery rows.

Like the SMS outbox (dispatch/outbox.py): a row is claimed in a short transaction
(status 'sending' with a lease, by a conditional UPDATE, so of several processes only
one wins it), POSTed outside any transaction, and the result recorded. A process that
dies mid-send leaves a lease that runs out, and the row is sent again: delivery is at
least once, and receivers drop repeats by the `webhook-id` header.

Order: per subscription and ticket, a message is sent only when every earlier one
(lower id) has been delivered. One that failed for good therefore holds back the later
messages of its ticket (for that subscription only) until an admin retries it; the
receiver never sees a ticket closed before it saw it escalated.

Signing follows Standard Webhooks, with the `standardwebhooks` package: `webhook-id`,
`webhook-timestamp` (when it is sent, by the wall clock, which receivers check against
theirs) and `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, Engine, exists, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from standardwebhooks import Webhook

from dispatch.db import session_scope
from dispatch.leases import claim_due
from dispatch.metrics import OUTBOX_FAILURES
from dispatch.models import Ticket, WebhookDelivery, WebhookSubscription
from dispatch.webhooks.payloads import parse_body

log = logging.getLogger("dutyline.dispatch.webhooks")

MAX_ATTEMPTS = 10  # 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: about 3 h of trying
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
TIMEOUT_SECONDS = 10.0
LEASE_SECONDS = 60  # well past the timeout: a live sender always records before it ends
BATCH = 100
PURGED = ""  # the body of a message whose caller data the retention purge removed


@dataclass
class WebhookReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: str
    payload: str
    url: str
    secret: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str | None = None


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 30 s, doubling, at most an hour."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS))


def wall_clock() -> datetime:
    return datetime.now(UTC)


def deliver_due(
    engine: Engine,
    now: datetime,
    *,
    limit: int = 500,
    client: httpx.Client | None = None,
    signed_at: Callable[[], datetime] = wall_clock,
) -> WebhookReport:
    """Send what is due; a delivered message frees its ticket's next one in the next round."""
    report = WebhookReport()
    tried = 0
    with contextlib.ExitStack() as stack:
        http = client
        while tried < limit:
            with session_scope(engine) as session:
                ids = due_ids(session, now, min(BATCH, limit - tried))
            if not ids:
                break
            if http is None:  # only when there is something to send (most rounds: not)
                http = stack.enter_context(
                    httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
                )
            delivered_before = report.delivered
            for delivery_id in ids:
                claimed = _claim(engine, delivery_id, now)
                if claimed is None:
                    continue  # another worker has it
                tried += 1
                outcome = send(http, claimed, signed_at())
                _record(engine, claimed, now, outcome, report)
            if report.delivered == delivered_before:
                break  # nothing new was freed
    return report


def held_back() -> ColumnElement[bool]:
    """True for a row with an earlier message of its ticket (and subscription) not delivered."""
    earlier = aliased(WebhookDelivery)
    return exists().where(
        earlier.subscription_id == WebhookDelivery.subscription_id,
        earlier.ticket_id == WebhookDelivery.ticket_id,
        earlier.id < WebhookDelivery.id,
        earlier.status != "delivered",
    )


def due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Rows to send now: due, of an active subscription, and first of their ticket's line."""
    return list(
        session.exec(
            select(WebhookDelivery.id)
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .where(
                col(WebhookSubscription.active).is_(True),
                col(WebhookDelivery.status).in_(["pending", "sending"]),
                col(WebhookDelivery.next_attempt_at) <= now,
                ~held_back(),
            )
            .order_by(col(WebhookDelivery.id))
            .limit(limit)
        ).all()
    )


def _claim(engine: Engine, delivery_id: int, now: datetime) -> Claimed | None:
    with session_scope(engine, write=True) as session:
        if not claim_due(
            session, WebhookDelivery, delivery_id, now, timedelta(seconds=LEASE_SECONDS)
        ):
            return None
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None
        session.refresh(row)
        subscription = session.get(WebhookSubscription, row.subscription_id)
        assert subscription is not None
        return Claimed(
            id=delivery_id,
            message_id=row.message_id,
            payload=row.payload,
            url=subscription.url,
            secret=subscription.secret,
            attempts=row.attempts,
        )


def signed_headers(claimed: Claimed, at: datetime) -> dict[str, str]:
    at = at.astimezone(UTC).replace(microsecond=0)
    signature = Webhook(claimed.secret).sign(claimed.message_id, at, claimed.payload)
    return {
        "webhook-id": claimed.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "dutyline-webhooks",
    }


def send(http: httpx.Client, claimed: Claimed, at: datetime) -> Outcome:
    """POST one message; any answer but 2xx, and any failure to get one, is a failure."""
    if claimed.payload == PURGED:
        return Outcome(False, error="not sent: the message was removed by the retention purge")
    try:
        response = http.post(
            claimed.url,
            content=claimed.payload.encode(),
            headers=signed_headers(claimed, at),
        )
    except Exception as exc:  # unreachable, timeout, bad secret: all retried
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500])
    if response.is_success:
        return Outcome(True, status_code=response.status_code)
    said = response.text.strip()[:200]
    error = f"HTTP {response.status_code}" + (f": {said}" if said else "")
    return Outcome(False, status_code=response.status_code, error=error)


def _record(
    engine: Engine, claimed: Claimed, now: datetime, outcome: Outcome, report: WebhookReport
) -> None:
    values: dict[str, object] = {
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    if outcome.delivered:
        values.update(status="delivered", delivered_at=now)
        report.delivered += 1
    elif claimed.attempts >= MAX_ATTEMPTS or claimed.payload == PURGED:
        values.update(status="failed", next_attempt_at=now)
        report.failed += 1
        OUTBOX_FAILURES.labels("webhook", "failed").inc()
        log.error("webhook %s to %s failed for good: %s", claimed.id, claimed.url, outcome.error)
    else:
        values.update(status="pending", next_attempt_at=now + backoff(claimed.attempts))
        report.retrying += 1
        OUTBOX_FAILURES.labels("webhook", "retrying").inc()
        log.warning(
            "webhook %s to %s failed (attempt %d): %s",
            claimed.id,
            claimed.url,
            claimed.attempts,
            outcome.error,
        )
    with session_scope(engine, write=True) as session:
        # Only while the claim is still ours (same attempt): after a lapsed lease another
        # worker's result stands.
        session.exec(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == claimed.id,
                col(WebhookDelivery.status) == "sending",
                col(WebhookDelivery.attempts) == claimed.attempts,
            )
            .values(**values)
        )


# --- the admins' retry and the retention purge -----------------------------------------


def retry(session: Session, now: datetime, *, delivery_id: int) -> bool:
    """Send a failed message again, with a fresh set of attempts; False if not failed."""
    return _send_failed_again(session, now, col(WebhookDelivery.id) == delivery_id) == 1


def retry_failed(session: Session, now: datetime, *, subscription_id: int) -> int:
    """Every failed message of a subscription again (after its receiver was fixed)."""
    return _send_failed_again(session, now, col(WebhookDelivery.subscription_id) == subscription_id)


def _send_failed_again(session: Session, now: datetime, which: ColumnElement[bool]) -> int:
    result = session.exec(
        update(WebhookDelivery)
        .where(
            which,
            col(WebhookDelivery.status) == "failed",
            col(WebhookDelivery.payload) != PURGED,  # a purged message has nothing to send
        )
        .values(status="pending", attempts=0, next_attempt_at=now)
    )
    return int(result.rowcount or 0)


def scrub_callers(session: Session, cutoff: datetime) -> int:
    """Remove the caller's number and words from stored messages of tickets filed before
    `cutoff` (only internal subscriptions' messages carry them). A message not yet sent
    keeps going, without them: its body is signed when it is sent."""
    rows = session.exec(
        select(WebhookDelivery)
        .join(Ticket, col(Ticket.id) == col(WebhookDelivery.ticket_id))
        .where(
            col(Ticket.created_at) < cutoff,
            # Only internal bodies have a caller object; the rest have "caller":null.
            col(WebhookDelivery.payload).contains('"caller":{'),
        )
    ).all()
    for row in rows:
        try:
            message = parse_body(row.payload)
            row.payload = message.model_copy(
                update={"data": message.data.model_copy(update={"caller": None})}
            ).body()
        except ValueError:  # not ours to read: drop it rather than keep what it may hold
            row.payload = PURGED
        session.add(row)
    return len(rows)
