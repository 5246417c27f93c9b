"""From what the files hold (OSM ways and points, address points) to the city's places:
streets grouped by name with their geometry, number ranges from the address points,
intersections computed from the geometry, and landmarks with their street.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from dispatch.places.city import (
    AddressPoint,
    CityPlaces,
    Intersection,
    Landmark,
    LatLong,
    NumberRange,
    Street,
)
from dispatch.places.crossings import Flat, Segment, SegmentGrid, segments_of
from dispatch.places.osm import OsmData, OsmWay

# Ways with these highway values are not (yet) streets a caller can be on.
NOT_STREETS = frozenset({"proposed", "construction", "abandoned", "platform", "raceway", "razed"})
# Most important first: a street's class is the most important of its ways'.
HIGHWAY_RANK = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified",
                "residential", "living_street", "service", "pedestrian", "track", "footway",
                "cycleway", "path", "steps")  # fmt: skip
# Which tag names a landmark's category, in this order: "amenity=fuel" with "brand=Shell"
# is a fuel station. railway and public_transport only for the places people go to.
LANDMARK_KEYS = ("amenity", "shop", "tourism", "leisure", "railway", "healthcare", "office",
                 "historic", "aeroway", "public_transport", "building", "brand")  # fmt: skip
STATIONS = frozenset({"station", "halt", "tram_stop", "subway_entrance"})
# Two pieces of the same pair of streets closer than this are one intersection (a dual
# carriageway crosses twice a few metres apart); farther apart, the pair meets twice.
SAME_CORNER_METRES = 120.0
# The same landmark mapped twice (a node and an outline) within this distance is one.
SAME_LANDMARK_METRES = 200.0
NEAREST_STREET_METRES = 1_000.0

_ABBREVIATIONS = {
    "st": "street", "str": "street", "ave": "avenue", "av": "avenue", "rd": "road",
    "dr": "drive", "blvd": "boulevard", "ln": "lane", "pl": "place", "ct": "court",
    "pkwy": "parkway", "hwy": "highway", "sq": "square", "ter": "terrace", "terr": "terrace",
    "cir": "circle", "n": "north", "s": "south", "e": "east", "w": "west", "mt": "mount",
}  # fmt: skip
_PUNCTUATION = re.compile(r"[^\w\s]+")
_LEADING_NUMBER = re.compile(r"^\d+")


def normalize_name(name: str) -> str:
    """One key for the ways one street is spelled: "N. Pearl St" and "north pearl street".

    Works on any script (NFKC, casefold; Hangul road names pass unchanged)."""
    text = _PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(_ABBREVIATIONS.get(word, word) for word in text.split())


def house_number(number: str) -> int | None:
    """The integer part of a house number: "42A" -> 42, "12-3" (Korean 본번-부번) -> 12."""
    match = _LEADING_NUMBER.match(number.strip())
    return int(match.group()) if match else None


@dataclass
class BuildReport:
    streets: int = 0
    addresses: int = 0
    addresses_off_map: int = 0  # on a street the map does not have (kept, by their name)
    intersections: int = 0
    landmarks: int = 0
    off_map_streets: list[str] = field(default_factory=list)  # the first few


def build_city(
    city: str, osm: OsmData, addresses: list[AddressPoint]
) -> tuple[CityPlaces, BuildReport]:
    street_ways, landmark_ways = _split_ways(osm.ways)
    streets, street_of = _streets(street_ways)
    canonical = {normalize_name(s.name): s.name for s in streets}
    points, off_map = _canonical_addresses(addresses, canonical)
    flat = Flat(_centre(streets, points))
    grid = SegmentGrid(_segments(street_ways, street_of, flat))
    places = CityPlaces(
        city=city,
        streets=streets,
        addresses=points,
        ranges=_ranges(points),
        intersections=_intersections(street_ways, street_of, streets, grid, flat),
        landmarks=_landmarks(osm, landmark_ways, streets, canonical, grid, flat),
    )
    report = BuildReport(
        streets=len(streets),
        addresses=len(points),
        addresses_off_map=sum(off_map.values()),
        intersections=len(places.intersections),
        landmarks=len(places.landmarks),
        off_map_streets=[name for name, _ in off_map.most_common(10)],
    )
    return places, report


def _split_ways(ways: list[OsmWay]) -> tuple[list[OsmWay], list[OsmWay]]:
    streets, landmarks = [], []
    for way in ways:
        highway = way.tags.get("highway")
        if highway and highway not in NOT_STREETS:
            streets.append(way)
        elif not highway and _category(way.tags):
            landmarks.append(way)
    return streets, landmarks


def _streets(ways: list[OsmWay]) -> tuple[list[Street], list[int]]:
    """The streets by name, and for each way the index of its street."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, way in enumerate(ways):
        groups[normalize_name(way.name)].append(i)
    streets = []
    for members in groups.values():
        group = [ways[i] for i in members]
        # The spelling most of its ways use is the street's name.
        name = Counter(w.name for w in group).most_common(1)[0][0]
        refs = [w.tags["ref"] for w in group if w.tags.get("ref")]
        classes = [w.tags["highway"] for w in group]
        streets.append(
            (
                Street(
                    name=name,
                    ways=tuple(w.points for w in group),
                    ref=refs[0] if refs else None,
                    highway=min(classes, key=_rank),
                ),
                members,
            )
        )
    streets.sort(key=lambda entry: entry[0].name)
    street_of = [0] * len(ways)
    for index, (_, members) in enumerate(streets):
        for i in members:
            street_of[i] = index
    return [street for street, _ in streets], street_of


