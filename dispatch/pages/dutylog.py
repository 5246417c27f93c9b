"""The day's duty log as a download, for supervisors and admins: /dutylog.csv and
/dutylog.xlsx?date=YYYY-MM-DD (default: yesterday in the city). The reports page links here."""

from __future__ import annotations

from datetime import date

from fastapi import HTTPException, Response

from dispatch.auth import PageStaff, ServicesDep, SessionDep, require_supervisor
from dispatch.dutylog import build_duty_log, parse_day, yesterday
from dispatch.dutylog_files import MEDIA_TYPES, LogFormat, file_name, log_bytes
from dispatch.pages.common import page_router

router = page_router()


def _download(
    staff: PageStaff, services: ServicesDep, session: SessionDep, raw: str, log_format: LogFormat
) -> Response:
    require_supervisor(staff)
    timezone = services.settings.timezone
    try:
        day: date = parse_day(raw) if raw else yesterday(timezone)
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    log = build_duty_log(session=session, day=day, timezone=timezone)
    return Response(
        log_bytes(log, log_format),
        media_type=MEDIA_TYPES[log_format],
        headers={
            "Content-Disposition": f'attachment; filename="{file_name(log, log_format)}"',
            # Masked numbers, but still the city's records: keep them out of caches.
            "Cache-Control": "no-store",
        },
    )


@router.get("/dutylog.csv")
def dutylog_csv(
    staff: PageStaff, services: ServicesDep, session: SessionDep, date: str = ""
) -> Response:
    return _download(staff, services, session, date, LogFormat.CSV)


@router.get("/dutylog.xlsx")
def dutylog_xlsx(
    staff: PageStaff, services: ServicesDep, session: SessionDep, date: str = ""
) -> Response:
    return _download(staff, services, session, date, LogFormat.XLSX)
