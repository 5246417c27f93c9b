"""Write data/sample_calls/riverton_places.yaml: scripted calls whose places are drawn at
random, with a fixed seed, from the demo city's raw data (data/places).

    .venv/bin/python -m callbench.make_place_calls            # rewrites the file
    .venv/bin/python -m callbench.make_place_calls --check    # fails if it would change

The places are drawn from the raw files, not from dutyline's importer or geocoder, so the
benchmark's truth does not share a bug with the code it measures:
- address points from riverton-addresses.csv.gz (OpenAddresses columns), uniformly;
- blocks ("the 300 block of Lark Street") from those points' street and hundred;
- intersections computed here from riverton.osm's way geometry (read with pyosmium): two
  differently named streets whose segments cross or meet; a bridge over a street and the
  footpath are not corners a caller stands at;
- landmarks: the named nodes with amenity, leisure or railway tags.
Kinds go round data/complaint_kinds.yaml in a shuffled order so each kind gets its share;
each kind's script (complaint sentence, answers to its questions in the order the dialogue
asks them) is one that the dialogue follows in data/sample_calls/calls.yaml, so a miss in
these calls is a place (or the recognizer), not an untested phrasing of the complaint.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import osmium
import yaml

from dutyline.settings import ROOT

SEED = 9_2026  # issue 9; change it and the file changes, which is the point of --check
CALLS = 50
# ~60% house number + street, ~20% corners, ~10% landmarks, ~10% blocks (issue 9 item 6)
MIX = {"address": 30, "intersection": 10, "landmark": 5, "block": 5}
OUTPUT = ROOT / "data" / "sample_calls" / "riverton_places.yaml"
OSM = ROOT / "data" / "places" / "riverton.osm"
ADDRESSES = ROOT / "data" / "places" / "riverton-addresses.csv.gz"
LANDMARK_KEYS = ("amenity", "leisure", "railway")
NOT_STREETS = {"path", "footway", "cycleway", "steps", "pedestrian"}

# How callers put each kind of place (picked at random per call).
PHRASES = {
    "address": ["{number} {street}", "{number} {street}", "it's at {number} {street}",
                "in front of {number} {street}"],
    "intersection": ["the corner of {street} and {other}", "{street} and {other}",
                     "at the intersection of {street} and {other}"],
    "landmark": ["{name}", "at {name}", "in front of {name}"],
    "block": ["the {block} block of {street}", "the {block} block of {street}"],
}  # fmt: skip
FUEL_PHRASE = "the {name} gas station"
# Said with "the": "the Central Library", not "at Central Library" (OSM category values).
WITH_ARTICLE = {"library", "marketplace", "events_venue"}

# One script per kind: the complaint, then (slot, answer) in the order the dialogue asks
# (data/complaint_kinds.yaml, minus slots the opening sentence already fills: those are
# in `ALSO`, for a caller who is asked anyway). The place comes after the complaint and
# "yes" to the read-back last. From data/sample_calls/calls.yaml, where they are proven.
SCRIPTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "illegal_parking": ("there's a car blocking my driveway",
                        [("vehicle", "a red pickup truck"), ("blocking", "my driveway")]),
    "dead_animal": ("there is a dead deer in the middle of the road", [("on_road", "on the road")]),
    "noise": ("my neighbors are playing really loud music",
              [("source", "a party with loud music"), ("ongoing", "yes")]),
    "pothole": ("i want to report a big pothole",
                [("hazard", "it's about two feet wide and cars are swerving")]),
    "streetlight_out": ("the street light outside my house is out",
                        [("light_count", "just one"), ("pole_number", "no")]),
    "illegal_dumping": ("someone is dumping trash in the park",
                        [("dumped_items", "old mattresses and garbage bags"),
                         ("in_progress", "yes")]),
    "water_leak": ("there's water gushing out of the street i think a water main broke",
                   [("flooding", "yes")]),
    "fallen_tree": ("a tree fell down across the road",
                    [("blocking_traffic", "yes"), ("wires_down", "no")]),
    "traffic_signal": ("the traffic light at the intersection is broken",
                       [("signal_problem", "it's stuck on red in every direction")]),
    "stray_animal": ("there's a stray dog chasing people",
                     [("animal", "a big black dog"), ("aggressive", "yes")]),
}  # fmt: skip
ALSO = {"dead_animal": {"animal": "a deer"}}


@dataclass(frozen=True)
class Point:
    number: str
    street: str
    lat: float
    long: float


@dataclass(frozen=True)
class Corner:
    streets: tuple[str, str]
    lat: float
    long: float


@dataclass(frozen=True)
class Poi:
    name: str
    category: str
    lat: float
    long: float
    street: str | None


@dataclass
class RawCity:
    points: list[Point]
    corners: list[Corner]
    pois: list[Poi]


def read_addresses(path: Path) -> list[Point]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        rows = csv.DictReader(io.StringIO(text.read()))
        return [
            Point(
                row["NUMBER"].strip(), row["STREET"].strip(), float(row["LAT"]), float(row["LON"])
            )
            for row in rows
            if row["NUMBER"].strip() and row["STREET"].strip()
        ]


def read_osm(path: Path) -> tuple[list[tuple[str, list[tuple[float, float]]]], list[Poi]]:
    """(street name, [(lat, long)...]) per drivable named way at ground level; named POIs."""
    ways: list[tuple[str, list[tuple[float, float]]]] = []
    pois: list[Poi] = []
    for obj in osmium.FileProcessor(str(path)).with_locations():
        tags = dict(obj.tags)
        name = tags.get("name")
        if not name:
            continue
        if obj.is_node():
            category = next((tags[k] for k in LANDMARK_KEYS if k in tags), None)
            if category:
                pois.append(
                    Poi(name, category, obj.location.lat, obj.location.lon, tags.get("addr:street"))
                )
        elif obj.is_way() and "highway" in tags and tags["highway"] not in NOT_STREETS:
            if tags.get("bridge") == "yes" or tags.get("layer", "0") != "0":
                continue  # over the others, not at a corner with them
            ways.append((name, [(n.location.lat, n.location.lon) for n in obj.nodes]))
    return ways, pois


def _crossing(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float], d: tuple[float, float]
) -> tuple[float, float] | None:
    """Where segment ab meets segment cd (ends touching included), in (lat, long)."""
    scale = math.cos(math.radians(a[0]))  # degrees of longitude are shorter up north
    ax, ay, bx, by = a[1] * scale, a[0], b[1] * scale, b[0]
    cx, cy, dx, dy = c[1] * scale, c[0], d[1] * scale, d[0]
    denominator = (bx - ax) * (dy - cy) - (by - ay) * (dx - cx)
    if abs(denominator) < 1e-18:
        return None  # parallel
    t = ((cx - ax) * (dy - cy) - (cy - ay) * (dx - cx)) / denominator
    u = ((cx - ax) * (by - ay) - (cy - ay) * (bx - ax)) / denominator
    slack = 1e-6  # a T-junction's end node sits on the other street, give or take rounding
    if -slack <= t <= 1 + slack and -slack <= u <= 1 + slack:
        return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
    return None


def intersections(ways: list[tuple[str, list[tuple[float, float]]]]) -> list[Corner]:
    segments = [(name, line[i], line[i + 1]) for name, line in ways for i in range(len(line) - 1)]
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for i, (name, a, b) in enumerate(segments):
        for other, c, d in segments[i + 1 :]:
            if other == name:
                continue
            key = tuple(sorted((name, other)))
            if key in found:
                continue  # one corner per pair of streets is enough to draw from
            at = _crossing(a, b, c, d)
            if at is not None:
                found[key] = at  # type: ignore[index]
    return [Corner(k, lat, long) for k, (lat, long) in sorted(found.items())]


def read_city(osm: Path = OSM, addresses: Path = ADDRESSES) -> RawCity:
    ways, pois = read_osm(osm)
    return RawCity(read_addresses(addresses), intersections(ways), pois)


def kinds(path: Path) -> dict[str, str]:
    data = yaml.safe_load(path.read_text("utf-8"))
    return {kind: spec["department"] for kind, spec in data["kinds"].items()}


def _block(point: Point) -> int | None:
    """The hundred a number is in ("the 300 block"); below 100 is not a block callers name."""
    if not point.number.isdigit() or int(point.number) < 100:
        return None
    return int(point.number) // 100 * 100


def _place(kind: str, city: RawCity, rng: random.Random, used: set[Any]) -> dict[str, Any]:
    """One place of `kind`, drawn uniformly from the city's data, never the same one twice."""
    while True:
        if kind == "address":
            point = rng.choice(city.points)
            key: Any = (point.street, point.number)
            place = {"street": point.street, "number": point.number,
                     "lat": point.lat, "long": point.long}  # fmt: skip
            words = {"number": point.number, "street": point.street}
        elif kind == "block":
            point = rng.choice([p for p in city.points if _block(p) is not None])
            block = _block(point)
            key = (point.street, block)
            on_block = [p for p in city.points if p.street == point.street and _block(p) == block]
            place = {
                "street": point.street,
                "block": str(block),
                # the block's middle: where an officer would start looking
                "lat": round(sum(p.lat for p in on_block) / len(on_block), 7),
                "long": round(sum(p.long for p in on_block) / len(on_block), 7),
            }
            words = {"block": str(block), "street": point.street}
        elif kind == "intersection":
            corner = rng.choice(city.corners)
            first, second = rng.sample(corner.streets, 2)  # either order, as callers do
            key = corner.streets
            place = {"street": first, "cross_street": second,
                     "lat": round(corner.lat, 7), "long": round(corner.long, 7)}  # fmt: skip
            words = {"street": first, "other": second}
        else:
            poi = rng.choice(city.pois)
            key = poi.name
            place = {"landmark": poi.name, "street": poi.street,
                     "lat": poi.lat, "long": poi.long}  # fmt: skip
            words = {"name": f"the {poi.name}" if poi.category in WITH_ARTICLE else poi.name}
        if key in used:
            continue
        used.add(key)
        phrase = FUEL_PHRASE if kind == "landmark" and poi.category == "fuel" else None
        said = (phrase or rng.choice(PHRASES[kind])).format(**words)
        return {"kind": kind, "said": said, **{k: v for k, v in place.items() if v is not None}}