def _rank(highway: str) -> int:
    return HIGHWAY_RANK.index(highway) if highway in HIGHWAY_RANK else len(HIGHWAY_RANK)


def _canonical_addresses(
    addresses: list[AddressPoint], canonical: dict[str, str]
) -> tuple[list[AddressPoint], Counter[str]]:
    """Address points on the map's spelling of their street ("LARK ST" -> "Lark Street")."""
    points: list[AddressPoint] = []
    off_map: Counter[str] = Counter()
    by_spelling: dict[str, str | None] = {}
    for point in addresses:
        if point.street not in by_spelling:
            by_spelling[point.street] = canonical.get(normalize_name(point.street))
        street = by_spelling[point.street]
        if street is None:
            off_map[point.street] += 1
            points.append(point)
        elif street == point.street:
            points.append(point)
        else:
            points.append(AddressPoint(point.number, street, point.lat, point.long, point.unit))
    return points, off_map


def _ranges(points: list[AddressPoint]) -> list[NumberRange]:
    numbers: dict[str, list[int]] = defaultdict(list)
    for point in points:
        value = house_number(point.number)
        if value is not None:
            numbers[point.street].append(value)
    return [
        NumberRange(street=street, low=min(values), high=max(values), count=len(values))
        for street, values in sorted(numbers.items())
    ]


def _centre(streets: list[Street], points: list[AddressPoint]) -> LatLong:
    coords = [p for s in streets for way in s.ways for p in way] or [
        (p.lat, p.long) for p in points
    ]
    if not coords:
        return 0.0, 0.0
    return sum(c[0] for c in coords) / len(coords), sum(c[1] for c in coords) / len(coords)


def _level(tags: dict[str, str]) -> int:
    """Bridges and tunnels pass over and under streets without meeting them."""
    try:
        layer = int(tags.get("layer", "0"))
    except ValueError:
        layer = 0
    if layer == 0 and tags.get("bridge", "no") != "no":
        layer = 1
    if layer == 0 and tags.get("tunnel", "no") != "no":
        layer = -1
    return layer


