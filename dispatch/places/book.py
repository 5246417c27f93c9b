"""The configured city's geocoder, as a running line keeps it: loaded from the database
once, and rebuilt when `dutyline places import` bumps the city's generation.

The generation is one indexed row; it is read at most every `check_every` seconds, so a
re-import reaches a running line within that time without a restart, and a call never
waits for the database on the hot path but for that one read. While one thread rebuilds,
the others keep using the previous geocoder: a caller never waits for an import.
A city never imported (or a database without the place tables yet) gives a geocoder
that knows no place: every answer is unmatched, none is invented.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dispatch.contract import PlaceMatch, PlaceVocabulary
from dispatch.places.city import CityPlaces
from dispatch.places.geocoder import Geocoder
from dispatch.places.store import city_generation, load_city

log = logging.getLogger("dutyline.dispatch.places")

CHECK_EVERY_SECONDS = 30.0


class PlaceBook:
    def __init__(
        self,
        engine: Engine,
        city: str,
        *,
        check_every: float = CHECK_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.city_name = city
        self.check_every = check_every
        self.clock = clock
        self._lock = threading.Lock()
        self._geocoder: Geocoder | None = None
        self._places: CityPlaces = CityPlaces(city=city)
        self._generation: int | None = None
        self._checked_at: float | None = None

    # --- what the service offers ---------------------------------------------------------

    def locate(self, said: str) -> PlaceMatch:
        return self.geocoder().locate(said)

    def locate_any(self, alternatives: Iterable[str]) -> PlaceMatch:
        return self.geocoder().locate_any(alternatives)

    def vocabulary(self) -> PlaceVocabulary:
        return self.geocoder().vocabulary()

    @property
    def city(self) -> CityPlaces:
        """The city's places as loaded (for the officers' map); read-only."""
        self.geocoder()
        return self._places

    @property
    def generation(self) -> int | None:
        return self._generation

    # --- keeping it current ------------------------------------------------------------

    def geocoder(self) -> Geocoder:
        """The current geocoder; checks the city's generation when the last check is old."""
        current = self._geocoder
        if current is not None and not self._due(self.clock()):
            return current
        # The first load makes everyone wait (there is nothing to answer with yet);
        # afterwards a thread finding another one rebuilding answers with the old index.
        if not self._lock.acquire(blocking=current is None):
            return current  # type: ignore[return-value]  # acquire fails only when not None
        try:
            if self._geocoder is None or self._due(self.clock()):
                self._refresh()
            assert self._geocoder is not None
            return self._geocoder
        finally:
            self._lock.release()

    def refresh(self) -> None:
        """Check the generation now (tests, and `dutyline places import` in-process)."""
        with self._lock:
            self._refresh()

    def _due(self, now: float) -> bool:
        return self._checked_at is None or now - self._checked_at >= self.check_every

    def _refresh(self) -> None:
        self._checked_at = self.clock()
        try:
            generation = city_generation(self.engine, self.city_name)
            if self._geocoder is not None and generation == self._generation:
                return
            places = load_city(self.engine, self.city_name) if generation is not None else None
        except SQLAlchemyError:
            # The database is away or not migrated yet: keep what we have (a line answers
            # with yesterday's map rather than none), try again at the next check.
            log.warning("could not read the places of %s", self.city_name, exc_info=True)
            if self._geocoder is None:
                self._geocoder = Geocoder(self._places)
            return
        if places is None:
            log.warning("no place data for %s: run `dutyline places import`", self.city_name)
            places = CityPlaces(city=self.city_name)
        started = time.perf_counter()
        geocoder = Geocoder(places)
        self._places, self._geocoder, self._generation = places, geocoder, generation
        log.info(
            "places of %s loaded (generation %s, %d streets, %d addresses) in %.0f ms",
            self.city_name,
            generation,
            len(places.streets),
            len(places.addresses),
            (time.perf_counter() - started) * 1000,
        )
