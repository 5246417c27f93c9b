"""/api/tickets: list, read, file and work tickets (Bearer token)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from dispatch.api.schemas import TicketCreate, TicketDetail, TicketPublic, TicketUpdate
from dispatch.auth import CurrentStaff, ServicesDep, SessionDep, visible_department, visible_ticket
from dispatch.contract import ComplaintReport, FiledTicket
from dispatch.models import TicketStatus
from dispatch.public import TicketFilters
from dispatch.ticket_status import InvalidTransition
from dispatch.ticket_work import TicketNotFound, UnknownStaff

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


@router.get("", response_model=list[TicketPublic])
def list_tickets(
    staff: CurrentStaff,
    services: ServicesDep,
    status_: Annotated[
        list[str] | None, Query(alias="status", description="new, acknowledged, ..., open, closed")
    ] = None,
    kind: Annotated[list[str] | None, Query()] = None,
    department: Annotated[str | None, Query(description="Department code")] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    needs_triage: bool | None = None,
    q: Annotated[
        str | None, Query(description="Text in the location, description or number")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,  # SQLite overflows past 2**63
) -> list[TicketPublic]:
    known = {s.value for s in TicketStatus} | {"open", "closed"}
    if status_ and not set(status_) <= known:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"status must be one of {', '.join(sorted(known))}",
        )
    filters = TicketFilters(
        status=status_,
        kind=kind,
        department_code=department,
        created_from=created_from,
        created_to=created_to,
        needs_triage=needs_triage,
        text=q,
        limit=limit,
        offset=offset,
    )
    return services.dispatch.list_tickets(filters, department_id=visible_department(staff))


@router.post("", response_model=FiledTicket, status_code=status.HTTP_201_CREATED)
def file_ticket(body: TicketCreate, staff: CurrentStaff, services: ServicesDep) -> FiledTicket:
    if body.kind not in services.dispatch.kinds:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"Unknown kind {body.kind!r}")
    report = ComplaintReport(
        kind=body.kind,
        location=body.location,
        details=body.details,
        description=body.description,
        caller_number=body.caller_number,
        lat=body.lat,
        long=body.long,
        channel="api",
    )
    return services.dispatch.file_complaint(report)


@router.get("/{number}", response_model=TicketDetail)
def get_ticket(
    number: str, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> TicketDetail:
    return visible_ticket(services, session, staff, number)


@router.patch("/{number}", response_model=TicketDetail)
def update_ticket(
    number: str,
    body: TicketUpdate,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> TicketDetail:
    ticket = visible_ticket(services, session, staff, number)
    dispatch = services.dispatch
    try:
        if body.acknowledge:
            ticket = dispatch.acknowledge(ticket.number, staff.id)
        if body.note:
            dispatch.add_note(ticket.number, staff.id, body.note)
        if body.status:
            ticket = dispatch.set_status(ticket.number, body.status, body.close_reason, staff.id)
    except InvalidTransition as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except TicketNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except UnknownStaff as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    return dispatch.get_ticket(ticket.number)