def _segments(ways: list[OsmWay], street_of: list[int], flat: Flat) -> list[Segment]:
    return [
        segment
        for way, street in zip(ways, street_of, strict=True)
        for segment in segments_of(street, _level(way.tags), way.points, flat)
    ]


def _intersections(
    ways: list[OsmWay],
    street_of: list[int],
    streets: list[Street],
    grid: SegmentGrid,
    flat: Flat,
) -> list[Intersection]:
    corners: dict[tuple[int, int], list[list[float]]] = defaultdict(list)  # [x, y, n] sums

    def add(a: int, b: int, x: float, y: float) -> None:
        clusters = corners[(a, b) if a < b else (b, a)]
        for cluster in clusters:
            n = cluster[2]
            if (cluster[0] / n - x) ** 2 + (cluster[1] / n - y) ** 2 <= SAME_CORNER_METRES**2:
                cluster[0] += x
                cluster[1] += y
                cluster[2] += 1
                return
        clusters.append([x, y, 1])

    # Streets that share a node meet there, whatever their layers (they are connected).
    at_node: dict[int, set[int]] = defaultdict(set)
    node_point: dict[int, LatLong] = {}
    for way, street in zip(ways, street_of, strict=True):
        for node_id, point in zip(way.node_ids, way.points, strict=True):
            at_node[node_id].add(street)
            node_point[node_id] = point
    for node_id, members in at_node.items():
        if len(members) > 1:
            x, y = flat.xy(node_point[node_id])
            ordered = sorted(members)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1 :]:
                    add(a, b, x, y)
    # Streets that cross on the same level without a shared node (or drawn to touch).
    for a, b, x, y in grid.crossings():
        add(a, b, x, y)

    found = []
    for (a, b), clusters in corners.items():
        pair = tuple(sorted((streets[a].name, streets[b].name)))
        for sx, sy, n in clusters:
            lat, long = flat.latlong(sx / n, sy / n)
            found.append(Intersection(streets=pair, lat=round(lat, 7), long=round(long, 7)))
    found.sort(key=lambda i: (i.streets, i.lat, i.long))
    return found


def _category(tags: dict[str, str]) -> str | None:
    for key in LANDMARK_KEYS:
        value = tags.get(key)
        if not value or value == "no":
            continue
        if key in ("railway", "public_transport") and value not in STATIONS:
            continue
        return key if value == "yes" or key == "brand" else value
    return None


def _landmarks(
    osm: OsmData,
    ways: list[OsmWay],
    streets: list[Street],
    canonical: dict[str, str],
    grid: SegmentGrid,
    flat: Flat,
) -> list[Landmark]:
    candidates: list[tuple[str, dict[str, str], float, float]] = [
        (p.name, p.tags, p.lat, p.long) for p in osm.points
    ]
    for way in ways:
        # A closed outline repeats its first node; count it once in the centre.
        points = way.points[:-1] if way.points[0] == way.points[-1] else way.points
        lat = sum(p[0] for p in points) / len(points)
        long = sum(p[1] for p in points) / len(points)
        candidates.append((way.name, way.tags, lat, long))
    found: list[Landmark] = []
    kept: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for name, tags, lat, long in candidates:
        category = _category(tags)
        if category is None:
            continue
        x, y = flat.xy((lat, long))
        key = normalize_name(name)
        if any((x - kx) ** 2 + (y - ky) ** 2 <= SAME_LANDMARK_METRES**2 for kx, ky in kept[key]):
            continue  # the same place mapped as a node and as an outline
        kept[key].append((x, y))
        street = tags.get("addr:street")
        if street:
            street = canonical.get(normalize_name(street), street)
        else:
            nearest = grid.nearest(x, y, NEAREST_STREET_METRES)
            street = streets[nearest[0]].name if nearest else None
        found.append(
            Landmark(
                name=name,
                category=category,
                lat=lat,
                long=long,
                street=street,
                number=tags.get("addr:housenumber"),
            )
        )
    found.sort(key=lambda landmark: landmark.name)
    return found
