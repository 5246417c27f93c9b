"""What every staff page shares: the Jinja2 environment, its filters, the static files."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from sqlmodel import Session

from dispatch.auth import is_supervisor
from dispatch.i18n import N_
from dispatch.models import Department, Staff, TicketStatus
from dispatch.pages import translate
from dispatch.pages.place_maps import place_kind_label, place_map
from dispatch.pages.security import SECURITY_HEADERS, add_security_headers

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))

EVENT_LABELS = {
    "created": N_("Filed"),
    "status": N_("Status"),
    "assigned": N_("Assigned to"),
    "note_added": N_("Note added"),
    "escalated": N_("Escalated"),
    "escalation_exhausted": N_("Escalation ran out"),
    "duplicate_linked": N_("Same problem as"),
    "duplicate_added": N_("Reported again as"),
    "duplicate_unlinked": N_("No longer a duplicate"),
}
OUTCOME_CLASSES = {
    "ticket_filed": "ok",
    "status_check": "ok",
    "failed": "warn",
    "transferred": "warn",
    "emergency_referred": "warn",
    "voicemail_at_capacity": "warn",
    "refused_at_capacity": "warn",
    "in_progress": "new",
}


def status_class(status: str) -> str:
    return {TicketStatus.NEW: "new", TicketStatus.CLOSED: "ok", TicketStatus.DUPLICATE: "ok"}.get(
        status, ""
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _clock(ms: int) -> str:
    minutes, secs = divmod(ms // 1000, 60)
    return f"{minutes}:{secs:02d}"


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


@pass_context
def _place_map(context: Any, ticket: Any, size: str = "map") -> Any:
    return place_map(context["request"].app.state.services.dispatch, ticket, size)


# The i18n extension, the dates and the labels, in the city's language (translate.py).
translate.install(templates.env)


@pass_context
def _event_label(context: Any, action: str) -> str:
    english = EVENT_LABELS.get(action)
    return translate.gettext_in(context, english) if english else action.replace("_", " ")


templates.env.globals.update(
    status_class=status_class,
    event_label=_event_label,
    outcome_class=lambda outcome: OUTCOME_CLASSES.get(outcome, ""),
    duration=_duration,
    ms=_ms,
    clock=_clock,
    pct=_pct,
    place_map=_place_map,
    place_kind_label=place_kind_label,
)


def render(
    request: Request,
    template: str,
    *,
    staff: Staff | None,
    session: Session | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    services = request.app.state.services
    tz = ZoneInfo(services.settings.timezone)
    kinds = services.dispatch.kinds
    department_name = None
    if staff is not None and session is not None and staff.department_id is not None:
        department = session.get(Department, staff.department_id)
        department_name = (
            translate.department_name(request, department.code, department.name)
            if department
            else None
        )
    base = {
        "locale": translate.request_locale(request),
        "staff": staff,
        "is_supervisor": staff is not None and is_supervisor(staff),
        "department_name": department_name,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "tz": tz,
        "label": translate.slot_label(request, kinds),
    }
    base.update(context)
    response = templates.TemplateResponse(request, template, base, status_code=status_code)
    # Staff pages hold callers' numbers and words: keep them out of caches
    # (PageRoute adds the security headers to every page response).
    response.headers["Cache-Control"] = "no-store"
    return response


ERROR_TITLES = {
    400: N_("That did not work"),
    401: N_("Please sign in"),
    403: N_("Not for your role"),
    404: N_("Not found"),
    422: N_("That did not work"),
}
OTHER_ERROR_TITLE = N_("Something went wrong")


class PageRoute(APIRoute):
    """Every page response carries the security headers (CSP, frames, sniffing, referrer).
    Errors on staff pages are answered as a page, not as JSON; redirects (sign in)
    and the recording's 401 pass through unchanged."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await _page_or_error(handler, request)
            except HTTPException as error:
                error.headers = {**(error.headers or {}), **SECURITY_HEADERS}
                raise
            add_security_headers(response.headers)
            return response

        return route


async def _page_or_error(
    handler: Callable[[Request], Coroutine[Any, Any, Response]], request: Request
) -> Response:
    try:
        return await handler(request)
    except HTTPException as error:
        if error.status_code < 400 or "text/html" not in request.headers.get("accept", ""):
            raise
        return _error_page(request, error.status_code, str(error.detail))
    except RequestValidationError as error:
        if "text/html" not in request.headers.get("accept", ""):
            raise
        first = error.errors()[0] if error.errors() else {}
        field = str(first.get("loc", ("", "?"))[-1])
        return _error_page(request, 422, f"{field}: {first.get('msg', 'invalid')}")


def _error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    title = translate.page_text(request, ERROR_TITLES.get(status_code, OTHER_ERROR_TITLE))
    return render(
        request,
        "error.html",
        staff=None,
        status_code=status_code,
        title=title,
        message=translate.error_text(request, message),
    )


def page_router(**kwargs: Any) -> APIRouter:
    return APIRouter(include_in_schema=False, route_class=PageRoute, **kwargs)


router = page_router()


@router.get("/static/dispatch/{path}", name="dispatch_static")
def static_file(path: str) -> FileResponse:
    target = (STATIC_DIR / path).resolve()
    if target.parent != STATIC_DIR or not target.is_file():
        raise HTTPException(404, "Not found")
    return FileResponse(target, headers={"Cache-Control": "public, max-age=3600"})
