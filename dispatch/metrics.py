"""Dispatch's Prometheus series: tickets filed, escalations, the outbox's failures and
backlog, and requests refused (here, the lowest package, so voice/ and nlu/ count theirs
too). Served by the app's /metrics (dutyline/metrics_route.py).

Labels stay few and bounded (a complaint kind, a department code, a channel, a reason):
never a ticket number, a phone number or an address.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import Counter
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func
from sqlmodel import col, select

from dispatch.contract import FiledTicket
from dispatch.db import session_scope
from dispatch.models import Notification, WebhookDelivery

log = logging.getLogger("dutyline.dispatch.metrics")

TICKETS_FILED = Counter(
    "dutyline_tickets_filed",
    "Tickets filed (duplicates included, a retried report not), by complaint kind "
    "('triage' when none), department and channel.",
    ["kind", "department", "channel"],
)
ESCALATIONS = Counter(
    "dutyline_escalations",
    "Tickets not acknowledged in time and passed to the next person in the chain.",
)
OUTBOX_FAILURES = Counter(
    "dutyline_outbox_failures",
    "Notification sends that failed: 'retrying' (will be tried again) or 'failed' (gave up).",
    ["channel", "result"],
)
REJECTED_REQUESTS = Counter(
    "dutyline_rejected_requests",
    "Requests refused: twilio_signature (a Twilio webhook or stream without a valid "
    "signature), action_token (the dialogue's action endpoint), staff_token (the API), "
    "csrf (a page form).",
    ["reason"],
)

WAITING = ("pending", "sending")  # not yet sent, in either outbox


def ticket_filed(filed: FiledTicket, channel: str) -> None:
    TICKETS_FILED.labels(
        kind=filed.kind or "triage", department=filed.department_code, channel=channel
    ).inc()


def rejected(reason: str) -> None:
    REJECTED_REQUESTS.labels(reason=reason).inc()


def outbox_backlog(engine: Engine) -> dict[str, int]:
    """Messages waiting to go out, by channel: 'sms', 'email' (notifications), 'webhook'."""
    counts = {"sms": 0, "email": 0, "webhook": 0}
    with session_scope(engine) as session:
        rows = session.exec(
            select(Notification.channel, func.count())
            .where(col(Notification.status).in_(WAITING))
            .group_by(col(Notification.channel))
        ).all()
        for channel, count in rows:
            counts[channel] = count
        counts["webhook"] = session.exec(
            select(func.count()).where(col(WebhookDelivery.status).in_(WAITING))
        ).one()
    return counts


class OutboxBacklog(Collector):
    """dutyline_outbox_backlog, counted in the database at each scrape: every replica
    reports the same figure (the dashboard takes the max, not the sum)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        try:
            counts = outbox_backlog(self.engine)
        except Exception as error:  # a scrape must not fail because the database is away
            log.warning("outbox backlog unavailable: %s", error)
            return
        family = GaugeMetricFamily(
            "dutyline_outbox_backlog",
            "Messages waiting to be sent (pending or being sent), by channel.",
            labels=["channel"],
        )
        for channel, count in sorted(counts.items()):
            family.add_metric([channel], count)
        yield family
