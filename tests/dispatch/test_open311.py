"""Open311 GeoReport v2: every answer validates against the community's schemas, in
JSON and XML; errors come in the spec's format; api_key and the filters hold."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from dispatch.contract import ComplaintReport
from dispatch.kinds import load_kinds
from dispatch.models import Ticket
from dispatch.service import DispatchService
from dutyline.settings import ROOT
from tests.dispatch.conftest import ManualClock
from tests.dispatch.web_support import add_api_key, build_app, schema_errors

KINDS = load_kinds(ROOT / "data")
BASE = "/open311/v2"


@pytest.fixture
def client(service: DispatchService) -> TestClient:
    return TestClient(build_app(service))


@pytest.fixture
def api_key(service: DispatchService) -> str:
    return add_api_key(service.engine)


def xml_items(response: Any, root: str, item: str) -> list[dict[str, str | None]]:
    assert response.headers["content-type"].startswith("text/xml")
    document = ET.fromstring(response.content)
    assert document.tag == root
    return [{child.tag: child.text for child in element} for element in document.findall(item)]


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def same_as_json(xml: list[dict[str, str | None]], json: list[dict[str, Any]]) -> None:
    """The XML carries exactly the JSON's scalar fields and values."""
    assert len(xml) == len(json)
    for xml_item, json_item in zip(xml, json, strict=True):
        scalars = {k: as_text(v) for k, v in json_item.items() if not isinstance(v, list | dict)}
        assert {k: xml_item[k] for k in scalars} == scalars


def assert_error(response: Any, status: int, fmt: str = "json") -> str:
    assert response.status_code == status, response.text
    if fmt == "xml":
        [error] = xml_items(response, "errors", "error")
        assert error["code"] == str(status)
        return error["description"] or ""
    [error] = response.json()
    assert error["code"] == status and error["description"]
    return error["description"]


def post_request(client: TestClient, fmt: str = "json", **form: str) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", data=form)


def file_phone_ticket(service: DispatchService, kind: str, location: str) -> str:
    report = ComplaintReport(
        kind=kind,
        location=location,
        details={},
        description="The caller's own words, kept internal",
        caller_number="+15185550999",
        channel="phone",
    )
    return service.file_complaint(report).number


# --- discovery and services -----------------------------------------------------------


def test_discovery_names_the_endpoint_in_both_formats(client: TestClient) -> None:
    body = client.get(f"{BASE}/discovery.json").json()
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    xml = ET.fromstring(client.get(f"{BASE}/discovery.xml").content)
    assert xml.tag == "discovery"
    assert [f.text for f in xml.iter("format")] == ["application/json", "text/xml"]


def test_services_are_the_complaint_kinds_and_validate(client: TestClient) -> None:
    response = client.get(f"{BASE}/services.json")
    services = response.json()
    assert schema_errors("services.json", services) == []
    assert {s["service_code"] for s in services} == set(KINDS)
    pothole = next(s for s in services if s["service_code"] == "pothole")
    assert pothole["service_name"] == KINDS["pothole"].name
    assert pothole["group"] == "roads" and pothole["metadata"] is True

    xml = client.get(f"{BASE}/services.xml")
    same_as_json(xml_items(xml, "services", "service"), services)


@pytest.mark.parametrize("code", sorted(KINDS))
def test_service_definitions_list_the_kinds_questions(client: TestClient, code: str) -> None:
    definition = client.get(f"{BASE}/services/{code}.json").json()
    assert schema_errors("service-definition.json", definition) == []
    kind = KINDS[code]
    assert [a["code"] for a in definition["attributes"]] == [s.code for s in kind.slots]
    assert [a["order"] for a in definition["attributes"]] == list(range(1, len(kind.slots) + 1))
    assert definition["attributes"][0]["description"] == kind.slots[0].question

    document = ET.fromstring(client.get(f"{BASE}/services/{code}.xml").content)
    assert document.tag == "service_definition"
    assert [a.findtext("code") for a in document.iter("attribute")] == [s.code for s in kind.slots]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_is_404_in_the_spec_error_format(client: TestClient, fmt: str) -> None:
    response = client.get(f"{BASE}/services/bridge_collapse.{fmt}")
    assert "bridge_collapse" in assert_error(response, 404, fmt)


def test_unsupported_format_is_a_400(client: TestClient) -> None:
    assert_error(client.get(f"{BASE}/services.csv"), 400)
    assert_error(client.get(f"{BASE}/services/pothole.csv"), 400)


