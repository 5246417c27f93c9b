"""The officer's inbox and a ticket's page: acknowledge, note, progress, resolve.

Forms post and redirect back (works without JavaScript); inbox.js polls the
list fragment so new tickets appear without a reload.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import select

from dispatch.auth import (
    FormStaff,
    PageStaff,
    ServicesDep,
    SessionDep,
    visible_department,
    visible_ticket,
)
from dispatch.models import CLOSE_REASON_LABELS, Department
from dispatch.pages.common import page_router, render
from dispatch.pages.translate import page_text
from dispatch.public import TicketFilters
from dispatch.ticket_status import InvalidTransition
from dispatch.ticket_work import TicketNotFound

router = page_router()

POLL_SECONDS = 10
SHOW = {"open": ["open"], "new": ["new"], "closed": ["closed"], "all": None}


def _inbox_context(
    staff: PageStaff, services: ServicesDep, session: SessionDep, show: str, department: str
) -> dict:
    department_id = visible_department(staff)
    filters = TicketFilters(
        status=SHOW.get(show, SHOW["open"]),
        # Officers are held to their own department whatever the query says.
        department_code=(department or None) if department_id is None else None,
        limit=200,
    )
    tickets = services.dispatch.list_tickets(filters, department_id=department_id)
    latest = max((t.created_at for t in tickets), default=None)
    departments = session.exec(
        select(Department).where(Department.active).order_by(Department.name)
    ).all()
    query = f"show={quote(show)}&department={quote(department)}"
    return {
        "tickets": tickets,
        "latest": latest.isoformat() if latest else "",
        "officer_view": department_id is not None,
        "departments": departments,
        "show": show,
        "department": department,
        "filtered": show != "open" or bool(department),
        "rows_url": f"/inbox/rows?{query}",
        "poll_seconds": POLL_SECONDS,
        "section": "inbox",
    }


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    request: Request,
    staff: PageStaff,
    services: ServicesDep,
    session: SessionDep,
    show: str = "open",
    department: str = "",
    done: str = "",
    error: str = "",
) -> HTMLResponse:
    context = _inbox_context(staff, services, session, show, department)
    return render(
        request,
        "inbox.html",
        staff=staff,
        session=session,
        flash=error or done,
        flash_kind="error" if error else "ok",
        **context,
    )


@router.get("/inbox/rows", response_class=HTMLResponse)
def inbox_rows(
    request: Request,
    staff: PageStaff,
    services: ServicesDep,
    session: SessionDep,
    show: str = "open",
    department: str = "",
) -> HTMLResponse:
    context = _inbox_context(staff, services, session, show, department)
    return render(request, "_tickets.html", staff=staff, **context)


@router.get("/tickets/{number}", response_class=HTMLResponse)
def ticket_page(
    request: Request,
    number: str,
    staff: PageStaff,
    services: ServicesDep,
    session: SessionDep,
    done: str = "",
    error: str = "",
) -> HTMLResponse:
    ticket = visible_ticket(services, session, staff, number)
    return render(
        request,
        "ticket.html",
        staff=staff,
        session=session,
        t=ticket,
        close_reasons=[
            (code, label) for code, label in CLOSE_REASON_LABELS.items() if code != "duplicate"
        ],
        flash=error or done,
        flash_kind="error" if error else "ok",
        section="inbox",
    )


def _back(request: Request, number: str, message: str, *, error: bool = False) -> RedirectResponse:
    # Back to where the form was (the inbox with its filters, or the ticket), saying how it went.
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.path == "/inbox":
        kept = [(k, v) for k, v in parse_qsl(referer.query) if k in ("show", "department")]
        target = "/inbox"
    else:
        kept, target = [], f"/tickets/{number}"
    query = urlencode([*kept, ("error" if error else "done", message)])
    return RedirectResponse(f"{target}?{query}", status_code=303)


def _act(request: Request, number: str, action, success: str) -> RedirectResponse:  # type: ignore[no-untyped-def]
    try:
        action()
    except TicketNotFound:
        missing = page_text(request, "No ticket %(number)s", number=number)
        raise HTTPException(404, missing) from None
    except (InvalidTransition, ValueError) as problem:
        return _back(request, number, str(problem), error=True)
    return _back(request, number, success)


@router.post("/tickets/{number}/acknowledge")
def acknowledge(
    request: Request, number: str, staff: FormStaff, services: ServicesDep, session: SessionDep
) -> RedirectResponse:
    ticket = visible_ticket(services, session, staff, number)
    return _act(
        request,
        number,
        lambda: services.dispatch.acknowledge(ticket.number, staff.id),
        page_text(request, "Ticket %(number)s acknowledged.", number=ticket.number),
    )


@router.post("/tickets/{number}/note")
def add_note(
    request: Request,
    number: str,
    staff: FormStaff,
    services: ServicesDep,
    session: SessionDep,
    body: Annotated[str, Form(max_length=4000)],
) -> RedirectResponse:
    ticket = visible_ticket(services, session, staff, number)
    return _act(
        request,
        number,
        lambda: services.dispatch.add_note(ticket.number, staff.id, body),
        page_text(request, "Note added."),
    )


@router.post("/tickets/{number}/status")
def change_status(
    request: Request,
    number: str,
    staff: FormStaff,
    services: ServicesDep,
    session: SessionDep,
    status: Annotated[str, Form()],
    close_reason: Annotated[str | None, Form()] = None,
) -> RedirectResponse:
    ticket = visible_ticket(services, session, staff, number)
    reason = close_reason if status == "closed" else None
    done = (
        page_text(request, "Ticket %(number)s: Resolved.", number=ticket.number)
        if status == "closed"
        else page_text(request, "Ticket %(number)s: Status changed.", number=ticket.number)
    )
    return _act(
        request,
        number,
        lambda: services.dispatch.set_status(ticket.number, status, reason, staff.id),
        done,
    )
