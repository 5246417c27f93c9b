"""A city's places as the geocoder reads them: streets with their geometry, address
points, number ranges, intersections, landmarks and the city's own aliases.

The importer builds one from OpenStreetMap and OpenAddresses files and stores it;
the store loads it back; the geocoder indexes it. Coordinates are WGS84 degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LatLong = tuple[float, float]


@dataclass(frozen=True)
class Street:
    name: str  # canonical, as the city names it: "Lark Street"
    ways: tuple[tuple[LatLong, ...], ...]  # one polyline per OSM way of that name
    ref: str | None = None  # e.g. "NY 9"
    highway: str | None = None  # OSM highway class: residential, secondary...


@dataclass(frozen=True)
class AddressPoint:
    number: str  # as the city writes it: "42", "42A"
    street: str
    lat: float
    long: float
    unit: str | None = None


@dataclass(frozen=True)
class NumberRange:
    """The house numbers an address register has on one street."""

    street: str
    low: int
    high: int
    count: int


@dataclass(frozen=True)
class Intersection:
    streets: tuple[str, str]  # sorted
    lat: float
    long: float


@dataclass(frozen=True)
class Landmark:
    name: str
    category: str  # OSM value: townhall, school, station, park, fuel, hospital...
    lat: float
    long: float
    street: str | None = None  # addr:street, or the nearest street
    number: str | None = None  # addr:housenumber


@dataclass(frozen=True)
class Alias:
    """A city's own name for a place: "town hall" -> "City Hall"."""

    alias: str
    target: str  # a landmark's or street's name, or an address ("24 Eagle Street")


@dataclass
class CityPlaces:
    city: str
    streets: list[Street] = field(default_factory=list)
    addresses: list[AddressPoint] = field(default_factory=list)
    ranges: list[NumberRange] = field(default_factory=list)
    intersections: list[Intersection] = field(default_factory=list)
    landmarks: list[Landmark] = field(default_factory=list)
    aliases: list[Alias] = field(default_factory=list)
