"""Leasing an outbox row to one worker: the SMS/e-mail outbox and the webhook outbox
claim a due row the same way, so several processes never send one message twice at once.

The claim is one conditional UPDATE (pending, or sending with its lease run out, and due):
whoever changes the row has it, for `lease` (a worker that dies mid-send lets it go when
the lease runs out), and the attempt is counted before anything is sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from dispatch.models import Notification, WebhookDelivery

CLAIMABLE = ("pending", "sending")


def claim_due(
    session: Session,
    table: type[Notification] | type[WebhookDelivery],
    row_id: int,
    now: datetime,
    lease: timedelta,
) -> bool:
    """Lease the row to this worker (in the caller's transaction); False if another has
    it or it is not due."""
    result = session.exec(
        update(table)
        .where(
            col(table.id) == row_id,
            col(table.status).in_(CLAIMABLE),
            col(table.next_attempt_at) <= now,
        )
        .values(status="sending", attempts=table.attempts + 1, next_attempt_at=now + lease)
    )
    return result.rowcount == 1
