"""Who may be texted about a ticket: only the phone that called.

The number comes from the call's record, written from Twilio's signed incoming-call
webhook (its `From`), found by the call sid. Never from the report itself: a phone
report's number travels through the dialogue's tracker (slots, metadata), where a
caller's words or a forged action call could put any number. Reports that did not
come from a call (Open311, the staff API) keep the contact they gave on the ticket
for staff to read, but are never texted: that would let anyone text anyone.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, col, select

from dispatch.contract import ComplaintReport
from dispatch.models import CLOSE_REASON_LABELS, Call, Ticket
from dispatch.outbox import enqueue

# Twilio's From for a withheld number is "anonymous", "unknown", "+266696687"...: not E.164.
E164 = re.compile(r"\+[1-9]\d{7,14}")


def textable(number: str | None) -> str | None:
    """The number if an SMS can go to it (E.164), else None."""
    return number if number and E164.fullmatch(number) else None


def reported_caller(report: ComplaintReport, call: Call | None) -> str | None:
    """The caller number a new ticket keeps, for staff to call back: the call record's for a
    phone report; the reported one when there is no record (the database was away when the
    call came in), shown to staff but never texted (see `caller_of`)."""
    if report.channel == "phone" and call is not None:
        return call.caller_number
    return report.caller_number


def receipt_number(report: ComplaintReport, call: Call | None) -> str | None:
    """Where a filing receipt may go: the number that made this call, if any."""
    if report.channel != "phone" or call is None:
        return None
    return textable(call.caller_number)


def caller_of(session: Session, ticket: Ticket) -> str | None:
    """The number that phoned this ticket in, from its call record (None if purged)."""
    if ticket.channel != "phone" or ticket.call_id is None:
        return None
    call = session.get(Call, ticket.call_id)
    return textable(call.caller_number) if call is not None else None


def tell_callers_closed(session: Session, ticket: Ticket, now: datetime) -> int:
    """A closed ticket: its caller is told, and so is everyone whose report was added to it
    as a duplicate (each number once). How many texts were queued."""
    label = CLOSE_REASON_LABELS.get(ticket.close_reason or "", "closed")
    told: set[str] = set()
    own = caller_of(session, ticket)
    if own:
        enqueue(
            session,
            to=own,
            body=f"Your ticket {ticket.number} ({ticket.kind_name}) is closed: {label}.",
            purpose="caller_update",
            at=now,
            ticket_id=ticket.id,
        )
        told.add(own)
    duplicates = session.exec(
        select(Ticket).where(Ticket.duplicate_of_id == ticket.id).order_by(col(Ticket.id))
    ).all()
    for duplicate in duplicates:
        number = caller_of(session, duplicate)
        if not number or number in told:
            continue
        enqueue(
            session,
            to=number,
            body=f"Your report {duplicate.number} was added to ticket {ticket.number} "
            f"({ticket.kind_name}), which is now closed: {label}.",
            purpose="caller_update",
            at=now,
            ticket_id=duplicate.id,
        )
        told.add(number)
    return len(told)