def generate(city: RawCity, departments: dict[str, str], seed: int = SEED) -> dict[str, Any]:
    rng = random.Random(seed)
    place_kinds = [kind for kind, count in MIX.items() for _ in range(count)]
    rng.shuffle(place_kinds)
    order = sorted(departments)
    complaint_kinds: list[str] = []
    while len(complaint_kinds) < len(place_kinds):
        rng.shuffle(order)  # every kind once per round, in a new order each round
        complaint_kinds += order
    used: set[Any] = set()
    calls = []
    for index, (place_kind, kind) in enumerate(zip(place_kinds, complaint_kinds, strict=False)):
        place = _place(place_kind, city, rng, used)
        complaint, answers = SCRIPTS[kind]
        says = [complaint, place["said"], *(answer for _, answer in answers), "yes"]
        expect = {
            "kind": kind,
            "department": departments[kind],
            "location_contains": (place.get("landmark") or place["street"]).lower(),
            "place": {k: v for k, v in place.items() if k != "said"},
        }
        calls.append(
            {
                "name": f"{index + 1:02d} {kind.replace('_', ' ')}, {place['said']}",
                "says": says,
                "place_turn": 1,
                # for a caller who answers what is asked rather than in a fixed order
                "answers": {**ALSO.get(kind, {}), **dict(answers)},
                "expect": expect,
            }
        )
    return {"seed": seed, "calls": calls}


