"""Open311 service requests: tickets as GeoReport v2 requests, the filters of
`GET requests` and the fields of `POST requests`.

Pure functions (no database, no FastAPI) so each rule is tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.contract import ComplaintReport
from dispatch.kinds import ComplaintKind
from dispatch.models import CLOSE_REASON_LABELS
from dispatch.open311.formats import Open311Error
from dispatch.open311.places import public_address, public_point
from dispatch.public import TicketFilters, TicketPublic

MAX_SPAN = timedelta(days=90)
MAX_RESULTS = 1000
MAX_DESCRIPTION = 4000
UNCLASSIFIED_CODE = "unclassified"  # phone reports the bot could not classify

# Reporter fields of POST requests kept with the ticket's details for the officer.
CONTACT_FIELDS = {
    "first_name": "Reporter first name",
    "last_name": "Reporter last name",
    "email": "Reporter email",
    "device_id": "Reporter device",
    "account_id": "Reporter account",
    "media_url": "media_url",
    "address_id": "address_id",
}


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 with the city's UTC offset, as GeoReport clients expect."""
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def as_request(ticket: TicketPublic, tz: ZoneInfo) -> dict[str, Any]:
    # Only a partner app's POST was meant for publication. Phone (and staff-filed) reports
    # are the caller's words and often their home: none of it, and the place at block level.
    public_text = ticket.channel == "open311"
    if public_text:
        address = ticket.location_text or ticket.place_name
        lat, long = ticket.lat, ticket.long
    else:
        address = public_address(
            ticket.location_text, ticket.location_normalized, ticket.place_name, ticket.place_kind
        )
        lat, long = public_point(ticket.lat, ticket.long)
    notes = ticket.status_label
    if ticket.close_reason:
        notes = f"{notes}: {CLOSE_REASON_LABELS.get(ticket.close_reason, ticket.close_reason)}"
    if ticket.duplicate_of:
        notes = f"{notes} (ticket {ticket.duplicate_of})"
    media_url = ticket.details.get("media_url") if public_text else None
    return {
        "service_request_id": ticket.number,
        "status": ticket.open311_status,
        "status_notes": notes,
        "service_name": ticket.kind_name,
        "service_code": ticket.kind or UNCLASSIFIED_CODE,
        "description": ticket.description if public_text else None,
        "agency_responsible": ticket.department_name,
        "service_notice": None,
        "requested_datetime": iso(ticket.created_at, tz),
        "updated_datetime": iso(ticket.updated_at, tz),
        "expected_datetime": None,
        "address": address,
        "address_id": ticket.details.get("address_id") if public_text else None,
        "zipcode": None,
        "lat": lat,
        "long": long,
        "media_url": media_url or None,
    }


def _parse_when(name: str, raw: str, tz: ZoneInfo) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise Open311Error(
            400, f"{name} must be an ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def request_filters(
    params: Mapping[str, str],
    kinds: Mapping[str, ComplaintKind],
    tz: ZoneInfo,
    now: datetime,
) -> TicketFilters:
    """The query of `GET requests` as ticket filters; bad values are a 400."""
    ids = params.get("service_request_id")
    if ids:
        # The spec: a list of ids overrides every other argument.
        numbers = [number.strip() for number in ids.split(",") if number.strip()]
        return TicketFilters(numbers=numbers, limit=MAX_RESULTS)
    start = (
        _parse_when("start_date", params["start_date"], tz) if params.get("start_date") else None
    )
    end = _parse_when("end_date", params["end_date"], tz) if params.get("end_date") else None
    if start and end:
        if end < start:
            raise Open311Error(400, "end_date is before start_date")
        if end - start > MAX_SPAN:
            raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
    elif start:
        end = start + MAX_SPAN
    elif end:
        start = end - MAX_SPAN
    else:
        start, end = now - MAX_SPAN, None
    kind = None
    if params.get("service_code"):
        codes = [code.strip() for code in params["service_code"].split(",") if code.strip()]
        unknown = [code for code in codes if code not in kinds]
        if unknown:
            raise Open311Error(400, f"Unknown service_code: {', '.join(unknown)}")
        kind = codes
    status = None
    if params.get("status"):
        status = [value.strip().lower() for value in params["status"].split(",") if value.strip()]
        if any(value not in ("open", "closed") for value in status):
            raise Open311Error(400, "status must be open or closed")
    # end_date is the latest time to include; a date alone includes that whole day.
    if end is not None:
        date_only = len(params.get("end_date", "").strip()) == len("2026-11-23")
        end += timedelta(days=1) if date_only else timedelta(microseconds=1)
    return TicketFilters(
        kind=kind, status=status, created_from=start, created_to=end, limit=MAX_RESULTS
    )


def complaint_from_form(
    form: Mapping[str, str], kinds: Mapping[str, ComplaintKind]
) -> ComplaintReport:
    """The fields of `POST requests` as a complaint; what is missing or wrong is a 400."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    kind = kinds.get(code)
    if kind is None:
        raise Open311Error(400, f"Unknown service_code: {code}")
    lat, long = _coordinates(form.get("lat"), form.get("long"))
    address = (form.get("address_string") or "").strip() or None
    address_id = (form.get("address_id") or "").strip() or None
    if lat is None and address is None and address_id is None:
        raise Open311Error(
            400, "A location is required: lat and long, address_string or address_id"
        )
    description = (form.get("description") or "").strip() or None
    if description and len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
    slot_codes = {slot.code for slot in kind.slots}
    details: dict[str, str] = {}
    for name, value in form.items():
        if name.startswith("attribute[") and name.endswith("]"):
            slot = name[len("attribute[") : -1]
            if slot not in slot_codes:
                raise Open311Error(400, f"Unknown attribute for {code}: {slot}")
            if value.strip():
                details[slot] = value.strip()
    for field, label in CONTACT_FIELDS.items():
        value = (form.get(field) or "").strip()
        if value:
            details[label] = value
    location = address or (
        f"{lat:.6f}, {long:.6f}" if lat is not None else f"address id {address_id}"
    )
    return ComplaintReport(
        kind=code,
        location=location,
        details=details,
        description=description,
        caller_number=(form.get("phone") or "").strip() or None,
        channel="open311",
        lat=lat,
        long=long,
    )


def _coordinates(raw_lat: str | None, raw_long: str | None) -> tuple[float | None, float | None]:
    if not raw_lat and not raw_long:
        return None, None
    if not raw_lat or not raw_long:
        raise Open311Error(400, "lat and long must be given together")
    try:
        lat, long = float(raw_lat), float(raw_long)
    except ValueError:
        raise Open311Error(400, "lat and long must be numbers (WGS84 degrees)") from None
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise Open311Error(400, "lat and long are out of range")
    return lat, long
