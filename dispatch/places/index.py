"""The city's places indexed for the geocoder: built once from a CityPlaces, read-only.

Streets by name (and through StreetMatcher by spelling and sound), address points by
(street, number), per-street numbers for interpolation, intersections by street pair,
landmarks by name, alias and kind. Distances are in metres on a local flat projection
around the city's centre: a city is small enough that the error is centimetres.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from itertools import pairwise

from dispatch.places.city import AddressPoint, CityPlaces, Intersection, Landmark, NumberRange
from dispatch.places.matching import LandmarkMatcher, StreetMatcher

_EARTH = 6_371_008.8
_HOUSE_NUMBER = re.compile(r"^(\d+)")
XY = tuple[float, float]


@dataclass(frozen=True)
class Point:
    lat: float
    long: float


@dataclass(frozen=True)
class AddressHit:
    point: Point
    exact: bool  # an address point of the register; False: interpolated


class _Projection:
    def __init__(self, lat0: float, long0: float) -> None:
        self.lat0, self.long0 = lat0, long0
        self.cos0 = math.cos(math.radians(lat0))

    def xy(self, lat: float, long: float) -> XY:
        return (
            math.radians(long - self.long0) * _EARTH * self.cos0,
            math.radians(lat - self.lat0) * _EARTH,
        )

    def point(self, xy: XY) -> Point:
        return Point(
            self.lat0 + math.degrees(xy[1] / _EARTH),
            self.long0 + math.degrees(xy[0] / (_EARTH * self.cos0)),
        )


def _nearest_on_segment(p: XY, a: XY, b: XY) -> tuple[float, XY]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = (
        0.0
        if length2 == 0
        else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2))
    )
    q = (a[0] + t * dx, a[1] + t * dy)
    return math.hypot(p[0] - q[0], p[1] - q[1]), q


def house_number(text: str) -> int | None:
    found = _HOUSE_NUMBER.match(text.strip())
    return int(found.group(1)) if found else None


@dataclass
class _Numbers:
    """One street's address points by number, each side (odd, even) on its own."""

    sides: dict[int, list[tuple[int, AddressPoint]]]

    def between(self, n: int) -> tuple[AddressPoint, AddressPoint] | None:
        side = self.sides.get(n % 2) or []
        at = bisect.bisect_left(side, n, key=lambda item: item[0])
        if 0 < at < len(side):
            return side[at - 1][1], side[at][1]
        return None

    def in_block(self, low: int, high: int) -> list[AddressPoint]:
        return [p for side in self.sides.values() for n, p in side if low <= n < high]


