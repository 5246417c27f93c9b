"""The shift hand-over page: /handover?since=&until= (ISO; naive: the city's time).

By default the window handed over at the latest start of the reader's department's
shifts (a supervisor's: the duty supervisors' department's), as dispatch/shift_changes.py
defines it; the previous and next links step through that department's starts.
Printable (handover.css drops the navigation on paper) and readable on a phone.
Officers see their own department's tickets; supervisors the whole line, or the
departments named in `departments=parking,roads` (the link of a scoped message)."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from dispatch.auth import PageStaff, ServicesDep, SessionDep, visible_department
from dispatch.handover import UnknownDepartment, reader_scope
from dispatch.handover_notices import iso, when
from dispatch.i18n import day_time, is_source
from dispatch.pages.common import page_router, render
from dispatch.pages.translate import request_locale
from dispatch.shift_changes import (
    INSTANT,
    BadWindow,
    ShiftWindow,
    home_shifts,
    next_start,
    previous_start,
    roster_shifts,
    window_at,
)

router = page_router()


def _field(at: datetime, timezone: str) -> str:
    """The value of a datetime-local field: the city's wall-clock time."""
    return iso(at, timezone)[:16]


@router.get("/handover", response_class=HTMLResponse)
def handover_page(
    request: Request,
    staff: PageStaff,
    services: ServicesDep,
    session: SessionDep,
    since: str = "",
    until: str = "",
    departments: str = "",
) -> HTMLResponse:
    dispatch = services.dispatch
    timezone = services.settings.timezone
    try:
        own = visible_department(staff)  # None: a supervisor
        scope = reader_scope(session, own, departments)
        window = dispatch.handover_window(since or None, until or None, department_id=own)
    except (BadWindow, UnknownDepartment) as problem:
        raise HTTPException(422, str(problem)) from None
    summary = dispatch.handover(window, departments=scope)
    locale = request_locale(request)

    def link(other: ShiftWindow) -> str:
        query = {"since": iso(other.since, timezone), "until": iso(other.until, timezone)}
        if departments.strip() and own is None:
            query["departments"] = departments.strip()
        return f"/handover?{urlencode(query, safe=':,')}"

    # The department's hand-overs around this one, and its shift going on now.
    shifts = home_shifts(roster_shifts(session), own)
    now = dispatch.clock()
    links: dict[str, str] = {}
    before = previous_start(shifts, window.until)
    earlier = window_at(shifts, before) if before is not None else None
    if earlier is not None:
        links["previous"] = link(earlier)
    after = next_start(shifts, window.until)
    later = window_at(shifts, after) if after is not None and after <= now else None
    if later is not None:  # a shift still going on is "so far" below
        links["next"] = link(later)
    latest = previous_start(shifts, now + INSTANT)
    if latest is not None and latest < now and window != ShiftWindow(latest, now):
        links["current"] = link(ShiftWindow(latest, now))
    return render(
        request,
        "handover.html",
        staff=staff,
        session=session,
        h=summary,
        links=links,
        when=when if is_source(locale) else partial(day_time, locale=locale),
        departments=departments.strip() if own is None else "",
        since_field=_field(window.since, timezone),
        until_field=_field(window.until, timezone),
        section="handover",
    )
