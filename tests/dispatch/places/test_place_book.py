"""The service's places on a real database (SQLite and PostgreSQL): Riverton as seeding
imports it, found through DispatchService.find_place; a re-import reaching a running
PlaceBook at its next check, without a restart."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from dispatch.contract import PlaceKind
from dispatch.db import make_engine
from dispatch.places.book import PlaceBook
from dispatch.places.city import CityPlaces, Street
from dispatch.places.store import city_generation, load_city, save_city
from dispatch.service import DispatchService
from tests.dispatch.places.place_facts import assert_real


class Seconds:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_find_place_through_the_service(service: DispatchService, riverton: CityPlaces) -> None:
    match = service.find_place("um it's at fifty four Oak Street")
    assert_real(match, riverton)
    assert match.confident and match.best is not None
    assert match.best.label == "54 Oak Street" and match.best.kind is PlaceKind.ADDRESS

    snapped = service.find_place("corner of clark and twelfth")
    assert_real(snapped, riverton)
    assert snapped.best is not None and snapped.best.label == "Lark Street and 12th Street"

    assert service.find_place("my street").problem == "vague"
    assert service.find_place("zebra boulevard").candidates == []

    vocabulary = service.place_vocabulary()
    assert len(vocabulary.streets) == len(riverton.streets)
    assert "Union Station" in vocabulary.landmarks and "the station" in vocabulary.aliases


def test_a_reimport_reaches_a_running_book(engine: Engine, riverton: CityPlaces) -> None:
    clock = Seconds()
    book = PlaceBook(engine, "Riverton", check_every=30.0, clock=clock)
    assert book.locate("Zebra Boulevard").candidates == []
    before = book.generation
    assert before == city_generation(engine, "Riverton")

    lark = next(s for s in riverton.streets if s.name == "Lark Street")
    east = tuple(tuple((lat, long + 0.01) for lat, long in way) for way in lark.ways)
    grown = replace(riverton, streets=[*riverton.streets, Street("Zebra Boulevard", east)])
    try:
        save_city(engine, grown, sources=["riverton.osm", "zebra.osm"])
        clock.now += 29.0  # not yet due: the line keeps answering from what it has
        assert book.locate("Zebra Boulevard").candidates == []
        clock.now += 1.0
        match = book.locate("Zebra Boulevard")
        assert match.confident and match.best is not None
        assert match.best.label == "Zebra Boulevard" and match.best.kind is PlaceKind.STREET
        assert book.generation == city_generation(engine, "Riverton") != before
        assert "Zebra Boulevard" in book.vocabulary().streets
    finally:
        save_city(engine, riverton, sources=["riverton.osm", "riverton-addresses.csv.gz"])
    clock.now += 30.0
    assert book.locate("Zebra Boulevard").candidates == []  # and back again


def test_a_city_never_imported_knows_no_place(engine: Engine) -> None:
    book = PlaceBook(engine, "Atlantis")
    match = book.locate("54 Oak Street")
    assert match.candidates == [] and match.problem == "no_street"
    assert book.locate("here").problem == "vague"
    assert book.vocabulary().streets == []


def test_a_database_without_place_tables_answers_without_places(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bare.db'}")  # never migrated
    try:
        book = PlaceBook(engine, "Riverton")
        assert book.locate("54 Oak Street").candidates == []
    finally:
        engine.dispose()


def test_callers_are_not_kept_waiting_by_a_rebuild(
    engine: Engine, riverton: CityPlaces, monkeypatch
) -> None:
    """While one thread loads a re-imported city, the others answer from the old one."""
    clock = Seconds()
    book = PlaceBook(engine, "Riverton", check_every=30.0, clock=clock)
    assert book.locate("54 Oak Street").confident
    loading, release = threading.Event(), threading.Event()

    def slow_load(engine: Engine, city: str) -> CityPlaces | None:
        loading.set()
        release.wait(10)
        return load_city(engine, city)

    monkeypatch.setattr("dispatch.places.book.load_city", slow_load)
    rebuilding = threading.Thread(target=book.locate, args=("Lark Street",))
    try:
        save_city(engine, riverton, sources=["riverton.osm", "riverton-addresses.csv.gz"])
        clock.now += 30.0
        rebuilding.start()
        assert loading.wait(10)
        started = time.perf_counter()
        match = book.locate("54 Oak Street")  # while the other thread is still loading
        assert time.perf_counter() - started < 0.5 and match.confident
    finally:
        release.set()
        if rebuilding.is_alive():
            rebuilding.join(10)
    assert book.generation == city_generation(engine, "Riverton")
