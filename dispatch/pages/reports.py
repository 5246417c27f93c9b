"""The supervisor's reports: calls per kind per hour, share handled without a person,
time to acknowledge. Charts are SVG drawn here (no JavaScript, no CDN)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse

from dispatch.auth import PageStaff, ServicesDep, SessionDep, require_supervisor
from dispatch.dutylog import yesterday
from dispatch.i18n import N_, local_names
from dispatch.pages import queries
from dispatch.pages.common import page_router, render
from dispatch.pages.plots import bar_chart
from dispatch.pages.translate import page_text, request_locale

router = page_router()

PERIODS = {
    1: N_("Last 24 hours"),
    7: N_("Last 7 days"),
    30: N_("Last 30 days"),
    90: N_("Last 90 days"),
}


@router.get("/reports", response_class=HTMLResponse)
def reports(
    request: Request, staff: PageStaff, services: ServicesDep, session: SessionDep, days: int = 7
) -> HTMLResponse:
    require_supervisor(staff)
    days = days if days in PERIODS else 7
    tz = ZoneInfo(services.settings.timezone)
    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    by_hour = queries.calls_by_kind_and_hour(session=session, since=since, tz=tz)
    share = queries.handled_without_person(session=session, since=since, until=now, tz=tz)
    ack = queries.time_to_acknowledge(session=session, since=since)
    # Charts and their legends in the city's language (kinds are grouped by English name).
    names = local_names(services.settings.data_dir)
    locale = request_locale(request)
    series = {names.named(kind, locale): counts for kind, counts in by_hour.series.items()}
    charts = {
        "by_hour": bar_chart(
            by_hour.hours,
            series or {page_text(request, "Calls"): [0] * 24},
            title=page_text(request, "Calls per kind per hour"),
            counts=True,
            legend=True,
        ),
        "share": bar_chart(
            share.days,
            {page_text(request, "Handled without a person"): share.percent},
            title=page_text(request, "Share of calls handled without a person, per day"),
            unit="%",
            max_value=100,
        ),
        "ack": bar_chart(
            [page_text(request, bucket) for bucket in ack.buckets],
            {page_text(request, "Tickets"): ack.counts},
            title=page_text(request, "Time from filing to acknowledgement"),
            counts=True,
        ),
    }
    return render(
        request,
        "reports.html",
        staff=staff,
        session=session,
        days=days,
        periods=PERIODS,
        by_hour=by_hour,
        share=share,
        ack=ack,
        named=lambda name: names.named(name, locale),
        at_capacity=queries.calls_at_capacity(session=session, since=since),
        charts=charts,
        dutylog_day=yesterday(services.settings.timezone),
        section="reports",
    )