# --- POST requests --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_posting_needs_a_valid_api_key(client: TestClient, api_key: str, fmt: str) -> None:
    form = {"service_code": "pothole", "address_string": "Main Street and 5th Avenue"}
    assert "api_key" in assert_error(post_request(client, fmt, **form), 403, fmt)
    assert_error(post_request(client, fmt, api_key="not-a-key", **form), 403, fmt)


def test_a_posted_request_is_filed_through_dispatch(
    client: TestClient, service: DispatchService, api_key: str
) -> None:
    response = post_request(
        client,
        api_key=api_key,
        service_code="illegal_parking",
        address_string="14 Elm Street",
        **{"attribute[vehicle]": "red pickup", "attribute[blocking]": "my driveway"},
        description="Parked across the driveway since 10 pm.",
        email="resident@example.org",
        phone="+15185550188",
    )
    assert response.status_code == 200, response.text
    [receipt] = response.json()
    number = receipt["service_request_id"]
    assert receipt["service_notice"].startswith("Sent to Parking Enforcement")

    with Session(service.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
    assert ticket.channel == "open311"
    assert ticket.kind == "illegal_parking"
    assert ticket.details["vehicle"] == "red pickup"
    assert ticket.details["Reporter email"] == "resident@example.org"
    assert ticket.caller_number == "+15185550188"

    requests = client.get(f"{BASE}/requests/{number}.json").json()
    assert schema_errors("requests.json", requests) == []
    [request] = requests
    assert request["service_request_id"] == number
    assert request["status"] == "open"
    assert request["service_code"] == "illegal_parking"
    assert request["description"] == "Parked across the driveway since 10 pm."
    assert request["agency_responsible"] == "Parking Enforcement"
    assert request["address"] == "14 Elm Street"
    assert "+15185550188" not in response.text + str(requests)  # reporter's phone stays internal

    xml = client.get(f"{BASE}/requests/{number}.xml")
    same_as_json(xml_items(xml, "service_requests", "request"), requests)


def test_a_posted_request_answers_in_xml_too(client: TestClient, api_key: str) -> None:
    response = post_request(
        client,
        "xml",
        api_key=api_key,
        service_code="streetlight_out",
        lat="42.6526",
        long="-73.7562",
    )
    [receipt] = xml_items(response, "service_requests", "request")
    assert receipt["service_request_id"] and receipt["service_request_id"].isdigit()


@pytest.mark.parametrize(
    ("form", "complaint"),
    [
        ({"address_string": "Main St"}, "service_code is required"),
        ({"service_code": "bridge", "address_string": "Main St"}, "Unknown service_code"),
        ({"service_code": "pothole"}, "A location is required"),
        ({"service_code": "pothole", "lat": "42.6"}, "lat and long must be given together"),
        ({"service_code": "pothole", "lat": "north", "long": "-73"}, "must be numbers"),
        ({"service_code": "pothole", "lat": "142", "long": "-73"}, "out of range"),
        (
            {"service_code": "pothole", "address_string": "Main St", "attribute[colour]": "x"},
            "Unknown attribute",
        ),
        (
            {"service_code": "pothole", "address_string": "Main St", "description": "x" * 4001},
            "longer than 4000",
        ),
    ],
)
def test_bad_requests_are_400_and_file_nothing(
    client: TestClient, service: DispatchService, api_key: str, form: dict, complaint: str
) -> None:
    response = post_request(client, api_key=api_key, **form)
    assert complaint in assert_error(response, 400)
    with Session(service.engine) as session:
        assert session.exec(select(Ticket)).first() is None


def test_errors_are_xml_when_xml_was_asked(client: TestClient, api_key: str) -> None:
    response = post_request(client, "xml", api_key=api_key, service_code="pothole")
    assert "location" in assert_error(response, 400, "xml")


# --- GET requests ---------------------------------------------------------------------


def test_tokens_are_never_issued(client: TestClient) -> None:
    assert "service_request_id" in assert_error(client.get(f"{BASE}/tokens/abc.json"), 404)


def test_unknown_request_is_404(client: TestClient) -> None:
    assert_error(client.get(f"{BASE}/requests/2611230999.json"), 404)
    assert_error(client.get(f"{BASE}/requests/2611230999.xml"), 404, "xml")


def test_phone_reports_do_not_publish_what_the_caller_said(
    client: TestClient, service: DispatchService
) -> None:
    number = file_phone_ticket(service, "noise", "22 Oak Street")
    [request] = client.get(f"{BASE}/requests/{number}.json").json()
    assert request["description"] is None
    assert request["address"] == "0 block of Oak Street"  # the block, not the house number
    assert "+15185550999" not in str(request)


def test_filters_by_id_code_status_and_dates(
    client: TestClient, service: DispatchService, clock: ManualClock, api_key: str
) -> None:
    start = clock.now
    noise = file_phone_ticket(service, "noise", "22 Oak Street")
    clock.advance(days=10)
    pothole = file_phone_ticket(service, "pothole", "Main Street and 5th Avenue")
    clock.advance(days=10)
    dumping = file_phone_ticket(service, "illegal_dumping", "the park on Maple Avenue")
    service.set_status(dumping, "closed", "fixed", None)
    window = {
        "start_date": (start - timedelta(days=1)).isoformat(),
        "end_date": clock.now.isoformat(),
    }

    def numbers(**params: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json", params={**window, **params})
        assert response.status_code == 200, response.text
        assert schema_errors("requests.json", response.json()) == []
        return sorted(r["service_request_id"] for r in response.json())

    assert numbers() == sorted([noise, pothole, dumping])
    assert numbers(service_code="pothole") == [pothole]
    assert numbers(service_code="pothole,noise") == sorted([pothole, noise])
    assert numbers(status="closed") == [dumping]
    assert numbers(status="open") == sorted([noise, pothole])
    # Only the first ten days: the noise report.
    first_days = {
        "start_date": window["start_date"],
        "end_date": (start + timedelta(days=5)).isoformat(),
    }
    response = client.get(f"{BASE}/requests.json", params=first_days)
    assert [r["service_request_id"] for r in response.json()] == [noise]
    # A list of ids overrides every other filter.
    both = client.get(
        f"{BASE}/requests.json",
        params={"service_request_id": f"{noise},{dumping}", "status": "open"},
    )
    assert sorted(r["service_request_id"] for r in both.json()) == sorted([noise, dumping])
    closed = next(r for r in both.json() if r["service_request_id"] == dumping)
    assert closed["status"] == "closed" and "Fixed" in closed["status_notes"]

    xml = client.get(f"{BASE}/requests.xml", params=window)
    same_as_json(
        xml_items(xml, "service_requests", "request"),
        client.get(f"{BASE}/requests.json", params=window).json(),
    )


def test_dates_without_a_zone_are_city_time_and_dates_alone_work(
    client: TestClient, service: DispatchService, clock: ManualClock
) -> None:
    number = file_phone_ticket(service, "pothole", "Main Street")  # 03:00 in the city
    day = clock.now.astimezone(service_zone(service)).date()
    inside = client.get(
        f"{BASE}/requests.json",
        params={"start_date": f"{day}T02:00:00", "end_date": f"{day}T04:00:00"},
    )
    assert [r["service_request_id"] for r in inside.json()] == [number]
    later = client.get(f"{BASE}/requests.json", params={"start_date": f"{day}T03:30:00"})
    assert later.json() == []
    by_day = client.get(f"{BASE}/requests.json", params={"start_date": str(day)})
    assert [r["service_request_id"] for r in by_day.json()] == [number]


def service_zone(service: DispatchService) -> ZoneInfo:
    return ZoneInfo(service.settings.timezone)


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-02T00:00:00Z"}, "90 days"),
        ({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"}, "before"),
        ({"start_date": "last tuesday"}, "ISO 8601"),
        ({"status": "pending"}, "open or closed"),
        ({"service_code": "bridge"}, "Unknown service_code"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_filters_are_400(client: TestClient, params: dict, complaint: str, fmt: str) -> None:
    response = client.get(f"{BASE}/requests.{fmt}", params=params)
    assert complaint in assert_error(response, 400, fmt)


def test_ninety_days_exactly_is_allowed(client: TestClient) -> None:
    response = client.get(
        f"{BASE}/requests.json",
        params={"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-01T00:00:00Z"},
    )
    assert response.status_code == 200 and response.json() == []


def test_without_dates_the_last_90_days_are_listed(
    client: TestClient, service: DispatchService, clock: ManualClock
) -> None:
    from datetime import UTC, datetime

    clock.now = datetime.now(UTC) - timedelta(days=91)
    old = file_phone_ticket(service, "pothole", "Main Street")
    clock.now = datetime.now(UTC) - timedelta(days=1)
    recent = file_phone_ticket(service, "noise", "Oak Street")
    listed = [r["service_request_id"] for r in client.get(f"{BASE}/requests.json").json()]
    assert recent in listed and old not in listed
