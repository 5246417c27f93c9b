"""What the outbox says: the texts to officers and callers, and the e-mails to staff.

Plain functions of the ticket's facts, so the SMS and the e-mail of one notice say
the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dispatch.models import Ticket


@dataclass(frozen=True)
class StaffEmail:
    subject: str
    body: str


def officer_sms(
    *, number: str, kind_name: str, location: str | None, details: dict[str, str], escalated: bool
) -> str:
    head = "ESCALATED, not acknowledged: " if escalated else ""
    where = location or "location not given"
    facts = "; ".join(f"{_label(k)}: {v}" for k, v in details.items() if v)
    body = f"{head}Ticket {number}: {kind_name} at {where}."
    if facts:
        body += f" {facts}."
    return body + " Please acknowledge in the dutyline inbox."


def officer_email(
    *,
    number: str,
    kind_name: str,
    location: str | None,
    details: dict[str, str],
    escalated: bool,
    base_url: str | None,
) -> StaffEmail:
    """The officer's notice as an e-mail: the SMS's facts one per line, and a link to
    the ticket page when the line's public address is known."""
    where = location or "location not given"
    head = "ESCALATED: " if escalated else ""
    subject = f"{head}Ticket {number}: {kind_name} at {where}"
    lines = [f"Ticket {number}: {kind_name} at {where}."]
    if escalated:
        lines.append("Nobody acknowledged it in time; it is now yours.")
    facts = [f"{_label(k)}: {v}" for k, v in details.items() if v]
    if facts:
        lines += ["", *facts]
    lines += ["", "Please acknowledge it in the dutyline inbox."]
    if base_url:
        lines.append(ticket_url(base_url, number))
    return StaffEmail(subject=" ".join(subject.split()), body="\n".join(lines) + "\n")


def triage_email(*, number: str, reason: str, base_url: str | None) -> StaffEmail:
    body = f"A report could not be routed ({reason}); it waits as triage ticket {number}.\n"
    if base_url:
        body += f"\n{ticket_url(base_url, number)}\n"
    return StaffEmail(subject=f"TRIAGE ticket {number}: a report could not be routed", body=body)


def ticket_url(base_url: str, number: str) -> str:
    return f"{base_url.rstrip('/')}/tickets/{number}"


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize() if key.islower() else key


def caller_receipt_sms(*, number: str, kind_name: str | None, duplicate_of: str | None) -> str:
    if duplicate_of:
        return (
            f"Thank you. This was already reported as ticket {duplicate_of}; your report "
            f"was added to it as {number}. Quote {duplicate_of} to ask about it."
        )
    what = f"Your report ({kind_name})" if kind_name else "Your report"
    return f"Thank you. {what} is ticket {spaced(number)}. Keep it to ask about it."


def spaced(number: str) -> str:
    """2611230042 -> 261123 0042: easier to read back."""
    return f"{number[:6]} {number[6:]}" if len(number) > 6 else number


@dataclass(frozen=True)
class OfficerNotice:
    sms: str
    email: StaffEmail


def officer_notice(
    ticket: Ticket, *, details: Mapping[str, str], escalated: bool, base_url: str | None
) -> OfficerNotice:
    """A ticket's notice to the officer who has it, as an SMS and an e-mail of one text.
    `details`: the ticket's facts as the officer reads them (labelled or as filed)."""
    facts = {
        "number": ticket.number,
        "kind_name": ticket.kind_name,
        "location": ticket.place_name or ticket.location_text,
        "details": dict(details),
        "escalated": escalated,
    }
    return OfficerNotice(officer_sms(**facts), officer_email(**facts, base_url=base_url))
