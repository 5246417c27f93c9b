"""Duplicate reports: the same kind at the same or a nearby place, while the first
report is still open and recent, is linked to it rather than worked twice: the
original gets a note of the new report, and both tickets' trails say so.

"The same place" is the same key (dispatch/location_key.py: the city's canonical name
of the place, or the caller's normalized words). "Nearby" is a real distance on the
ground between the two tickets' points, as far as each point can be trusted: an
address, a corner, a landmark or a reported coordinate is a point (50 m); a block, or
a street's point nearest a landmark, only places the report along a stretch of street
(the street-level radius, 150 m by default); a street named without a number is
somewhere along all of it, so its point is never compared.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from dispatch.audit import record_event
from dispatch.contract import PlaceKind
from dispatch.models import OPEN_STATUSES, Ticket, TicketNote

EARTH_RADIUS_M = 6_371_000.0
# Two points this close are one place: about the frontage of two or three houses, and
# more than a phone's GPS error outdoors, yet short of the next corner.
POINT_RADIUS_M = 50.0
STREET_LEVEL = frozenset({PlaceKind.BLOCK, PlaceKind.NEAR})


def distance_m(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def reach_m(place_kind: str | None, street_radius_m: float) -> float | None:
    """How far from its point a report of this kind of place may be the same thing;
    None: its point says nothing (a whole street)."""
    if place_kind == PlaceKind.STREET:
        return None
    if place_kind in STREET_LEVEL:
        return street_radius_m
    return POINT_RADIUS_M  # address, intersection, landmark, or a reported coordinate


def find_original(
    session: Session,
    *,
    kind: str | None,
    normalized: str | None,
    lat: float | None,
    long: float | None,
    place_kind: str | None,
    at: datetime,
    window_minutes: int,
    radius_m: float,
) -> Ticket | None:
    """The earliest open ticket this report duplicates, or None.

    `radius_m` is the street-level radius (a block); points use POINT_RADIUS_M."""
    reach = reach_m(place_kind, radius_m) if lat is not None and long is not None else None
    if not kind or not (normalized or reach is not None):
        return None
    since = at - timedelta(minutes=window_minutes)
    # Only tickets that can match: the same key, or a point inside the widest reach
    # (a box in degrees, cheap to index; the haversine below decides).
    same_place = []
    if normalized:
        same_place.append(col(Ticket.location_normalized) == normalized)
    if reach is not None:
        widest = max(reach, radius_m) * 1.01
        dlat = math.degrees(widest / EARTH_RADIUS_M)
        dlong = dlat / max(math.cos(math.radians(lat)), 0.01)  # type: ignore[arg-type]
        same_place.append(
            and_(
                col(Ticket.lat).between(lat - dlat, lat + dlat),  # type: ignore[operator]
                col(Ticket.long).between(long - dlong, long + dlong),  # type: ignore[operator]
            )
        )
    candidates = session.exec(
        select(Ticket)
        .where(
            Ticket.kind == kind,
            col(Ticket.status).in_([s.value for s in OPEN_STATUSES]),
            col(Ticket.duplicate_of_id).is_(None),
            Ticket.created_at >= since,
            Ticket.created_at <= at,
            or_(*same_place),
        )
        .order_by(col(Ticket.created_at))
        .limit(200)
    ).all()
    for ticket in candidates:
        if normalized and ticket.location_normalized == normalized:
            return ticket
        if reach is None or ticket.lat is None or ticket.long is None:
            continue
        theirs = reach_m(ticket.place_kind, radius_m)
        if theirs is None:
            continue
        # The looser of the two: a block report meets a house report anywhere on the block.
        if distance_m(lat, long, ticket.lat, ticket.long) <= max(reach, theirs):  # type: ignore[arg-type]
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
