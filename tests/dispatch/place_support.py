"""Riverton, the demo city (data/places/), in a test's database: built from the files
once per test session, stored in each database that needs it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import Engine

from dispatch.db import make_engine
from dispatch.places.addresses import read_addresses
from dispatch.places.book import PlaceBook
from dispatch.places.build import build_city
from dispatch.places.city import CityPlaces
from dispatch.places.osm import read_osm
from dispatch.places.store import city_generation, save_city
from dutyline.settings import ROOT

PLACES = ROOT / "data" / "places"


@cache
def riverton() -> CityPlaces:
    city, _report = build_city(
        "Riverton",
        read_osm(PLACES / "riverton.osm"),
        read_addresses(PLACES / "riverton-addresses.csv.gz").points,
    )
    return city


def import_riverton(engine: Engine) -> None:
    """Riverton in this database, unless a set-up step imported it already."""
    if city_generation(engine, "Riverton") is None:
        save_city(engine, riverton(), sources=["riverton.osm", "riverton-addresses.csv.gz"])


@contextmanager
def riverton_book(database_url: str) -> Iterator[PlaceBook]:
    """Riverton imported into the database, and one PlaceBook over it for a module's tests
    (loading and indexing the city takes a second or two: once, as one running line does)."""
    engine = make_engine(database_url)
    try:
        import_riverton(engine)
        yield PlaceBook(engine, "Riverton")
    finally:
        engine.dispose()
