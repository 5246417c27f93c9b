"""Duplicate reports: the same kind at the same or a nearby place, while the first
report is still open and recent, is linked to it rather than worked twice: the
original gets a note of the new report, and both tickets' trails say so."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from dispatch.audit import record_event
from dispatch.models import OPEN_STATUSES, Ticket, TicketNote

EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def find_original(
    session: Session,
    *,
    kind: str | None,
    normalized: str | None,
    lat: float | None,
    long: float | None,
    at: datetime,
    window_minutes: int,
    radius_m: float,
) -> Ticket | None:
    """The earliest open ticket this report duplicates, or None."""
    if not kind or not (normalized or (lat is not None and long is not None)):
        return None
    since = at - timedelta(minutes=window_minutes)
    candidates = session.exec(
        select(Ticket)
        .where(
            Ticket.kind == kind,
            col(Ticket.status).in_([s.value for s in OPEN_STATUSES]),
            col(Ticket.duplicate_of_id).is_(None),
            Ticket.created_at >= since,
            Ticket.created_at <= at,
        )
        .order_by(col(Ticket.created_at))
        .limit(200)
    ).all()
    for ticket in candidates:
        if normalized and ticket.location_normalized == normalized:
            return ticket
        if None not in (lat, long, ticket.lat, ticket.long) and (
            distance_m(lat, long, ticket.lat, ticket.long) <= radius_m  # type: ignore[arg-type]
        ):
            return ticket
    return None


def link_to_original(
    session: Session, *, ticket: Ticket, original: Ticket, at: datetime, actor: str
) -> None:
    """Record `ticket` as a further report of `original` (its status is set by the caller)."""
    record_event(
        session,
        ticket_id=ticket.id,
        action="duplicate_linked",
        at=at,
        actor=actor,
        field="duplicate_of",
        new_value=original.number,
    )
    said = ticket.location_text or "same place"
    extra = "; ".join(f"{k}: {v}" for k, v in ticket.details.items() if v)
    session.add(
        TicketNote(
            ticket_id=original.id,
            author="system",
            body=f"Reported again as {ticket.number} ({ticket.channel}) at {said}"
            + (f". {extra}" if extra else "")
            + (f". {ticket.description}" if ticket.description else ""),
            created_at=at,
        )
    )
    record_event(
        session,
        ticket_id=original.id,
        action="duplicate_added",
        at=at,
        actor=actor,
        field="duplicates",
        new_value=ticket.number,
    )
    original.updated_at = at
    session.add(original)
