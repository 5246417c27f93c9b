"""The map of a ticket's place on the staff pages (dispatch/places/map_svg.py draws it).

The ticket page shows a map about 500 m across with every street's name; the inbox a
thumbnail about 300 m across naming the two nearest streets it has room for. A place
known only along a street (a block, a street's point near a landmark, a street named
without a number) is ringed rather than pinned, so nobody reads a house into it.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from dispatch.contract import PlaceKind
from dispatch.i18n import N_
from dispatch.places.city import CityPlaces
from dispatch.places.map_svg import street_map
from dispatch.public import TicketPublic

ALONG_A_STREET = frozenset({PlaceKind.STREET, PlaceKind.BLOCK, PlaceKind.NEAR})
SIZES: dict[str, dict[str, Any]] = {
    "map": {"width": 480, "height": 300, "radius_m": 250.0, "labels": None},
    "thumb": {"width": 240, "height": 160, "radius_m": 150.0, "labels": 2},
}
KIND_LABELS: dict[str, str] = {  # English msgids: the pages translate them (|t)
    PlaceKind.ADDRESS: N_("address"),
    PlaceKind.INTERSECTION: N_("corner"),
    PlaceKind.BLOCK: N_("block"),
    PlaceKind.LANDMARK: N_("landmark"),
    PlaceKind.NEAR: N_("street near a landmark"),
    PlaceKind.STREET: N_("somewhere on the street"),
}


def city_of(dispatch: Any) -> CityPlaces | None:
    """The city the dispatch service's geocoder was built from (None: no place data)."""
    places = getattr(dispatch, "places", None)
    return getattr(places, "city", None) if places is not None else None


def place_map(dispatch: Any, ticket: TicketPublic, size: str = "map") -> Markup | None:
    """Inline SVG of the streets around the ticket's point, or None without a point or
    without the city's streets."""
    if ticket.lat is None or ticket.long is None:
        return None
    city = city_of(dispatch)
    if city is None or not city.streets:
        return None
    where = ticket.place_name or ticket.location_text or "the reported point"
    svg = street_map(city).svg(
        ticket.lat,
        ticket.long,
        title=f"Map around {where}",
        approximate=ticket.place_kind in ALONG_A_STREET,
        size=size,
        **SIZES[size],
    )
    return Markup(svg)  # map_svg escapes every name and label it writes


def place_kind_label(kind: str | None) -> str:
    return KIND_LABELS.get(kind or "", kind or "")
