"""Import a city's place files: read (OSM, OpenAddresses CSV), build, check the city's
aliases, save in one transaction. Used by `dutyline places import` and by seeding, which
imports the configured city when the database has none of its places yet.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine

from dispatch.places.addresses import AddressRead, is_address_file, read_addresses
from dispatch.places.aliases import load_aliases
from dispatch.places.build import build_city
from dispatch.places.city import AddressPoint, CityPlaces
from dispatch.places.osm import OsmData, is_osm_file, read_osm
from dispatch.places.store import city_generation, save_city
from dispatch.settings import DispatchSettings

log = logging.getLogger("dutyline.dispatch.places")


class PlacesImportError(ValueError):
    """The files cannot make a city (wrong kind of file, no map)."""


@dataclass(frozen=True)
class PlaceSource:
    """Which city, from which files."""

    city: str
    files: tuple[Path, ...]
    aliases: Path | None = None

    @classmethod
    def from_settings(cls, settings: DispatchSettings) -> PlaceSource:
        return cls(settings.places_city, tuple(settings.places_paths), settings.places_aliases_path)


@dataclass
class ImportReport:
    city: str
    files: list[str]
    streets: int = 0
    addresses: int = 0
    rows_skipped: int = 0  # address rows that could not be a point
    problems: list[str] = field(default_factory=list)  # the first few, "file:line: why"
    addresses_off_map: int = 0  # on streets the map does not have (kept under their name)
    off_map_streets: list[str] = field(default_factory=list)  # the commonest few
    ways_missing_nodes: int = 0
    intersections: int = 0
    landmarks: int = 0
    aliases: int = 0
    generation: int | None = None  # after saving
    read_seconds: float = 0.0
    save_seconds: float = 0.0


def read_city(source: PlaceSource) -> tuple[CityPlaces, ImportReport]:
    """The city built from its files; cached per process (see _BUILT below)."""
    started = time.perf_counter()
    key = _source_key(source)
    with _CACHE_LOCK:
        hit = _BUILT.get(key) if key is not None else None
    if hit is None:
        hit = _read_city(source)
        if key is not None:
            with _CACHE_LOCK:
                _BUILT[key] = hit
    places, report = hit
    # New lists around the shared immutable places: a caller may change its copy.
    places = dataclasses.replace(
        places,
        streets=list(places.streets),
        addresses=list(places.addresses),
        ranges=list(places.ranges),
        intersections=list(places.intersections),
        landmarks=list(places.landmarks),
        aliases=list(places.aliases),
    )
    report = dataclasses.replace(report, files=list(report.files), problems=list(report.problems))
    report.read_seconds = time.perf_counter() - started
    return places, report


def _read_city(source: PlaceSource) -> tuple[CityPlaces, ImportReport]:
    if not source.files:
        raise PlacesImportError("no files given: an OpenStreetMap file and address points")
    osm = OsmData()
    points: list[AddressPoint] = []
    report = ImportReport(city=source.city, files=[str(p) for p in source.files])
    seen_ways: set[int] = set()
    for path in source.files:
        path = Path(path)
        if is_osm_file(path):
            data = _cached(path, read_osm)
            # Two overlapping extracts hold some ways twice.
            osm.ways.extend(w for w in data.ways if w.id not in seen_ways)
            seen_ways.update(w.id for w in data.ways)
            osm.points.extend(data.points)
            report.ways_missing_nodes += data.ways_missing_nodes
        elif is_address_file(path):
            read = _cached(path, read_addresses)
            points.extend(read.points)
            report.rows_skipped += read.skipped
            report.problems.extend(read.problems)
        else:
            raise PlacesImportError(
                f"{path}: not a place file this importer reads: expected OpenStreetMap "
                "(.osm, .osm.pbf, .osm.gz, .osm.bz2) or OpenAddresses CSV (.csv, .csv.gz)"
            )
    if not osm.ways:
        raise PlacesImportError(
            f"no named streets in {', '.join(report.files)}: the streets come from an "
            "OpenStreetMap file (.osm or .osm.pbf) with named highway ways"
        )
    places, built = build_city(source.city, osm, points)
    if source.aliases is not None and source.aliases.is_file():
        places.aliases = load_aliases(source.aliases, places)
    report.streets, report.addresses = built.streets, built.addresses
    report.addresses_off_map = built.addresses_off_map
    report.off_map_streets = built.off_map_streets
    report.intersections, report.landmarks = built.intersections, built.landmarks
    report.aliases = len(places.aliases)
    return places, report


def import_city(engine: Engine, source: PlaceSource) -> ImportReport:
    """Read the files and replace the city's places in the database (one transaction)."""
    places, report = read_city(source)
    started = time.perf_counter()
    report.generation = save_city(engine, places, sources=[Path(p).name for p in source.files])
    report.save_seconds = time.perf_counter() - started
    log.info(
        "imported %s: %d streets, %d addresses (%d rows skipped), %d intersections, "
        "%d landmarks, %d aliases in %.2f s",
        report.city,
        report.streets,
        report.addresses,
        report.rows_skipped,
        report.intersections,
        report.landmarks,
        report.aliases,
        report.read_seconds + report.save_seconds,
    )
    return report


def seed_places(engine: Engine, source: PlaceSource) -> ImportReport | None:
    """Import the city when the database has none of its places (set-up, start-up); the
    report, or None when it was already there. Files missing is an error naming them."""
    if city_generation(engine, source.city) is not None:
        return None
    missing = [str(p) for p in source.files if not Path(p).is_file()]
    if missing:
        raise PlacesImportError(
            f"the place files of {source.city} are missing: {', '.join(missing)} "
            "(set DUTYLINE_PLACES_FILES, or import with `dutyline places import FILE...`)"
        )
    return import_city(engine, source)


# --- the per-process cache ---------------------------------------------------------------
# Reading and building Riverton takes ~0.4 s and many tests build a fresh database: parsed
# files and built cities are kept per process, keyed by path, size and modification time,
# so an edited file is read again. Nothing cached is handed out to be changed (read_city
# copies the lists; the places themselves are frozen).

_Parsed = TypeVar("_Parsed", OsmData, AddressRead)
_FileKey = tuple[str, int, int]
_CACHE: dict[_FileKey, OsmData | AddressRead] = {}
_BUILT: dict[tuple[object, ...], tuple[CityPlaces, ImportReport]] = {}
_CACHE_LOCK = threading.Lock()


def forget_cached_files() -> None:
    """Read every file again at the next import (to measure a whole import)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _BUILT.clear()


def _file_key(path: Path) -> _FileKey | None:
    if not path.is_file():
        return None
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def _source_key(source: PlaceSource) -> tuple[object, ...] | None:
    files = [_file_key(Path(p)) for p in source.files]
    if None in files:
        return None  # not cached: reading reports the missing file
    aliases = _file_key(source.aliases) if source.aliases is not None else None
    return source.city, tuple(files), aliases


def _cached(path: Path, read: Callable[[Path], _Parsed]) -> _Parsed:
    key = _file_key(path)
    if key is None:
        return read(path)  # raises the reader's own clear error
    with _CACHE_LOCK:
        found = _CACHE.get(key)
    if found is None:
        found = read(path)
        with _CACHE_LOCK:
            _CACHE[key] = found
    return found  # type: ignore[return-value]  # the reader's own type, by the key's path
