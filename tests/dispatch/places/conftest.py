"""The demo city as `dutyline places import` builds it, once per test module."""

from __future__ import annotations

import pytest

from dispatch.places.city import CityPlaces
from dispatch.places.geocoder import Geocoder
from dispatch.places.importer import PlaceSource, read_city
from tests.dispatch.places.place_facts import PLACES


@pytest.fixture(scope="module")
def riverton() -> CityPlaces:
    source = PlaceSource(
        "Riverton",
        (PLACES / "riverton.osm", PLACES / "riverton-addresses.csv.gz"),
        PLACES / "aliases.yaml",
    )
    city, _ = read_city(source)
    return city


@pytest.fixture(scope="module")
def geocoder(riverton: CityPlaces) -> Geocoder:
    return Geocoder(riverton)
