"""The staff pages in the city's language: Jinja2's i18n extension fed from dispatch.i18n.

One Jinja2 environment serves every deployment in the process (tests run an English and a
Korean app side by side), so the language is not installed globally: each page's context
carries `locale` (the city's, DUTYLINE_LOCALE) and the gettext callables read it from there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import Request
from jinja2 import Environment, pass_context

from dispatch import i18n
from dispatch.i18n import N_
from dispatch.labels import OUTCOME_LABELS
from dispatch.models import CLOSE_REASON_LABELS, STATUS_LABELS


def request_locale(request: Request) -> str:
    """The city's locale, for a page or a message the page's code builds."""
    return request.app.state.services.settings.locale


def page_text(request: Request, message: str, **values: Any) -> str:
    """A text a page's Python code shows (flash messages, titles), in the city's language.
    `values` fill its %(name)s placeholders, as in the templates."""
    text = i18n.translate(request_locale(request), message)
    return text % values if values else text


# What the staff pages' errors say (dispatch.auth, the page modules): fixed texts, and
# texts with a value, matched whole so only these are translated.
ERROR_TEXTS = (
    N_("Sign in first"),
    N_("The form expired: reload the page"),
    N_("Supervisors only"),
    N_("Administrators only"),
    N_("Your account has no department yet"),
    N_("No recording for this call"),
    N_("No such department"),
    N_("No such shift"),
    N_("No such staff member"),
    N_("Not found"),
)
ERROR_PATTERNS = (
    (re.compile(r"No ticket (?P<number>\S+)"), N_("No ticket %(number)s")),
    (re.compile(r"No call (?P<sid>\S+)"), N_("No call %(sid)s")),
    (re.compile(r"Not a date: (?P<value>.*)"), N_("Not a date: %(value)s")),
)


def error_text(request: Request, message: str) -> str:
    """An error's message in the city's language when it is one the pages know."""
    if message in ERROR_TEXTS:
        return page_text(request, message)
    for pattern, msgid in ERROR_PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return page_text(request, msgid, **found.groupdict())
    return message


def _locale(context: Any) -> str:
    return context.get("locale") or i18n.SOURCE_LANGUAGE


def gettext_in(context: Any, message: str) -> str:
    """`message` in the language of the page whose template context this is."""
    return i18n.translate(_locale(context), message)


def department_name(request: Request, code: str | None, name: str) -> str:
    names = i18n.local_names(request.app.state.services.settings.data_dir)
    return names.department(code, name, request_locale(request))


@pass_context
def _gettext(context: Any, message: str) -> str:
    return i18n.translate(_locale(context), message)


@pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return i18n.translate_plural(_locale(context), singular, plural, n)


def _label_of(labels: Mapping[str, str], *, english_shows_code: bool = False) -> Any:
    """A code's label in the page's language; an unknown code shows as it is.
    `english_shows_code`: English pages keep showing the code itself, as they always did."""

    @pass_context
    def label(context: Any, code: str | None) -> str:
        if code is None:
            return ""
        english = labels.get(code)
        if not english or (english_shows_code and i18n.is_source(_locale(context))):
            return code
        return i18n.translate(_locale(context), english)

    return label


@pass_context
def _translated(context: Any, text: str | None) -> str:
    """A fixed English text the page got from Python (a status label, a flag)."""
    return i18n.translate(_locale(context), text) if text else ""


@pass_context
def _local(context: Any, value: datetime | None) -> str:
    return i18n.local_time(value, context["tz"], _locale(context))


@pass_context
def _zone(context: Any, zone: str) -> str:
    return i18n.zone_name(zone, _locale(context))


@pass_context
def _ago(context: Any, value: datetime) -> str:
    return i18n.ago(value, _locale(context))


def _names(context: Any) -> i18n.LocalNames:
    return i18n.local_names(context["request"].app.state.services.settings.data_dir)


@pass_context
def _department_name(context: Any, code: str | None, name: str | None) -> str:
    return _names(context).department(code, name or "", _locale(context))


@pass_context
def _contact_name(context: Any, name: str | None) -> str:
    """Whom a ticket is with: a staff member's own name, or a department's fallback
    contact named in data/departments.yaml."""
    return _names(context).contact(name or "", _locale(context))


@pass_context
def _kind_name(context: Any, code: str | None, name: str | None) -> str:
    return _names(context).kind(code, name or "", _locale(context))


# How a report came in, as the ticket page shows it.
CHANNEL_WORDS = {"phone": N_("phone"), "open311": N_("open311"), "api": N_("api")}

# Who an audit event is recorded under when it is not a staff member (dispatch.audit,
# dispatch.filing), and an outbox message's purpose and state (dispatch.outbox).
ACTOR_WORDS = {"system": N_("system"), "caller": N_("caller")}
PURPOSE_WORDS = {
    "officer": N_("to the officer"),
    "escalation": N_("escalation"),
    "caller_receipt": N_("caller receipt"),
    "caller_update": N_("caller update"),
    "handover": N_("hand-over"),
}
MESSAGE_STATES = {
    "pending": N_("pending"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "suppressed": N_("suppressed"),
    "delivered": N_("delivered"),  # a webhook's message (dispatch/webhooks)
}

# Staff roles as the header shows them (codes in English pages, as before).
ROLE_WORDS = {"officer": N_("officer"), "supervisor": N_("supervisor"), "admin": N_("admin")}


@pass_context
def _role_label(context: Any, role: str) -> str:
    return i18n.translate(_locale(context), ROLE_WORDS.get(role, role))


@pass_context
def _ticket_status(context: Any, ticket: Any) -> str:
    """A ticket's status as the read model words it ("Closed: Fixed"), in the page's
    language: English pages show the read model's own text, unchanged."""
    locale = _locale(context)
    if i18n.is_source(locale):
        return ticket.status_label
    _ = i18n.translations(locale).gettext
    label = _(STATUS_LABELS.get(ticket.status, ticket.status))
    reason = getattr(ticket, "close_reason", None)
    if ticket.status == "closed" and reason:
        label = f"{label}: {_(CLOSE_REASON_LABELS.get(reason, reason))}"
    original = getattr(ticket, "duplicate_of", None)
    if ticket.status == "duplicate" and original:
        label = _("Added to ticket %(number)s") % {"number": original}
    return label