class CityIndex:
    def __init__(self, city: CityPlaces) -> None:
        self.city = city.city
        lats = [p.lat for p in city.addresses] or [
            c[0] for s in city.streets for w in s.ways for c in w
        ]
        longs = [p.long for p in city.addresses] or [
            c[1] for s in city.streets for w in s.ways for c in w
        ]
        self._projection = _Projection(
            (min(lats) + max(lats)) / 2 if lats else 0.0,
            (min(longs) + max(longs)) / 2 if longs else 0.0,
        )
        # A street without geometry cannot be shown or placed: left out, never guessed.
        self.streets = {s.name: s for s in city.streets if any(len(way) for way in s.ways)}
        self._ways: dict[str, list[list[XY]]] = {
            s.name: [[self._projection.xy(lat, long) for lat, long in way] for way in s.ways]
            for s in self.streets.values()
        }
        self.addresses: dict[tuple[str, str], AddressPoint] = {}
        sides: dict[str, dict[int, list[tuple[int, AddressPoint]]]] = {}
        for point in city.addresses:
            self.addresses.setdefault((point.street, point.number.upper()), point)
            n = house_number(point.number)
            if n is not None:
                sides.setdefault(point.street, {}).setdefault(n % 2, []).append((n, point))
        for street_sides in sides.values():
            for side in street_sides.values():
                side.sort(key=lambda item: item[0])
        self._numbers = {street: _Numbers(s) for street, s in sides.items()}
        self.ranges: dict[str, NumberRange] = {r.street: r for r in city.ranges}
        for street, numbers in self._numbers.items():  # a register without ranges
            if street not in self.ranges:
                values = [n for side in numbers.sides.values() for n, _ in side]
                self.ranges[street] = NumberRange(street, min(values), max(values), len(values))
        self.intersections: dict[tuple[str, str], Intersection] = {}
        for crossing in city.intersections:
            pair = (min(crossing.streets), max(crossing.streets))
            self.intersections.setdefault(pair, crossing)  # two streets meeting twice: the first
        self.landmarks: dict[str, Landmark] = {lm.name: lm for lm in city.landmarks}
        self.aliases = {alias.alias: alias.target for alias in city.aliases}
        self.street_matcher = StreetMatcher(self.streets)
        self.landmark_matcher = LandmarkMatcher(
            {lm.name: lm.category for lm in city.landmarks},
            [(a.alias, a.target) for a in city.aliases],
        )

    # --- addresses ---------------------------------------------------------------------

    def address(self, street: str, number: str) -> AddressHit | None:
        """The register's point, or one interpolated between the street's two points of
        the same side around the number; None when the number is not on the street."""
        point = self.addresses.get((street, number.upper()))
        if point is not None:
            return AddressHit(Point(point.lat, point.long), exact=True)
        n = house_number(number)
        numbers = self._numbers.get(street)
        span = self.ranges.get(street)
        if n is None or numbers is None or span is None or not span.low <= n <= span.high:
            return None
        plain = self.addresses.get((street, str(n)))
        if plain is not None:  # "42B" where the register has only 42
            return AddressHit(Point(plain.lat, plain.long), exact=False)
        around = numbers.between(n)
        if around is None:  # beyond the last point of its side: not a number we know
            return None
        return AddressHit(self._interpolate(around, n), exact=False)

    def _interpolate(self, around: tuple[AddressPoint, AddressPoint], n: int) -> Point:
        low, high = around
        a, b = house_number(low.number) or 0, house_number(high.number) or 0
        t = 0.5 if b == a else (n - a) / (b - a)
        return Point(low.lat + t * (high.lat - low.lat), low.long + t * (high.long - low.long))

    def block(self, street: str, first: int) -> Point | None:
        """The middle of a block's address points: "300 block" is 300 to 399."""
        numbers = self._numbers.get(street)
        inside = numbers.in_block(first, first + 100) if numbers else []
        if not inside:
            return None
        return Point(
            sum(p.lat for p in inside) / len(inside), sum(p.long for p in inside) / len(inside)
        )

    # --- streets -----------------------------------------------------------------------

    def street_middle(self, street: str) -> Point:
        """Half-way along the street's ways (its longest way when it has several)."""
        way = max((w for w in self._ways[street] if w), key=self._length)
        half = self._length(way) / 2
        for a, b in pairwise(way):
            step = math.hypot(b[0] - a[0], b[1] - a[1])
            if step >= half and step > 0:
                t = half / step
                return self._projection.point((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
            half -= step
        return self._projection.point(way[0])

    @staticmethod
    def _length(way: list[XY]) -> float:
        return sum(math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in pairwise(way))

    def nearest_on_street(self, street: str, point: Point) -> tuple[Point, float]:
        """The point of the street nearest `point`, and how far it is (metres)."""
        p = self._projection.xy(point.lat, point.long)
        best: tuple[float, XY] = (math.inf, p)
        for way in self._ways[street]:
            if len(way) == 1:
                best = min(best, (math.hypot(p[0] - way[0][0], p[1] - way[0][1]), way[0]))
            for a, b in pairwise(way):
                best = min(best, _nearest_on_segment(p, a, b))
        return self._projection.point(best[1]), best[0]

    def intersection(self, a: str, b: str) -> Intersection | None:
        return self.intersections.get((min(a, b), max(a, b)))

    def distance(self, a: Point, b: Point) -> float:
        pa, pb = self._projection.xy(a.lat, a.long), self._projection.xy(b.lat, b.long)
        return math.hypot(pa[0] - pb[0], pa[1] - pb[1])
