"""/api/calls: calls with their turns, outcome, latencies and tickets (supervisors)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from dispatch.auth import CurrentStaff, ServicesDep, require_supervisor
from dispatch.public import CallDetail, CallFilters, CallPublic

router = APIRouter(prefix="/api/calls", tags=["calls"])


@router.get("", response_model=list[CallPublic])
def list_calls(
    staff: CurrentStaff,
    services: ServicesDep,
    started_from: datetime | None = None,
    started_to: datetime | None = None,
    outcome: Annotated[list[str] | None, Query()] = None,
    caller_number: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,  # SQLite overflows past 2**63
) -> list[CallPublic]:
    require_supervisor(staff)
    filters = CallFilters(
        started_from=started_from,
        started_to=started_to,
        outcome=outcome,
        caller_number=caller_number,
        limit=limit,
        offset=offset,
    )
    return services.dispatch.list_calls(filters)


@router.get("/{call_sid}", response_model=CallDetail)
def get_call(call_sid: str, staff: CurrentStaff, services: ServicesDep) -> CallDetail:
    require_supervisor(staff)
    call = services.dispatch.get_call(call_sid)
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No call {call_sid}")
    return call