def install(env: Environment) -> None:
    """Add the i18n extension and the translating filters and globals to `env`."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    env.filters["local"] = _local
    env.filters["ago"] = _ago
    env.filters["t"] = _translated
    env.filters["zone"] = _zone
    env.globals.update(
        close_label=_label_of(CLOSE_REASON_LABELS),
        status_label=_label_of(STATUS_LABELS),
        outcome_label=_label_of(OUTCOME_LABELS),
        department_label=_department_name,
        kind_label=_kind_name,
        role_label=_role_label,
        channel_label=_label_of(CHANNEL_WORDS),
        actor_label=_label_of(ACTOR_WORDS),
        purpose_label=_label_of(PURPOSE_WORDS, english_shows_code=True),
        message_state=_label_of(MESSAGE_STATES, english_shows_code=True),
        delivery_state=_label_of(MESSAGE_STATES, english_shows_code=True),
        contact_label=_contact_name,
        ticket_status=_ticket_status,
    )


def slot_label(request: Request, kinds: Mapping[str, Any]) -> Any:
    """`label(kind, code)` for a page: a ticket detail's label in the city's language."""
    locale = request_locale(request)
    names = i18n.local_names(request.app.state.services.settings.data_dir)

    def label(kind: str | None, code: str) -> str:
        english = kinds[kind].label(code) if kind in kinds else code
        return names.slot(kind, code, english, locale)

    return label
