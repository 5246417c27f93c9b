"""Issue 10, item 4: Open311 publishes phone reports without personal data.

Tickets are filed through the dispatch service of the real app (its composition root)
on a real database, SQLite and PostgreSQL, at places that are not landmarks: house
numbers, the caller's number and the caller's own words in every field they can
reach. Then the public feed is scraped as anyone may: requests.json / .xml and each
request in both formats. Only the block may show, never the house.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatch.contract import ComplaintReport
from dispatch.open311.places import public_address, public_point
from dutyline.app import create_app
from tests.conftest import make_settings, migrate_and_seed, postgres_database

BASE = "/open311/v2"
CALLER = "+15185550417"
# Each said place (not a landmark) -> what may be published; the house numbers must not.
PLACES = {
    "417 Linden Street": "400 block of Linden Street",
    "um my house at 1289 Hillside Drive": "1200 block of Hillside Drive",
    "3605 Quince Lane apartment 4711": "3600 block of Quince Lane",
    "behind Dana Whitfield's house on Sycamore Avenue": "Sycamore Avenue",
    "twelve Juniper Court": "Juniper Court",
}
HOUSE_NUMBERS = ["417", "1289", "3605", "4711"]
# What the caller said beyond the place: in descriptions, slot values and transcripts.
CALLER_WORDS = ["Dana Whitfield", "drum kit", "my bedroom", "call me back", "twelve"]


def report(location: str, **extra: object) -> ComplaintReport:
    values: dict = {
        "kind": "noise",
        "location": location,
        "details": {"source": "Dana Whitfield's drum kit", "ongoing": "yes, from my bedroom"},
        "description": f"Dana Whitfield at {location} plays a drum kit; call me back on {CALLER}",
        "transcript": f"caller: it's at {location}. Dana Whitfield's drum kit, call me back",
        "caller_number": CALLER,
        "channel": "phone",
    }
    values.update(extra)
    return ComplaintReport(**values)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dutyline.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def filed(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app on a real database; phone reports filed through its dispatch service."""
    settings = make_settings(tmp_path, database_url=database_url)
    migrate_and_seed(settings)
    app = create_app(settings, load_models=False)
    dispatch = app.state.services.dispatch
    numbers = {place: dispatch.file_complaint(report(place)).number for place in PLACES}
    # A house's own point (as a geocoder would give it) and a report the bot could not
    # classify, its whole transcript kept for the officer.
    numbers["geocoded"] = dispatch.file_complaint(
        report("417 Linden Street", kind="pothole", lat=42.658712, long=-73.763294)
    ).number
    numbers["triage"] = dispatch.file_complaint(
        report("417 Linden Street", kind=None, needs_triage=True, triage_reason="unclear")
    ).number
    # Places the caller confirmed on the phone (the dialogue sends the city's match): a
    # landmark is published by name, a house at its block and block-rounded point.
    city_hall = dispatch.find_place("City Hall").best
    numbers["landmark"] = dispatch.file_complaint(
        report("outside City Hall", place=city_hall, place_verified=True)
    ).number
    house = dispatch.find_place("417 Lark Street").best
    numbers["confirmed"] = dispatch.file_complaint(
        report("four one seven Lark Street", place=house, place_verified=True)
    ).number
    yield TestClient(app), numbers
    dispatch.engine.dispose()


def leaks(text: str) -> list[str]:
    """Every piece of personal data found in a public answer."""
    found = [
        f"house number {n}" for n in HOUSE_NUMBERS if re.search(rf"(?<![\d.:T-]){n}(?![\d:])", text)
    ]
    digits = CALLER.lstrip("+")
    found += [f"caller number {n}" for n in (digits, digits[1:], digits[-7:]) if n in text]
    found += [f"caller words {w!r}" for w in CALLER_WORDS if w.lower() in text.lower()]
    return found


