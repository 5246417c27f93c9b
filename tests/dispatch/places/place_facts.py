"""Checks that a geocoder's answer is made of the city's own places."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from dispatch.contract import PlaceKind, PlaceMatch
from dispatch.places.city import AddressPoint, CityPlaces, Intersection, Landmark
from dispatch.places.index import house_number
from dispatch.places.korean_names import has_hangul, label_parts
from dutyline.settings import ROOT

PLACES = ROOT / "data" / "places"


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = math.radians(a[0] - b[0]) * 6_371_000
    dx = math.radians(a[1] - b[1]) * 6_371_000 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


@cache
def _sides(city_id: int) -> dict[tuple[str, int], list[AddressPoint]]:
    city = _CITIES[city_id]
    sides: dict[tuple[str, int], list[AddressPoint]] = {}
    for p in city.addresses:
        sides.setdefault((p.street, (house_number(p.number) or 0) % 2), []).append(p)
    for side in sides.values():
        side.sort(key=lambda p: house_number(p.number) or 0)
    return sides


_CITIES: dict[int, CityPlaces] = {}


def same_side_neighbours(city: CityPlaces, street: str, n: int) -> tuple[AddressPoint, ...]:
    _CITIES[id(city)] = city
    side = _sides(id(city)).get((street, n % 2), [])
    below = [p for p in side if (house_number(p.number) or 0) < n]
    above = [p for p in side if (house_number(p.number) or 0) > n]
    return (below[-1], above[0]) if below and above else ()


def between(point: tuple[float, float], a: AddressPoint, b: AddressPoint) -> bool:
    """On the straight line from a to b (within a metre), not beyond either end."""
    ab = metres((a.lat, a.long), (b.lat, b.long))
    return metres((a.lat, a.long), point) + metres(point, (b.lat, b.long)) <= ab + 1.0


@dataclass
class Facts:
    """The city's places as plain lookups, for checking answers against."""

    streets: set[str]
    landmarks: dict[str, Landmark]
    points: dict[tuple[str, str], AddressPoint]
    corners: dict[tuple[str, ...], Intersection]

    @classmethod
    def of(cls, city: CityPlaces) -> Facts:
        _CITIES[id(city)] = city
        if id(city) not in _FACTS:
            _FACTS[id(city)] = cls(
                {s.name for s in city.streets},
                {lm.name: lm for lm in city.landmarks},
                {(p.street, p.number): p for p in city.addresses},
                {tuple(sorted(i.streets)): i for i in city.intersections},
            )
        return _FACTS[id(city)]


_FACTS: dict[int, Facts] = {}


def assert_real(match: PlaceMatch, city: CityPlaces) -> None:
    """Every candidate is a place of the city's data, at that place's coordinates."""
    facts = Facts.of(city)
    streets, landmarks, points, corners = (
        facts.streets,
        facts.landmarks,
        facts.points,
        facts.corners,
    )
    for c in match.candidates:
        where = (c.lat, c.long)
        assert 0.0 <= c.confidence <= 1.0
        if c.kind is PlaceKind.ADDRESS:
            assert c.street in streets and c.number
            assert c.label in (f"{c.number} {c.street}", f"{c.street} {c.number}")  # 중앙로 12
            point = points.get((c.street, c.number))
            if point is None:  # interpolated between two register points of its side
                pair = same_side_neighbours(city, c.street, house_number(c.number) or 0)
                assert pair and between(where, *pair), c
            else:
                assert metres(where, (point.lat, point.long)) < 0.5, c
        elif c.kind is PlaceKind.INTERSECTION:
            one, other = _parts(c.label, " and ")
            corner = corners[tuple(sorted((one, other)))]
            assert metres(where, (corner.lat, corner.long)) < 0.5, c
        elif c.kind is PlaceKind.BLOCK:
            assert c.street in streets, c
            if " block of " in c.label:
                first = int(c.label.split()[0])
                inside = [p for (street, _), p in points.items() if street == c.street
                          and first <= (house_number(p.number) or -1) < first + 100]  # fmt: skip
                assert inside, c
            else:  # "Pearl Street between 11th Street and 12th Street"
                one, other = c.label.split(" between ")[1].split(" and ")
                assert tuple(sorted((c.street, one))) in corners, c
                assert tuple(sorted((c.street, other))) in corners, c
        elif c.kind is PlaceKind.LANDMARK:
            landmark = landmarks[c.label]
            assert where == (landmark.lat, landmark.long), c
        elif c.kind is PlaceKind.NEAR:
            street, name = _parts(c.label, " near ")
            assert street in streets and name in landmarks, c
        else:
            assert c.kind is PlaceKind.STREET and c.label in streets, c


def _parts(label: str, joint: str) -> tuple[str, str]:
    """ "Lark Street and 12th Street"; a Korean city's "경안로와 중앙로 교차로"."""
    parts = label_parts(label) if has_hangul(label) else tuple(label.split(joint))
    assert parts is not None and len(parts) == 2, label
    return parts[0], parts[1]