HEADER = """\
# Scripted calls whose places were drawn AT RANDOM (seed {seed}) from the demo city's raw data
# in data/places: {address} house number + street (address points of
# riverton-addresses.csv.gz), {intersection} corners (computed from riverton.osm's geometry),
# {landmark} landmarks (riverton.osm's named amenity/leisure/railway nodes), {block} blocks.
# Written by `python -m callbench.make_place_calls` (read it to see how); do not edit by hand:
# change the script and regenerate (`--check` tells whether this file is what it writes).
# Format as data/sample_calls/calls.yaml (says follows today's dialogue order), plus:
#   place_turn       which of `says` is the answer to "Where is it?"
#   answers          the answer to each of the kind's questions by slot (complaint_kinds.yaml),
#                    for a caller who answers what the bot asks (`--caller responsive`)
#   expect.place     the truth: kind (address, intersection, landmark, block), the street
#                    (canonical), number / block / cross_street / landmark, and lat/long
#                    (the address point, the block's middle, the corner, the landmark).
# Used by `dutyline bench places` (utterance level) and
# `dutyline bench accuracy --calls-file data/sample_calls/riverton_places.yaml` (whole calls).
"""


def render(data: dict[str, Any]) -> str:
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return HEADER.format(seed=data["seed"], **MIX) + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if the file would change")
    options = parser.parse_args(argv)
    city = read_city()
    data = generate(city, kinds(ROOT / "data" / "complaint_kinds.yaml"), options.seed)
    text = render(data)
    if options.check:
        current = options.output.read_text("utf-8") if options.output.exists() else ""
        if current != text:
            print(f"{options.output} is not what seed {options.seed} writes", file=sys.stderr)
            return 1
        print(f"{options.output} is what seed {options.seed} writes")
        return 0
    options.output.write_text(text, encoding="utf-8")
    print(
        f"wrote {len(data['calls'])} calls to {options.output} (seed {options.seed}; "
        f"{len(city.points)} address points, {len(city.corners)} corners, "
        f"{len(city.pois)} landmarks to draw from)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