def test_a_scrape_of_the_feed_finds_no_house_number_caller_number_or_words(
    filed: tuple[TestClient, dict[str, str]],
) -> None:
    client, numbers = filed
    listing = client.get(f"{BASE}/requests.json")
    assert listing.status_code == 200, listing.text
    listed = {r["service_request_id"]: r for r in listing.json()}
    assert set(numbers.values()) <= set(listed)  # the scrape reaches every report
    pages = [listing, client.get(f"{BASE}/requests.xml")]
    for number in listed:
        pages += [client.get(f"{BASE}/requests/{number}.{fmt}") for fmt in ("json", "xml")]
    for page in pages:
        assert page.status_code == 200, page.text
        assert leaks(page.text) == [], page.request.url

    # What is published instead: the block, the street, or the landmark's name.
    for place, address in PLACES.items():
        assert listed[numbers[place]]["address"] == address
        assert listed[numbers[place]]["description"] is None
    assert listed[numbers["landmark"]]["address"] == "City Hall"
    assert listed[numbers["triage"]]["address"] == "400 block of Linden Street"
    geocoded = listed[numbers["geocoded"]]
    assert (geocoded["lat"], geocoded["long"]) == (42.659, -73.763)  # the block, not the house
    confirmed = listed[numbers["confirmed"]]
    assert confirmed["address"] == "400 block of Lark Street"
    assert confirmed["lat"] is not None and len(str(confirmed["lat"]).split(".")[1]) <= 3


def test_the_feed_is_not_empty_of_what_the_public_may_know(
    filed: tuple[TestClient, dict[str, str]],
) -> None:
    """A scrape that finds nothing would pass the test above: the feed still says what
    happened where, in both formats."""
    client, numbers = filed
    [request] = client.get(f"{BASE}/requests/{numbers['417 Linden Street']}.json").json()
    assert request["service_code"] == "noise" and request["status"] == "open"
    assert request["agency_responsible"] and request["requested_datetime"]
    xml = client.get(f"{BASE}/requests/{numbers['417 Linden Street']}.xml").text
    assert "<address>400 block of Linden Street</address>" in xml


# --- the rules, one by one ------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "normalized", "place", "published"),
    [
        ("417 Linden Street", None, None, "400 block of Linden Street"),
        ("417B Linden St.", None, None, "400 block of Linden Street"),
        ("22 Oak Street", "22 oak street", "Oak Street", "0 block of Oak Street"),
        ("12 Main St near Fire Station 3", None, "Fire Station 3", "Fire Station 3"),
        ("Linden Street and Walnut Avenue", None, None, "Linden Street & Walnut Avenue"),
        ("Main and Fifth", None, "Main Street & 5th Avenue", "Main Street & 5th Avenue"),
        ("four seventeen Linden Street", None, None, "Linden Street"),
        ("John Smith's court", None, None, None),
        ("at my mum's place", None, None, None),
        ("behind the blue house by the river bend", None, None, None),
        ("경안로 123", None, None, "경안로"),
        (None, None, None, None),
    ],
)
def test_public_address(
    said: str | None, normalized: str | None, place: str | None, published: str | None
) -> None:
    assert public_address(said, normalized, place) == published


def test_public_point_rounds_to_the_block() -> None:
    assert public_point(42.658712, -73.763294) == (42.659, -73.763)
    assert public_point(42.6521, None) == (None, None)


@pytest.mark.parametrize(
    ("place", "kind", "published"),
    [
        ("417 Lark Street", "address", "400 block of Lark Street"),
        ("42A Lark Street", "address", "0 block of Lark Street"),
        ("300 block of Lark Street", "block", "300 block of Lark Street"),
        ("Pearl Street and 12th Street", "intersection", "Pearl Street and 12th Street"),
        ("Broadway near Union Station", "near", "Broadway near Union Station"),
        ("City Hall", "landmark", "City Hall"),
        ("Lark Street", "street", "Lark Street"),
    ],
)
def test_public_address_of_a_place_the_city_matched(place: str, kind: str, published: str) -> None:
    """The city's label of a house carries its number: only its block is published."""
    said = "um it's four seventeen lark street by my house"
    assert public_address(said, None, place, kind) == published
