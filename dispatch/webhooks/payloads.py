"""The JSON bodies of webhook messages (Standard Webhooks' `type`, `timestamp`, `data`).

A body is serialized once, when the event happens, and stored as the exact string that
is signed and sent; so a retry sends the same bytes, and the order of a ticket's
messages tells the story of the ticket as it was at each step.
"""

from __future__ import annotations

from datetime import UTC
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict


class EventType(StrEnum):
    CREATED = "ticket.created"
    STATUS_CHANGED = "ticket.status_changed"
    ESCALATED = "ticket.escalated"
    CLOSED = "ticket.closed"


EVENT_TYPES: tuple[str, ...] = tuple(e.value for e in EventType)

# Every time in a body is UTC ("...Z"), whatever zone the clock that made it used.
UtcTime = Annotated[AwareDatetime, AfterValidator(lambda value: value.astimezone(UTC))]


class PlacePayload(BaseModel):
    """Where: for other systems at block level (as Open311 publishes it), exact for
    internal ones."""

    model_config = ConfigDict(frozen=True)

    name: str | None
    lat: float | None
    long: float | None


class CallerPayload(BaseModel):
    """What the caller gave: only for subscriptions marked internal; the retention purge
    removes it from stored messages (dispatch/webhooks/delivery.py: scrub_callers)."""

    model_config = ConfigDict(frozen=True)

    number: str | None
    location_said: str | None
    description: str | None
    transcript: str | None
    details: dict[str, str]


class TicketPayload(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: str
    kind: str | None
    kind_name: str
    department: str  # the department's code
    channel: str
    status: str
    previous_status: str | None  # ticket.status_changed: the status it left
    close_reason: str | None
    duplicate_of: str | None  # the earlier ticket's number
    place: PlacePayload
    created_at: UtcTime
    updated_at: UtcTime
    actor: str  # who made the change: a staff username, "caller", "open311:…", "system"
    caller: CallerPayload | None


class WebhookMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: EventType
    timestamp: UtcTime  # when the event happened (UTC)
    data: TicketPayload

    def body(self) -> str:
        """The exact JSON that is stored, signed and sent (compact, UTC times)."""
        return self.model_dump_json()


def parse_body(body: str) -> WebhookMessage:
    return WebhookMessage.model_validate_json(body)
