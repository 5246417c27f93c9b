"""Open311 GeoReport v2 under /open311/v2/ (JSON and XML by the .json/.xml suffix).

Routes only translate: tickets come from DispatchService, the wire shapes from
services.py/requests.py, the formats from formats.py. Every error, including a
malformed request, is answered in the spec's error format by `Open311Route`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from dispatch.auth import ServicesDep, SessionDep
from dispatch.open311 import keys
from dispatch.open311.formats import Format, Open311Error, render, render_error, split_format
from dispatch.open311.requests import as_request, complaint_from_form, request_filters
from dispatch.open311.services import service, service_definition

log = logging.getLogger("dutyline.dispatch.open311")

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00Z"  # bump when the services or this endpoint change


def _format_of(request: Request) -> Format:
    last = request.url.path.rsplit("/", 1)[-1]
    return "xml" if last.endswith(".xml") else "json"


class Open311Route(APIRoute):
    """Answers Open311Error and malformed input in the spec's error list."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Open311Error as error:
                return render_error(error, _format_of(request))
            except RequestValidationError as error:
                first = error.errors()[0] if error.errors() else {}
                where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
                description = f"{where}: {first.get('msg', 'invalid request')}".strip(": ")
                return render_error(Open311Error(400, description), _format_of(request))

        return route


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)


def _fmt(value: str) -> Format:
    if value not in ("json", "xml"):
        raise Open311Error(400, f"Unsupported format '.{value}': use .json or .xml")
    return value  # type: ignore[return-value]


def _tz(services: Any) -> ZoneInfo:
    return ZoneInfo(services.settings.timezone)


@router.get("/discovery.{fmt}")
def discovery(fmt: str, services: ServicesDep) -> Response:
    url = f"{services.settings.public_url}/open311/v2"
    body = {
        "changeset": CHANGESET,
        "contact": "The city's dutyline administrator.",
        "key_service": "API keys are issued by the city's dutyline administrator "
        "(dutyline apikey add).",
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return render(body, _fmt(fmt), xml_root="discovery")


@router.get("/services.{fmt}")
def list_services(fmt: str, services: ServicesDep) -> Response:
    body = [service(kind) for kind in services.dispatch.kinds.values()]
    return render(body, _fmt(fmt), xml_root="services")


@router.get("/services/{name}")
def get_service_definition(name: str, services: ServicesDep) -> Response:
    code, fmt = split_format(name)
    kind = services.dispatch.kinds.get(code)
    if kind is None:
        raise Open311Error(404, f"No service with service_code {code}")
    return render(service_definition(kind), fmt, xml_root="service_definition")


@router.get("/requests.{fmt}")
def list_requests(fmt: str, request: Request, services: ServicesDep) -> Response:
    tz = _tz(services)
    filters = request_filters(request.query_params, services.dispatch.kinds, tz, datetime.now(UTC))
    tickets = services.dispatch.list_tickets(filters)
    body = [as_request(ticket, tz) for ticket in tickets]
    return render(body, _fmt(fmt), xml_root="service_requests")


@router.get("/requests/{name}")
def get_request(name: str, services: ServicesDep) -> Response:
    number, fmt = split_format(name)
    ticket = services.dispatch.get_ticket(number)
    if ticket is None:
        raise Open311Error(404, f"No service request {number}")
    # The spec answers a single request as a list of one.
    return render([as_request(ticket, _tz(services))], fmt, xml_root="service_requests")


@router.get("/tokens/{name}")
def get_token(name: str) -> Response:
    token, _ = split_format(name)
    # POST requests answers with the service_request_id itself, so no token is ever issued.
    raise Open311Error(404, f"No token {token}: service_request_id is given on submission")


@router.post("/requests.{fmt}")
async def create_request(
    fmt: str, request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    form_format = _fmt(fmt)
    form = {key: str(value) for key, value in (await request.form()).items()}
    api_key = form.pop("api_key", None) or request.query_params.get("api_key")
    partner = await run_in_threadpool(_partner, session, api_key)
    report = complaint_from_form(form, services.dispatch.kinds)
    filed = await run_in_threadpool(services.dispatch.file_complaint, report)
    log.info("open311: %s filed ticket %s (%s)", partner, filed.number, report.kind)
    notice = f"Sent to {filed.department_name}."
    if filed.duplicate_of:
        notice += f" Added to the earlier report {filed.duplicate_of} of the same problem."
    body = [{"service_request_id": filed.number, "service_notice": notice, "account_id": None}]
    return render(body, form_format, xml_root="service_requests")


def _partner(session: Session, api_key: str | None) -> str:
    if not api_key:
        raise Open311Error(403, "api_key is required to submit a service request")
    found = keys.find_key(session=session, key=api_key)
    if found is None:
        raise Open311Error(403, "api_key is not valid")
    return found.name
