"""Webhook subscriptions: a city system's URL, the events it wants, its signing secret.

The secret is Standard Webhooks' `whsec_` + base64 of random bytes (what the
`standardwebhooks` package reads). It is kept in the clear, because signing needs it,
and shown once, when the subscription is added; lists never show it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import delete
from sqlmodel import Session, col, select

from dispatch.models import WebhookDelivery, WebhookSubscription
from dispatch.webhooks.payloads import EVENT_TYPES

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_URL = 1000
MAX_DESCRIPTION = 200


class WebhookInputError(ValueError):
    """A URL or event list that cannot be used; the message says why."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookInputError(f"not an http(s) URL: {url!r} (e.g. https://works.city.gov/hook)")
    if len(url) > MAX_URL:
        raise WebhookInputError(f"the URL is longer than {MAX_URL} characters")
    return url


def check_events(events: Iterable[str] | None) -> list[str]:
    """The event types asked for, in the canonical order; none given means all."""
    wanted = [e.strip() for e in events or () if e.strip()]
    unknown = sorted(set(wanted) - set(EVENT_TYPES))
    if unknown:
        raise WebhookInputError(
            f"unknown event {', '.join(unknown)}: use any of {', '.join(EVENT_TYPES)}"
        )
    return [e for e in EVENT_TYPES if e in wanted] if wanted else list(EVENT_TYPES)


def add_subscription(
    session: Session,
    *,
    url: str,
    events: Iterable[str] | None = None,
    internal: bool = False,
    description: str | None = None,
) -> WebhookSubscription:
    """Check and add a subscription (committed by the caller); its `secret` is new."""
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise WebhookInputError(f"the description is longer than {MAX_DESCRIPTION} characters")
    subscription = WebhookSubscription(
        url=check_url(url),
        secret=new_secret(),
        events=check_events(events),
        internal=internal,
        description=(description or "").strip() or None,
    )
    session.add(subscription)
    session.flush()
    return subscription


def list_subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.exec(select(WebhookSubscription).order_by(col(WebhookSubscription.id))))


def set_active(session: Session, subscription_id: int, active: bool) -> WebhookSubscription | None:
    """Pause a subscription (nothing new is queued for it; what is queued waits), or resume it."""
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is not None:
        subscription.active = active
        session.add(subscription)
    return subscription


def remove_subscription(session: Session, subscription_id: int) -> bool:
    """Delete a subscription and its delivery log; False if there is none."""
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        return False
    session.exec(
        delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription_id)
    )
    session.delete(subscription)
    return True
