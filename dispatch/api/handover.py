"""/api/handover: a hand-over as JSON (Bearer token). Officers get their own department's,
supervisors the whole line or the departments they name (as in the inbox). Without
since/until: the window handed over at the latest start of the reader's department's
shifts (a supervisor's: the duty supervisors' department's; dispatch/shift_changes.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from dispatch.auth import CurrentStaff, ServicesDep, SessionDep, visible_department
from dispatch.handover import HandoverSummary, UnknownDepartment, reader_scope
from dispatch.shift_changes import BadWindow

router = APIRouter(prefix="/api/handover", tags=["handover"])

WHEN = (
    "ISO 8601 date and time; without an offset, the city's time. Neither since nor until: "
    "the last window handed over in your department (supervisors: the duty supervisors'), "
    "from its last shift start or end before its latest shift start up to that start."
)


@router.get("", response_model=HandoverSummary)
def get_handover(
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
    since: Annotated[str | None, Query(description=f"Start, inclusive. {WHEN}")] = None,
    until: Annotated[str | None, Query(description=f"End, exclusive. {WHEN}")] = None,
    departments: Annotated[
        str, Query(description="Supervisors: department codes, comma-separated (parking,roads)")
    ] = "",
) -> HandoverSummary:
    try:
        own = visible_department(staff)  # None: a supervisor
        scope = reader_scope(session, own, departments)
        window = services.dispatch.handover_window(since, until, department_id=own)
    except (BadWindow, UnknownDepartment) as problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(problem)) from None
    return services.dispatch.handover(window, departments=scope)
