"""Filing a complaint: triage, routing, duplicate linking, the caller's receipt.

A report is never lost: if routing or anything else fails while filing, the
report is stored again as a bare triage ticket for the duty supervisor; if even
that cannot be written (the database is away), it waits in the spool on disk and
`refile_spooled` files it once the database is back.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, text
from sqlmodel import Session, select

from dispatch import escalation
from dispatch.audit import record_event
from dispatch.call_records import call_by_sid, call_or_placeholder
from dispatch.caller_sms import receipt_number, reported_caller
from dispatch.contract import ComplaintReport, FiledTicket, FilingDeferred, mask_phone
from dispatch.db import session_scope
from dispatch.duplicates import find_original, link_to_original
from dispatch.kinds import TRIAGE_KIND_NAME, ComplaintKind
from dispatch.metrics import ticket_filed
from dispatch.models import Call, Department, Ticket, TicketStatus
from dispatch.numbering import next_number
from dispatch.outbox import email_staff, enqueue
from dispatch.outbox_texts import call_locale, caller_receipt_sms, triage_email, triage_sms
from dispatch.routing import TRIAGE_DEPARTMENT, RoutingError, duty_supervisor, route
from dispatch.spool import ComplaintSpool
from dispatch.ticket_place import PlaceFinder, filed_place
from dispatch.ticket_work import give_to, notify_assignee

log = logging.getLogger("dutyline.dispatch")

# A dialogue action retried within this time files nothing new.
RETRY_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class FilingRules:
    """What filing needs to know beyond the report (from the dispatch settings)."""

    kinds: Mapping[str, ComplaintKind]
    places: PlaceFinder | None
    timezone: str
    duplicate_window_minutes: int
    duplicate_radius_meters: float
    escalation_minutes: int
    base_url: str | None = None  # the line's public address: e-mails link to the ticket
    locale: str = "en"  # the city's (DUTYLINE_LOCALE): what officers' texts are written in


def file_complaint(
    *,
    engine: Engine,
    spool: ComplaintSpool,
    report: ComplaintReport,
    at: datetime,
    rules: FilingRules,
) -> FiledTicket:
    try:
        return file_report(engine=engine, report=report, at=at, rules=rules)
    except Exception as exc:
        # Keep the report whatever broke; the duty supervisor sorts it out.
        log.exception("filing failed, storing as triage ticket")
        reason = f"filing failed: {type(exc).__name__}"
        try:
            filed = file_bare_triage(
                engine=engine,
                report=report,
                at=at,
                reason=reason,
                timezone=rules.timezone,
                base_url=rules.base_url,
                locale=rules.locale,
            )
        except Exception as again:
            # Not even that: the database is gone. Keep it on disk until it is back.
            spool.put(report, reason)
            raise FilingDeferred("the report is kept and will be filed shortly") from again
        ticket_filed(filed, report.channel)
        return filed


def refile_spooled(
    *, engine: Engine, spool: ComplaintSpool, clock: Callable[[], datetime], rules: FilingRules
) -> int:
    """File the reports kept on disk while the database was away; how many were filed."""
    filed = 0
    for path in spool.pending():
        claimed = spool.claim(path)
        if claimed is None:
            continue  # another replica is filing it
        report, _reason = spool.load(claimed)
        try:
            file_report(engine=engine, report=report, at=clock(), rules=rules)
        except Exception:
            log.warning("database still unavailable; %s waits", path.name)
            spool.release(claimed)
            break
        claimed.unlink()
        filed += 1
    return filed


def file_report(
    *, engine: Engine, report: ComplaintReport, at: datetime, rules: FilingRules
) -> FiledTicket:
    kind = rules.kinds.get(report.kind) if report.kind else None
    triage_reason = report.triage_reason
    if report.kind and kind is None:
        triage_reason = triage_reason or f"unknown kind {report.kind!r}"
    elif kind is None:
        triage_reason = triage_reason or "kind not recognised"
    triage = report.needs_triage or kind is None
    place = filed_place(report, rules.places)

    with session_scope(engine, write=True) as session:
        call = (
            call_or_placeholder(session, call_sid=report.call_sid, at=at)
            if report.call_sid
            else None
        )
        if call is not None and not triage:
            again = _same_report_on_call(session, call, report.kind, place.key, at)
            if again is not None:
                return filed_ticket(session, again)

        department_code = TRIAGE_DEPARTMENT if triage or kind is None else kind.department
        try:
            routed = route(session, department_code, at)
        except RoutingError as exc:
            if department_code == TRIAGE_DEPARTMENT:
                raise
            triage, triage_reason = True, f"routing failed: {exc}"
            routed = route(session, TRIAGE_DEPARTMENT, at)

        original = None
        if not triage:
            _serialize_kind(session, report.kind)
            original = find_original(
                session,
                kind=report.kind,
                normalized=place.key,
                lat=place.lat,
                long=place.long,
                place_kind=place.kind,
                at=at,
                window_minutes=rules.duplicate_window_minutes,
                radius_m=rules.duplicate_radius_meters,
            )
        ticket = Ticket(
            number=next_number(session, at, rules.timezone),
            kind=report.kind if kind is not None else None,
            kind_name=kind.name if kind is not None else TRIAGE_KIND_NAME,
            channel=report.channel,
            status=TicketStatus.DUPLICATE if original else TicketStatus.NEW,
            location_text=report.location,  # always the reporter's own words
            location_normalized=place.key,
            place_name=place.name,
            place_kind=place.kind,
            place_confidence=place.confidence,
            place_verified=place.verified,
            lat=place.lat,
            long=place.long,
            details=dict(report.details),
            description=report.description,
            caller_number=reported_caller(report, call),
            department_id=routed.department.id,
            call_id=call.id if call else None,
            duplicate_of_id=original.id if original else None,
            needs_triage=triage,
            triage_reason=triage_reason if triage else None,
            transcript=report.transcript,
            created_at=at,
            updated_at=at,
        )
        if report.kind and kind is None:
            ticket.details.setdefault("reported_kind", report.kind)
        if original is None:
            give_to(ticket, routed.target)
            ticket.routing_reason = routed.target.reason
        session.add(ticket)
        session.flush()
        actor = _reporter(report)
        record_event(
            session,
            ticket_id=ticket.id,
            action="created",
            at=at,
            actor=actor,
            detail=f"{report.channel}; routed to {routed.department.name}"
            + (f", {routed.target.name} ({routed.target.reason})" if original is None else "")
            + (f"; triage: {ticket.triage_reason}" if triage else ""),
        )
        if original is not None:
            link_to_original(session, ticket=ticket, original=original, at=at, actor=actor)
        else:
            escalation.start(session, ticket, at, rules.escalation_minutes)
            notify_assignee(
                session,
                ticket=ticket,
                kinds=rules.kinds,
                at=at,
                base_url=rules.base_url,
                locale=rules.locale,
            )
        enqueue(
            session,
            to=receipt_number(report, call),
            body=caller_receipt_sms(
                number=ticket.number,
                kind_name=None if triage else ticket.kind_name,
                duplicate_of=original.number if original else None,
                locale=call_locale(call),  # the caller's line's language, not the city's
                kind=ticket.kind,
            ),
            purpose="caller_receipt",
            at=at,
            ticket_id=ticket.id,
        )
        filed = FiledTicket(
            number=ticket.number,
            kind=ticket.kind,
            kind_name=ticket.kind_name,
            department_code=routed.department.code,
            department_name=routed.department.name,
            status=ticket.status,
            duplicate_of=original.number if original else None,
            officer_name=ticket.assigned_name,
        )
    log.info(
        "ticket %s filed: %s, %s%s, caller %s",
        filed.number,
        filed.kind or "triage",
        filed.department_code,
        f", duplicate of {filed.duplicate_of}" if filed.duplicate_of else "",
        mask_phone(reported_caller(report, call)),
    )
    ticket_filed(filed, report.channel)
    return filed


def file_bare_triage(
    *,
    engine: Engine,
    report: ComplaintReport,
    at: datetime,
    reason: str,
    timezone: str,
    base_url: str | None = None,
    locale: str = "en",
) -> FiledTicket:
    """The last resort: store what was reported with as few moving parts as possible."""
    with session_scope(engine, write=True) as session:
        triage = session.exec(
            select(Department).where(Department.code == TRIAGE_DEPARTMENT)
        ).first()
        if triage is None:  # an unseeded database still keeps the report
            triage = Department(code=TRIAGE_DEPARTMENT, name="Triage")
            session.add(triage)
            session.flush()
        call = call_by_sid(session, report.call_sid) if report.call_sid else None
        place = filed_place(report, None)  # what the report says, nothing looked up
        details = dict(report.details)
        if report.kind:
            details.setdefault("reported_kind", report.kind)
        ticket = Ticket(
            number=next_number(session, at, timezone),
            kind=None,
            kind_name=TRIAGE_KIND_NAME,
            channel=report.channel,
            location_text=report.location,
            location_normalized=place.key,
            place_name=place.name,
            place_kind=place.kind,
            place_confidence=place.confidence,
            place_verified=place.verified,
            lat=place.lat,
            long=place.long,
            details=details,
            description=report.description,
            caller_number=reported_caller(report, call),
            department_id=triage.id,
            call_id=call.id if call else None,
            needs_triage=True,
            triage_reason="; ".join(r for r in (report.triage_reason, reason) if r)[:500],
            transcript=report.transcript,
            created_at=at,
            updated_at=at,
            routing_reason="failed",
        )
        session.add(ticket)
        session.flush()
        record_event(
            session,
            ticket_id=ticket.id,
            action="created",
            at=at,
            actor=_reporter(report),
            detail=reason,
        )
        supervisor = None
        try:
            supervisor = duty_supervisor(session, at)
        except Exception:
            log.exception("no duty supervisor for the triage ticket")
        enqueue(
            session,
            to=(supervisor.phone if supervisor else None) or triage.phone,
            body=triage_sms(number=ticket.number, reason=reason, locale=locale),
            purpose="officer",
            at=at,
            ticket_id=ticket.id,
        )
        if supervisor is not None:
            email = triage_email(
                number=ticket.number, reason=reason, base_url=base_url, locale=locale
            )
            email_staff(
                session, supervisor.staff_id, subject=email.subject, body=email.body,
                purpose="officer", at=at, ticket_id=ticket.id,
            )  # fmt: skip
        enqueue(
            session,
            to=receipt_number(report, call),
            body=caller_receipt_sms(
                number=ticket.number, kind_name=None, duplicate_of=None, locale=call_locale(call)
            ),
            purpose="caller_receipt",
            at=at,
            ticket_id=ticket.id,
        )
        return FiledTicket(
            number=ticket.number,
            kind=None,
            kind_name=TRIAGE_KIND_NAME,
            department_code=triage.code,
            department_name=triage.name,
            status=ticket.status,
        )


def filed_ticket(session: Session, ticket: Ticket) -> FiledTicket:
    """What the caller is told about a ticket already filed."""
    department = session.get(Department, ticket.department_id)
    original = session.get(Ticket, ticket.duplicate_of_id) if ticket.duplicate_of_id else None
    return FiledTicket(
        number=ticket.number,
        kind=ticket.kind,
        kind_name=ticket.kind_name,
        department_code=department.code if department else "",
        department_name=department.name if department else "",
        status=ticket.status,
        duplicate_of=original.number if original else None,
        officer_name=ticket.assigned_name,
    )


def _same_report_on_call(
    session: Session, call: Call, kind: str | None, normalized: str | None, at: datetime
) -> Ticket | None:
    """A retried 'file' action of the same call: same kind and place, minutes ago."""
    return session.exec(
        select(Ticket).where(
            Ticket.call_id == call.id,
            Ticket.kind == kind,
            Ticket.location_normalized == normalized,
            Ticket.created_at >= at - RETRY_WINDOW,
        )
    ).first()


def _serialize_kind(session: Session, kind: str | None) -> None:
    """Two callers reporting the same thing at once: on PostgreSQL, the second waits for
    the first (a transaction advisory lock per kind) so it sees it and is linked to it.
    SQLite writers are serialized already (BEGIN IMMEDIATE)."""
    if kind and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(kind.encode())}
        )


def _reporter(report: ComplaintReport) -> str:
    return {"phone": "caller", "open311": "open311", "api": "api"}.get(report.channel, "caller")
