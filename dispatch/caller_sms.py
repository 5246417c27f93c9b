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
from dispatch.i18n import N_, SOURCE_LANGUAGE, local_names, translations
from dispatch.models import CLOSE_REASON_LABELS, Call, Ticket
from dispatch.outbox import enqueue
from dispatch.settings import DATA_DIR

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
    return caller_and_locale(session, ticket)[0]


def caller_and_locale(session: Session, ticket: Ticket) -> tuple[str | None, str]:
    """The number that phoned this ticket in and the language of the line it called:
    a caller is texted in the call's language, whatever the city's staff read."""
    if ticket.channel != "phone" or ticket.call_id is None:
        return None, SOURCE_LANGUAGE
    call = session.get(Call, ticket.call_id)
    if call is None:
        return None, SOURCE_LANGUAGE
    return textable(call.caller_number), call.locale or SOURCE_LANGUAGE


def closed_sms(ticket: Ticket, locale: str, *, duplicate: Ticket | None = None) -> str:
    """A caller's word that their ticket (or the one their report was added to) closed."""
    _ = translations(locale).gettext
    label = _(CLOSE_REASON_LABELS.get(ticket.close_reason or "", N_("closed")))
    kind = local_names(DATA_DIR).kind(ticket.kind, ticket.kind_name, locale)
    values = {"number": ticket.number, "kind": kind, "label": label}
    if duplicate is None:
        return _("Your ticket %(number)s (%(kind)s) is closed: %(label)s.") % values
    values["duplicate"] = duplicate.number
    return (
        _(
            "Your report %(duplicate)s was added to ticket %(number)s (%(kind)s), "
            "which is now closed: %(label)s."
        )
        % values
    )


def tell_callers_closed(session: Session, ticket: Ticket, now: datetime) -> int:
    """A closed ticket: its caller is told, and so is everyone whose report was added to it
    as a duplicate (each number once). How many texts were queued."""
    told: set[str] = set()
    own, locale = caller_and_locale(session, ticket)
    if own:
        enqueue(
            session,
            to=own,
            body=closed_sms(ticket, locale),
            purpose="caller_update",
            at=now,
            ticket_id=ticket.id,
        )
        told.add(own)
    duplicates = session.exec(
        select(Ticket).where(Ticket.duplicate_of_id == ticket.id).order_by(col(Ticket.id))
    ).all()
    for duplicate in duplicates:
        number, locale = caller_and_locale(session, duplicate)
        if not number or number in told:
            continue
        enqueue(
            session,
            to=number,
            body=closed_sms(ticket, locale, duplicate=duplicate),
            purpose="caller_update",
            at=now,
            ticket_id=duplicate.id,
        )
        told.add(number)
    return len(told)
