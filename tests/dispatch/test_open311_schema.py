"""The project's GeoReport v2 schemas reject what the spec forbids, so the Open311
tests that validate against them can fail."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dispatch.web_support import schema_errors

REQUEST = {
    "service_request_id": "DL-1",
    "status": "open",
    "service_code": "pothole",
    "requested_datetime": "2026-11-30T21:04:00-05:00",
    "lat": 40.7,
    "long": -73.9,
    "media_url": None,
}
SERVICE = {
    "service_code": "pothole",
    "service_name": "Pothole",
    "metadata": True,
    "type": "realtime",
}
ATTRIBUTE = {"variable": True, "code": "size", "datatype": "string", "required": True, "order": 1}


def test_valid_documents_pass() -> None:
    assert schema_errors("requests.json", [REQUEST]) == []
    assert schema_errors("requests.json", []) == []
    assert schema_errors("services.json", [SERVICE]) == []
    definition = {"service_code": "pothole", "attributes": [ATTRIBUTE]}
    assert schema_errors("service-definition.json", definition) == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"status": "pending"}, "status"),
        ({"requested_datetime": "2026-11-30 21:04"}, "requested_datetime"),
        ({"updated_datetime": "yesterday"}, "updated_datetime"),
        ({"lat": "40.7"}, "lat"),
        ({"description": "x" * 4001}, "description"),
        ({"media_url": "not a url"}, "media_url"),
        ({"service_request_id": None}, "service_request_id"),
    ],
)
def test_requests_break_on_what_the_spec_forbids(change: dict[str, Any], path: str) -> None:
    errors = schema_errors("requests.json", [{**REQUEST, **change}])
    assert errors and all(e.startswith(f"[0, '{path}']") for e in errors), errors


def test_a_request_without_its_id_and_time_fails() -> None:
    request = {k: v for k, v in REQUEST.items() if k not in ("service_request_id",)}
    assert schema_errors("requests.json", [request])
    assert schema_errors("requests.json", {"service_request_id": "DL-1"})


def test_services_and_definitions_break_on_what_the_spec_forbids() -> None:
    assert schema_errors("services.json", [{**SERVICE, "type": "sometimes"}])
    assert schema_errors("services.json", [{**SERVICE, "metadata": "true"}])
    bad_datatype = {**ATTRIBUTE, "datatype": "color"}
    assert schema_errors(
        "service-definition.json", {"service_code": "p", "attributes": [bad_datatype]}
    )
    # A list attribute must say its values.
    listed = {**ATTRIBUTE, "datatype": "singlevaluelist"}
    assert schema_errors("service-definition.json", {"service_code": "p", "attributes": [listed]})
    listed["values"] = [{"key": "s", "name": "Small"}]
    assert (
        schema_errors("service-definition.json", {"service_code": "p", "attributes": [listed]})
        == []
    )
