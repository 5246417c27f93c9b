"""Open311 and where a request is (issue 9): `lat`/`long` given back, an `address_string`
geocoded on Riverton's own data, coordinates a device sent kept as sent, and a phone
report's point published at block precision."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from dispatch.contract import ComplaintReport
from dispatch.models import Ticket
from dispatch.places.book import PlaceBook
from dispatch.service import DispatchService
from tests.dispatch.place_support import riverton_book
from tests.dispatch.test_open311 import BASE, post_request, xml_items
from tests.dispatch.web_support import add_api_key, build_app, schema_errors


@pytest.fixture
def api_key(service: DispatchService) -> str:
    return add_api_key(service.engine)


@pytest.fixture(scope="module")
def book(migrated_url: str) -> Iterator[PlaceBook]:
    with riverton_book(migrated_url) as places:
        yield places


@pytest.fixture
def riverton_client(service: DispatchService, book: PlaceBook) -> TestClient:
    service.places = book
    return TestClient(build_app(service))


def stored(service: DispatchService, number: str) -> Ticket:
    with Session(service.engine) as session:
        return session.exec(select(Ticket).where(Ticket.number == number)).one()


def test_a_posted_address_string_is_geocoded_and_given_back_with_lat_long(
    riverton_client: TestClient, service: DispatchService, api_key: str
) -> None:
    response = post_request(
        riverton_client,
        api_key=api_key,
        service_code="pothole",
        address_string="42 Lark St",
        description="Deep one in the right lane.",
    )
    [receipt] = response.json()
    ticket = stored(service, receipt["service_request_id"])
    point = service.find_place("42 Lark Street").best
    assert ticket.place_name == "42 Lark Street" and ticket.place_kind == "address"
    assert (ticket.lat, ticket.long) == (point.lat, point.long) and ticket.place_verified
    assert ticket.location_text == "42 Lark St"  # the partner's own words stay

    for fmt in ("json", "xml"):
        got = riverton_client.get(f"{BASE}/requests/{ticket.number}.{fmt}")
        [request] = got.json() if fmt == "json" else xml_items(got, "service_requests", "request")
        # The partner published this address: its point is given as found.
        assert float(request["lat"]) == point.lat and float(request["long"]) == point.long
        assert request["address"] == "42 Lark St"
    assert schema_errors("requests.json", riverton_client.get(f"{BASE}/requests.json").json()) == []


def test_posted_coordinates_are_kept_and_an_unknown_address_is_kept_as_words(
    riverton_client: TestClient, service: DispatchService, api_key: str
) -> None:
    both = post_request(
        riverton_client,
        api_key=api_key,
        service_code="pothole",
        address_string="42 Lark Street",
        lat="42.640600",
        long="-73.761700",
    ).json()[0]["service_request_id"]
    ticket = stored(service, both)
    assert (ticket.lat, ticket.long) == (42.6406, -73.7617)  # the device's point, not ours
    [request] = riverton_client.get(f"{BASE}/requests/{both}.json").json()
    assert (request["lat"], request["long"]) == (42.6406, -73.7617)

    unknown = post_request(
        riverton_client,
        api_key=api_key,
        service_code="pothole",
        address_string="behind the old mill",
    ).json()[0]["service_request_id"]
    ticket = stored(service, unknown)
    assert ticket.place_verified is False and ticket.lat is None and ticket.place_name is None
    [request] = riverton_client.get(f"{BASE}/requests/{unknown}.json").json()
    assert request["lat"] is None and request["address"] == "behind the old mill"


def test_a_phone_report_gives_its_places_point_at_block_precision(
    riverton_client: TestClient, service: DispatchService
) -> None:
    place = service.find_place("417 Lark Street").best
    house = service.file_complaint(
        ComplaintReport(
            kind="noise",
            location="four seventeen lark street",
            place=place,
            place_verified=True,
            caller_number="+15185550999",
        )
    ).number
    corner = service.file_complaint(
        ComplaintReport(
            kind="noise",
            location="corner of Lark and 5th",
            place=service.find_place("Lark Street and 5th Street").best,
            place_verified=True,
        )
    ).number
    listed = {
        r["service_request_id"]: r for r in riverton_client.get(f"{BASE}/requests.json").json()
    }
    assert listed[house]["address"] == "400 block of Lark Street"
    assert (listed[house]["lat"], listed[house]["long"]) == (
        round(place.lat, 3),
        round(place.long, 3),
    )
    assert "417" not in str(listed[house])
    assert listed[corner]["address"] == "Lark Street and 5th Street"
    assert listed[corner]["lat"] is not None
