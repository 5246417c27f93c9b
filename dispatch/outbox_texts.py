"""What the outbox says: the texts to officers and callers, and the e-mails to staff.

Plain functions of the ticket's facts, so the SMS and the e-mail of one notice say
the same thing. The English texts are gettext msgids: `locale` picks the language
(dispatch.i18n): the city's for staff (DUTYLINE_LOCALE), the call's for a caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dispatch.i18n import SOURCE_LANGUAGE, LocalNames, is_source, local_names, translations
from dispatch.models import Call, Ticket
from dispatch.settings import DATA_DIR


@dataclass(frozen=True)
class StaffEmail:
    subject: str
    body: str


def _names(names: LocalNames | None) -> LocalNames:
    # The deployment's data/ when the caller knows it, else the bundled one.
    return names if names is not None else local_names(DATA_DIR)


def officer_sms(
    *,
    number: str,
    kind_name: str,
    location: str | None,
    details: dict[str, str],
    escalated: bool,
    locale: str = SOURCE_LANGUAGE,
) -> str:
    _ = translations(locale).gettext
    where = location or _("location not given")
    facts = "; ".join(f"{_label(k)}: {v}" for k, v in details.items() if v)
    values = {"number": number, "kind": kind_name, "where": where}
    if escalated:
        body = _("ESCALATED, not acknowledged: Ticket %(number)s: %(kind)s at %(where)s.") % values
    else:
        body = _("Ticket %(number)s: %(kind)s at %(where)s.") % values
    if facts:
        body += f" {facts}."
    return body + " " + _("Please acknowledge in the dutyline inbox.")


def officer_email(
    *,
    number: str,
    kind_name: str,
    location: str | None,
    details: dict[str, str],
    escalated: bool,
    base_url: str | None,
    locale: str = SOURCE_LANGUAGE,
) -> StaffEmail:
    """The officer's notice as an e-mail: the SMS's facts one per line, and a link to
    the ticket page when the line's public address is known."""
    _ = translations(locale).gettext
    where = location or _("location not given")
    values = {"number": number, "kind": kind_name, "where": where}
    if escalated:
        subject = _("ESCALATED: Ticket %(number)s: %(kind)s at %(where)s") % values
    else:
        subject = _("Ticket %(number)s: %(kind)s at %(where)s") % values
    lines = [_("Ticket %(number)s: %(kind)s at %(where)s.") % values]
    if escalated:
        lines.append(_("Nobody acknowledged it in time; it is now yours."))
    facts = [f"{_label(k)}: {v}" for k, v in details.items() if v]
    if facts:
        lines += ["", *facts]
    lines += ["", _("Please acknowledge it in the dutyline inbox.")]
    if base_url:
        lines.append(ticket_url(base_url, number))
    return StaffEmail(subject=" ".join(subject.split()), body="\n".join(lines) + "\n")


def triage_email(
    *, number: str, reason: str, base_url: str | None, locale: str = SOURCE_LANGUAGE
) -> StaffEmail:
    _ = translations(locale).gettext
    values = {"number": number, "reason": reason}
    body = _("A report could not be routed (%(reason)s); it waits as triage ticket %(number)s.")
    body = body % values + "\n"
    if base_url:
        body += f"\n{ticket_url(base_url, number)}\n"
    subject = _("TRIAGE ticket %(number)s: a report could not be routed") % values
    return StaffEmail(subject=subject, body=body)


def triage_sms(*, number: str, reason: str, locale: str = SOURCE_LANGUAGE) -> str:
    """The duty supervisor's text about a report that could not be routed."""
    _ = translations(locale).gettext
    text = _("TRIAGE ticket %(number)s: a report could not be routed (%(reason)s).")
    return text % {"number": number, "reason": reason}


def ticket_url(base_url: str, number: str) -> str:
    return f"{base_url.rstrip('/')}/tickets/{number}"


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize() if key.islower() else key


def caller_receipt_sms(
    *,
    number: str,
    kind_name: str | None,
    duplicate_of: str | None,
    locale: str = SOURCE_LANGUAGE,
    kind: str | None = None,
    names: LocalNames | None = None,
) -> str:
    """The caller's receipt, in the call's language. `kind`: the kind's code, for its
    name in that language (`kind_name` is the English one the ticket keeps)."""
    _ = translations(locale).gettext
    if duplicate_of:
        return _(
            "Thank you. This was already reported as ticket %(original)s; your report "
            "was added to it as %(number)s. Quote %(original)s to ask about it."
        ) % {"original": duplicate_of, "number": number}
    values = {"number": spaced(number)}
    if kind_name:
        values["kind"] = _names(names).kind(kind, kind_name, locale)
        return _("Thank you. Your report (%(kind)s) is ticket %(number)s. Keep it to ask about it.") % values  # fmt: skip  # noqa: E501
    return _("Thank you. Your report is ticket %(number)s. Keep it to ask about it.") % values


def call_locale(call: Call | None) -> str:
    """The language a caller is texted in: their call's (the line they rang)."""
    return (call.locale if call is not None else None) or SOURCE_LANGUAGE


def spaced(number: str) -> str:
    """2611230042 -> 261123 0042: easier to read back."""
    return f"{number[:6]} {number[6:]}" if len(number) > 6 else number


@dataclass(frozen=True)
class OfficerNotice:
    sms: str
    email: StaffEmail


def officer_notice(
    ticket: Ticket,
    *,
    details: Mapping[str, str],
    escalated: bool,
    base_url: str | None,
    locale: str = SOURCE_LANGUAGE,
    names: LocalNames | None = None,
) -> OfficerNotice:
    """A ticket's notice to the officer who has it, as an SMS and an e-mail of one text,
    in the city's language. `details`: the ticket's facts as the officer reads them
    (labelled or as filed)."""
    local = _names(names)
    labelled = dict(details)
    if not is_source(locale):
        labelled = {
            local.slot(ticket.kind, code, label, locale) if ticket.kind else label: value
            for code, label, value in _with_codes(ticket, details)
        }
    facts = {
        "number": ticket.number,
        "kind_name": local.kind(ticket.kind, ticket.kind_name, locale),
        "location": ticket.place_name or ticket.location_text,
        "details": labelled,
        "escalated": escalated,
        "locale": locale,
    }
    return OfficerNotice(officer_sms(**facts), officer_email(**facts, base_url=base_url))


def _with_codes(ticket: Ticket, details: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(slot code, label as given, value): `details` is keyed by label or by code, in the
    ticket's own order, so its codes are the ticket's details' keys."""
    codes = list((ticket.details or {}).keys())
    items = list(details.items())
    if len(codes) != len(items):
        return [(label, label, value) for label, value in items]
    return [(code, label, value) for code, (label, value) in zip(codes, items, strict=True)]
