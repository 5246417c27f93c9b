"""OpenStreetMap data (`.osm` XML, `.osm.pbf`, compressed `.osm.gz`/`.osm.bz2`) read with
pyosmium: the named ways (streets, and landmarks drawn as outlines) and the named nodes
and multipolygon relations (landmarks).

Only what the city's place data needs is kept: a way's name, the tags that classify it,
its node ids (shared nodes are junctions) and its coordinates. Classifying (street or
landmark) is dispatch/places/build.py's work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import osmium

from dispatch.places.city import LatLong

OSM_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.gz", ".osm.bz2", ".osc")

# The tags build.py reads; everything else of a feature is dropped at once (a city
# extract has dozens of tags per feature and millions of features).
KEPT_TAGS = frozenset(
    {
        "highway", "ref", "layer", "bridge", "tunnel", "addr:street", "addr:housenumber",
        "amenity", "railway", "leisure", "tourism", "shop", "office", "healthcare",
        "historic", "aeroway", "public_transport", "building", "brand",
    }
)  # fmt: skip


class OsmFormatError(ValueError):
    """The file is not OpenStreetMap data osmium can read."""


@dataclass(frozen=True)
class OsmWay:
    id: int
    name: str
    tags: dict[str, str]
    node_ids: tuple[int, ...]
    points: tuple[LatLong, ...]


@dataclass(frozen=True)
class OsmPoint:
    """A named node, or a named multipolygon relation reduced to its outer rings' centre."""

    id: int
    name: str
    tags: dict[str, str]
    lat: float
    long: float


@dataclass
class OsmData:
    ways: list[OsmWay] = field(default_factory=list)
    points: list[OsmPoint] = field(default_factory=list)
    # Ways left out because a node they reference is not in the file (a clipped extract).
    ways_missing_nodes: int = 0


def is_osm_file(path: Path) -> bool:
    return path.name.lower().endswith(OSM_SUFFIXES)


def read_osm(path: Path) -> OsmData:
    """Named ways and points of an OSM file. Raises OsmFormatError for anything else."""
    path = Path(path)
    if not path.is_file():
        raise OsmFormatError(f"{path}: no such file")
    data = OsmData()
    # with_areas reads the file twice (relations first), so multipolygon landmarks
    # (a park drawn as a relation) come out as one Area with their rings assembled.
    processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
    try:
        for obj in processor:
            name = obj.tags.get("name")
            if not name:
                continue
            tags = {t.k: t.v for t in obj.tags if t.k in KEPT_TAGS}
            if obj.is_node():
                location = obj.location
                if location.valid():
                    data.points.append(OsmPoint(obj.id, name, tags, location.lat, location.lon))
            elif obj.is_way():
                way = _way(obj, name, tags)
                if way is None:
                    data.ways_missing_nodes += 1
                else:
                    data.ways.append(way)
            elif obj.is_area() and not obj.from_way():
                # Closed ways are already read as ways; only relations are new here.
                centre = _rings_centre(obj)
                if centre is not None:
                    data.points.append(OsmPoint(obj.orig_id(), name, tags, *centre))
    except RuntimeError as exc:  # osmium's parse errors ("XML parsing error", "format")
        raise OsmFormatError(
            f"{path}: not OpenStreetMap data (.osm XML or .osm.pbf): {exc}"
        ) from exc
    return data


def _way(obj: osmium.osm.Way, name: str, tags: dict[str, str]) -> OsmWay | None:
    node_ids: list[int] = []
    points: list[LatLong] = []
    for node in obj.nodes:
        if not node.location.valid():
            return None
        node_ids.append(node.ref)
        points.append((node.location.lat, node.location.lon))
    if len(points) < 2:
        return None
    return OsmWay(obj.id, name, tags, tuple(node_ids), tuple(points))


def _rings_centre(area: osmium.osm.Area) -> LatLong | None:
    """The mean of the outer rings' vertices: inside any convex landmark, near any other."""
    lats: list[float] = []
    longs: list[float] = []
    for ring in area.outer_rings():
        nodes = list(ring)
        # A ring ends on its first node: counted once.
        for node in nodes[:-1] if len(nodes) > 1 and nodes[0].ref == nodes[-1].ref else nodes:
            if node.location.valid():
                lats.append(node.location.lat)
                longs.append(node.location.lon)
    if not lats:
        return None
    return sum(lats) / len(lats), sum(longs) / len(longs)
