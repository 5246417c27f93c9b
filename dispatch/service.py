"""DispatchService: the one way into tickets and calls, for voice/, nlu/ and the web.

Implements dispatch.contract.Dispatch plus what officers need. Methods are
synchronous (callers on the event loop use a thread) and each opens its own
session, so one service is shared by all calls and requests.

A report is never lost: if routing or anything else fails while filing, the
report is stored again as a triage ticket for the duty supervisor.
"""

from __future__ import annotations

import logging
import statistics
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dispatch import escalation
from dispatch.caller_sms import receipt_number, reported_caller, tell_callers_closed
from dispatch.contract import (
    CallEnd,
    CallStart,
    ComplaintReport,
    FiledTicket,
    FilingDeferred,
    InboundSms,
    SmsSender,
    TicketView,
    TurnRecord,
    mask_phone,
)
from dispatch.db import check, session_scope
from dispatch.duplicates import find_original
from dispatch.gazetteer import Gazetteer
from dispatch.kinds import TRIAGE_KIND_NAME, ComplaintKind, load_kinds
from dispatch.models import (
    CLOSE_REASON_LABELS,
    OPEN_STATUSES,
    STATUS_LABELS,
    Call,
    CallDetail,
    CallFilters,
    CallPublic,
    CloseReason,
    Department,
    Escalation,
    EventPublic,
    Latencies,
    NotePublic,
    Notification,
    NotificationPublic,
    Staff,
    Ticket,
    TicketDetail,
    TicketEvent,
    TicketFilters,
    TicketNote,
    TicketPublic,
    TicketStatus,
    Turn,
    TurnPublic,
    open311_status,
    utcnow,
)
from dispatch.numbering import clean_number, next_number
from dispatch.outbox import (
    DeliveryReport,
    SmsPolicy,
    caller_receipt_sms,
    deliver_due,
    enqueue,
    officer_sms,
)
from dispatch.retention import PurgeReport, purge_with_settings
from dispatch.routing import TRIAGE_DEPARTMENT, Route, RoutingError, Target, duty_supervisor, route
from dispatch.sms_consent import handle_inbound
from dispatch.spool import ComplaintSpool
from dutyline.settings import Settings

log = logging.getLogger("dutyline.dispatch")

# A dialogue action retried within this time files nothing new.
RETRY_WINDOW = timedelta(minutes=10)

# Which status may follow which. Anything else raises InvalidTransition.
TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset(
        {
            TicketStatus.ACKNOWLEDGED,
            TicketStatus.IN_PROGRESS,
            TicketStatus.DUPLICATE,
            TicketStatus.CLOSED,
        }
    ),
    TicketStatus.ACKNOWLEDGED: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.DUPLICATE, TicketStatus.CLOSED}
    ),
    TicketStatus.IN_PROGRESS: frozenset(
        {TicketStatus.ACKNOWLEDGED, TicketStatus.DUPLICATE, TicketStatus.CLOSED}
    ),
    TicketStatus.DUPLICATE: frozenset({TicketStatus.NEW, TicketStatus.CLOSED}),  # not one after all
    TicketStatus.CLOSED: frozenset({TicketStatus.IN_PROGRESS}),  # reopened
}


class TicketNotFound(LookupError):
    pass


class CallNotFound(LookupError):
    pass


class UnknownStaff(LookupError):
    pass


class InvalidTransition(ValueError):
    pass


class DispatchService:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        sms: SmsSender,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sms = sms
        self.clock = clock
        self.kinds: dict[str, ComplaintKind] = load_kinds(settings.data_dir)
        self.gazetteer = Gazetteer.load(settings.data_dir)
        # Set by DispatchWorkers: nudges the outbox sender after a ticket is filed.
        self.outbox_wakeup: Callable[[], None] | None = None
        self.spool = ComplaintSpool(settings.spool_dir)

    # --- calls (voice/) --------------------------------------------------------------

    def open_call(self, call: CallStart) -> None:
        def write(session: Session) -> None:
            row = _call_by_sid(session, call.call_sid)
            if row is None:
                row = Call(call_sid=call.call_sid, started_at=call.started_at)
            row.caller_number = call.caller_number
            row.called_number = call.called_number
            row.started_at = call.started_at
            row.locale = call.locale
            session.add(row)

        self._retry_on_conflict(write)
        log.info("call %s opened from %s", call.call_sid, mask_phone(call.caller_number))

    def record_turn(self, turn: TurnRecord) -> None:
        def write(session: Session) -> None:
            call = self._call_or_placeholder(session, turn.call_sid)
            row = session.exec(
                select(Turn).where(Turn.call_id == call.id, Turn.index == turn.index)
            ).first()
            values = turn.model_dump(exclude={"call_sid"})
            if row is None:
                row = Turn(call_id=call.id, created_at=self.clock(), **values)
            else:
                for key, value in values.items():
                    setattr(row, key, value)
            session.add(row)

        self._retry_on_conflict(write)

    def close_call(self, end: CallEnd) -> None:
        def write(session: Session) -> None:
            call = self._call_or_placeholder(session, end.call_sid)
            # The first close (the pipeline's, which knows what happened) wins; a later
            # status callback only adds Twilio's status, even after a restart.
            if call.outcome in (None, "in_progress"):
                call.outcome = end.outcome
            call.ended_at = call.ended_at or end.ended_at
            if end.recording_path is not None:
                call.recording_path = end.recording_path
            if end.telephony_status is not None:
                call.telephony_status = end.telephony_status
            session.add(call)

        self._retry_on_conflict(write)
        log.info("call %s closed: %s", end.call_sid, end.outcome)

    def _call_or_placeholder(self, session: Session, call_sid: str) -> Call:
        """The call's row; created when voice/ reports a turn of a call it never opened."""
        call = _call_by_sid(session, call_sid)
        if call is None:
            call = Call(call_sid=call_sid, started_at=self.clock())
            session.add(call)
            session.flush()
        return call

    def _retry_on_conflict(self, write: Callable[[Session], None]) -> None:
        # Two writers creating the same call row at once: the second retries and updates.
        for attempt in range(3):
            try:
                with session_scope(self.engine, write=True) as session:
                    write(session)
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    # --- filing --------------------------------------------------------------------

    def file_complaint(self, report: ComplaintReport) -> FiledTicket:
        now = self.clock()
        try:
            filed = self._file(report, now)
        except Exception as exc:
            # Keep the report whatever broke; the duty supervisor sorts it out.
            log.exception("filing failed, storing as triage ticket")
            reason = f"filing failed: {type(exc).__name__}"
            try:
                filed = self._file_bare_triage(report, now, reason)
            except Exception as again:
                # Not even that: the database is gone. Keep it on disk until it is back.
                self.spool.put(report, reason)
                raise FilingDeferred("the report is kept and will be filed shortly") from again
        self._wake_outbox()
        return filed

    def refile_spooled(self) -> int:
        """File the reports kept on disk while the database was away; how many were filed."""
        filed = 0
        for path in self.spool.pending():
            report, _reason = self.spool.load(path)
            try:
                self._file(report, self.clock())
            except Exception:
                log.warning("database still unavailable; %s waits", path.name)
                break
            path.unlink()
            filed += 1
        if filed:
            self._wake_outbox()
        return filed

    def _file(self, report: ComplaintReport, now: datetime) -> FiledTicket:
        kind = self.kinds.get(report.kind) if report.kind else None
        triage_reason = report.triage_reason
        if report.kind and kind is None:
            triage_reason = triage_reason or f"unknown kind {report.kind!r}"
        elif kind is None:
            triage_reason = triage_reason or "kind not recognised"
        triage = report.needs_triage or kind is None
        place = self.gazetteer.resolve(report.location)
        lat = report.lat if report.lat is not None else place.lat
        long = report.long if report.long is not None else place.long
        exact_point = report.lat is not None or (place.place is not None and place.place.is_point)

        with session_scope(self.engine, write=True) as session:
            call = self._call_or_placeholder(session, report.call_sid) if report.call_sid else None
            if call is not None and not triage:
                again = self._same_report_on_call(session, call, report.kind, place.normalized, now)
                if again is not None:
                    return self._filed(session, again)

            department_code = TRIAGE_DEPARTMENT if triage or kind is None else kind.department
            try:
                routed = route(session, department_code, now)
            except RoutingError as exc:
                if department_code == TRIAGE_DEPARTMENT:
                    raise
                triage, triage_reason = True, f"routing failed: {exc}"
                routed = route(session, TRIAGE_DEPARTMENT, now)

            original = None
            if not triage:
                _serialize_kind(session, report.kind)
                original = find_original(
                    session,
                    kind=report.kind,
                    normalized=place.normalized or None,
                    # "12 Main Street" and "480 Main Street" share the street's point: not near.
                    lat=lat if exact_point else None,
                    long=long if exact_point else None,
                    at=now,
                    window_minutes=self.settings.duplicate_window_minutes,
                    radius_m=self.settings.duplicate_radius_meters,
                )
            ticket = Ticket(
                number=next_number(session, now, self.settings.timezone),
                kind=report.kind if kind is not None else None,
                kind_name=kind.name if kind is not None else TRIAGE_KIND_NAME,
                channel=report.channel,
                status=TicketStatus.DUPLICATE if original else TicketStatus.NEW,
                location_text=report.location,
                location_normalized=place.normalized or None,
                place_name=place.place.name if place.place else None,
                lat=lat,
                long=long,
                details=dict(report.details),
                description=report.description,
                caller_number=reported_caller(report, call),
                department_id=routed.department.id,
                call_id=call.id if call else None,
                duplicate_of_id=original.id if original else None,
                needs_triage=triage,
                triage_reason=triage_reason if triage else None,
                transcript=report.transcript,
                created_at=now,
                updated_at=now,
            )
            if report.kind and kind is None:
                ticket.details.setdefault("reported_kind", report.kind)
            if original is None:
                _assign(ticket, routed.target)
                ticket.routing_reason = routed.target.reason
            session.add(ticket)
            session.flush()
            actor = _reporter(report)
            self._event(
                session,
                ticket,
                now,
                actor,
                "created",
                detail=f"{report.channel}; routed to {routed.department.name}"
                + (f", {routed.target.name} ({routed.target.reason})" if original is None else "")
                + (f"; triage: {ticket.triage_reason}" if triage else ""),
            )
            if original is not None:
                self._link_duplicate(session, ticket, original, now, actor)
            else:
                escalation.start(session, ticket, now, self.settings.escalation_minutes)
                self._notify_assignee(session, ticket, now)
            enqueue(
                session,
                to=receipt_number(report, call),
                body=caller_receipt_sms(
                    number=ticket.number,
                    kind_name=None if triage else ticket.kind_name,
                    duplicate_of=original.number if original else None,
                ),
                purpose="caller_receipt",
                at=now,
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
        return filed

    def _link_duplicate(
        self, session: Session, ticket: Ticket, original: Ticket, now: datetime, actor: str
    ) -> None:
        self._event(
            session,
            ticket,
            now,
            actor,
            "duplicate_linked",
            field="duplicate_of",
            new_value=original.number,
        )
        said = ticket.location_text or "same place"
        extra = "; ".join(f"{k}: {v}" for k, v in ticket.details.items() if v)
        session.add(
            TicketNote(
                ticket_id=original.id,
                author="system",
                body=f"Reported again as {ticket.number} ({ticket.channel}) at {said}"
                + (f". {extra}" if extra else "")
                + (f". {ticket.description}" if ticket.description else ""),
                created_at=now,
            )
        )
        self._event(
            session,
            original,
            now,
            actor,
            "duplicate_added",
            field="duplicates",
            new_value=ticket.number,
        )
        original.updated_at = now
        session.add(original)

    def _same_report_on_call(
        self, session: Session, call: Call, kind: str | None, normalized: str, now: datetime
    ) -> Ticket | None:
        """A retried 'file' action of the same call: same kind and place, minutes ago."""
        return session.exec(
            select(Ticket).where(
                Ticket.call_id == call.id,
                Ticket.kind == kind,
                Ticket.location_normalized == (normalized or None),
                Ticket.created_at >= now - RETRY_WINDOW,
            )
        ).first()

    def _file_bare_triage(self, report: ComplaintReport, now: datetime, reason: str) -> FiledTicket:
        """The last resort: store what was reported with as few moving parts as possible."""
        with session_scope(self.engine, write=True) as session:
            triage = session.exec(
                select(Department).where(Department.code == TRIAGE_DEPARTMENT)
            ).first()
            if triage is None:  # an unseeded database still keeps the report
                triage = Department(code=TRIAGE_DEPARTMENT, name="Triage")
                session.add(triage)
                session.flush()
            call = session.exec(select(Call).where(Call.call_sid == report.call_sid)).first()
            details = dict(report.details)
            if report.kind:
                details.setdefault("reported_kind", report.kind)
            ticket = Ticket(
                number=next_number(session, now, self.settings.timezone),
                kind=None,
                kind_name=TRIAGE_KIND_NAME,
                channel=report.channel,
                location_text=report.location,
                details=details,
                description=report.description,
                caller_number=reported_caller(report, call),
                department_id=triage.id,
                call_id=call.id if call else None,
                needs_triage=True,
                triage_reason="; ".join(r for r in (report.triage_reason, reason) if r)[:500],
                transcript=report.transcript,
                created_at=now,
                updated_at=now,
                routing_reason="failed",
            )
            session.add(ticket)
            session.flush()
            self._event(session, ticket, now, _reporter(report), "created", detail=reason)
            supervisor = None
            try:
                supervisor = duty_supervisor(session, now)
            except Exception:
                log.exception("no duty supervisor for the triage ticket")
            enqueue(
                session,
                to=(supervisor.phone if supervisor else None) or triage.phone,
                body=f"TRIAGE ticket {ticket.number}: a report could not be routed ({reason}).",
                purpose="officer",
                at=now,
                ticket_id=ticket.id,
            )
            enqueue(
                session,
                to=receipt_number(report, call),
                body=caller_receipt_sms(number=ticket.number, kind_name=None, duplicate_of=None),
                purpose="caller_receipt",
                at=now,
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

    def _filed(self, session: Session, ticket: Ticket) -> FiledTicket:
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

    # --- looking up (dialogue) ---------------------------------------------------------

    def ticket_for_call(self, call_sid: str) -> str | None:
        with session_scope(self.engine) as session:
            return session.exec(
                select(Ticket.number)
                .join(Call, col(Call.id) == Ticket.call_id)
                .where(Call.call_sid == call_sid)
                .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
            ).first()

    def find_ticket(self, number: str) -> TicketView | None:
        digits = clean_number(number)
        if not digits:
            return None
        with session_scope(self.engine) as session:
            ticket = session.exec(select(Ticket).where(Ticket.number == digits)).first()
            if ticket is None:
                return None
            department = session.get(Department, ticket.department_id)
            label = _status_label(ticket)
            if ticket.duplicate_of_id:
                original = session.get(Ticket, ticket.duplicate_of_id)
                if original is not None:
                    label = f"Added to ticket {original.number}: {_status_label(original)}"
            return TicketView(
                number=ticket.number,
                kind=ticket.kind,
                kind_name=ticket.kind_name,
                status=ticket.status,
                status_label=label,
                department_name=department.name if department else "",
                location=ticket.place_name or ticket.location_text,
                created_at=ticket.created_at,
                updated_at=ticket.updated_at,
            )

    def on_duty_phone(self, kind: str | None) -> str | None:
        known = self.kinds.get(kind) if kind else None
        code = known.department if known else TRIAGE_DEPARTMENT
        with session_scope(self.engine) as session:
            try:
                return route(session, code, self.clock()).target.phone
            except RoutingError:
                supervisor = duty_supervisor(session, self.clock())
                return supervisor.phone if supervisor else None

    def route_for(self, kind: str | None, at: datetime | None = None) -> Route:
        """Where a report of this kind would go now (for the pages and tests)."""
        known = self.kinds.get(kind) if kind else None
        with session_scope(self.engine) as session:
            return route(
                session, known.department if known else TRIAGE_DEPARTMENT, at or self.clock()
            )

    # --- officers (web) ----------------------------------------------------------------

    def list_tickets(
        self, filters: TicketFilters | None = None, department_id: int | None = None
    ) -> list[TicketPublic]:
        filters = filters or TicketFilters()
        with session_scope(self.engine) as session:
            query = _ticket_query(select(Ticket), filters, department_id)
            order = (
                col(Ticket.created_at).desc() if filters.newest_first else col(Ticket.created_at)
            )
            rows = session.exec(
                query.order_by(order, col(Ticket.id)).offset(filters.offset).limit(filters.limit)
            ).all()
            return _publics(session, rows)

    def count_tickets(
        self, filters: TicketFilters | None = None, department_id: int | None = None
    ) -> int:
        filters = filters or TicketFilters()
        with session_scope(self.engine) as session:
            query = _ticket_query(select(func.count(col(Ticket.id))), filters, department_id)
            return int(session.exec(query).one())

    def get_ticket(self, number: str) -> TicketDetail | None:
        with session_scope(self.engine) as session:
            ticket = session.exec(
                select(Ticket).where(Ticket.number == clean_number(number))
            ).first()
            return _detail(session, ticket) if ticket else None

    def acknowledge(self, number: str, staff_id: int) -> TicketDetail:
        now = self.clock()
        with session_scope(self.engine, write=True) as session:
            ticket = _ticket_for_update(session, number)
            staff = _staff(session, staff_id)
            if ticket.status in (TicketStatus.ACKNOWLEDGED, TicketStatus.IN_PROGRESS):
                return _detail(session, ticket)  # already seen: nothing changes
            if ticket.status != TicketStatus.NEW:
                raise InvalidTransition(f"ticket {ticket.number} is {ticket.status}")
            self._change_status(session, ticket, TicketStatus.ACKNOWLEDGED, now, staff, None)
            ticket.acknowledged_at = now
            ticket.acknowledged_by_id = staff.id
            if ticket.assigned_staff_id is None:
                self._reassign(session, ticket, staff, now, staff)
            session.add(ticket)
            return _detail(session, ticket)

    def set_status(
        self, number: str, status: str, reason: str | None, staff_id: int | None
    ) -> TicketDetail:
        """Change a ticket's status. Closing needs a CloseReason code; a reason given
        for another status is kept in the audit trail."""
        now = self.clock()
        try:
            new = TicketStatus(status)
        except ValueError:
            raise InvalidTransition(f"unknown status {status!r}") from None
        if new == TicketStatus.CLOSED:
            try:
                CloseReason(reason or "")
            except ValueError:
                codes = ", ".join(r.value for r in CloseReason)
                raise InvalidTransition(f"closing needs a reason: one of {codes}") from None
        with session_scope(self.engine, write=True) as session:
            ticket = _ticket_for_update(session, number)
            staff = _staff(session, staff_id) if staff_id is not None else None
            if new == ticket.status:
                return _detail(session, ticket)
            if new not in TRANSITIONS[TicketStatus(ticket.status)]:
                raise InvalidTransition(
                    f"ticket {ticket.number}: {ticket.status} -> {new} is not allowed"
                )
            self._change_status(session, ticket, new, now, staff, reason)
            if new == TicketStatus.ACKNOWLEDGED and ticket.acknowledged_at is None:
                ticket.acknowledged_at = now
                ticket.acknowledged_by_id = staff.id if staff else None
            if new == TicketStatus.CLOSED:
                ticket.closed_at = now
                ticket.close_reason = reason
                self._tell_caller_closed(session, ticket, now)
            elif ticket.closed_at is not None:
                ticket.closed_at = None  # reopened
                ticket.close_reason = None
            if ticket.status == TicketStatus.NEW and ticket.duplicate_of_id is not None:
                # No longer a duplicate: it is worked (and escalated) on its own.
                self._event(
                    session,
                    ticket,
                    now,
                    _actor(staff),
                    "duplicate_unlinked",
                    field="duplicate_of",
                    staff=staff,
                )
                ticket.duplicate_of_id = None
                if ticket.assigned_name is None:  # filed as a duplicate: never routed
                    department = session.get(Department, ticket.department_id)
                    target = route(session, department.code, now).target
                    _assign(ticket, target)
                    ticket.routing_reason = target.reason
                    self._notify_assignee(session, ticket, now)
                escalation.restart(session, ticket, now, self.settings.escalation_minutes)
            session.add(ticket)
            return _detail(session, ticket)

    def link_duplicate(self, number: str, original: str, staff_id: int | None) -> TicketDetail:
        """An officer found that `number` reports the same thing as `original` (open)."""
        now = self.clock()
        with session_scope(self.engine, write=True) as session:
            ticket = _ticket_for_update(session, number)
            first = _ticket_for_update(session, original)
            staff = _staff(session, staff_id) if staff_id is not None else None
            if first.id == ticket.id or first.duplicate_of_id is not None:
                raise InvalidTransition(f"{first.number} cannot be the original of {ticket.number}")
            if first.status not in OPEN_STATUSES:
                raise InvalidTransition(f"ticket {first.number} is {first.status}")
            if TicketStatus.DUPLICATE not in TRANSITIONS[TicketStatus(ticket.status)]:
                raise InvalidTransition(f"ticket {ticket.number} is {ticket.status}")
            self._change_status(session, ticket, TicketStatus.DUPLICATE, now, staff, None)
            ticket.duplicate_of_id = first.id
            session.add(ticket)
            self._link_duplicate(session, ticket, first, now, _actor(staff))
            return _detail(session, ticket)

    def assign(self, number: str, to_staff_id: int, staff_id: int | None) -> TicketDetail:
        now = self.clock()
        with session_scope(self.engine, write=True) as session:
            ticket = _ticket_for_update(session, number)
            target = _staff(session, to_staff_id)
            by = _staff(session, staff_id) if staff_id is not None else None
            self._reassign(session, ticket, target, now, by)
            session.add(ticket)
            return _detail(session, ticket)

    def add_note(self, number: str, staff_id: int | None, body: str) -> NotePublic:
        body = (body or "").strip()
        if not body:
            raise ValueError("a note needs some text")
        now = self.clock()
        with session_scope(self.engine, write=True) as session:
            ticket = _ticket_for_update(session, number)
            staff = _staff(session, staff_id) if staff_id is not None else None
            note = TicketNote(
                ticket_id=ticket.id,
                staff_id=staff.id if staff else None,
                author=staff.full_name if staff else "system",
                body=body,
                created_at=now,
            )
            session.add(note)
            ticket.updated_at = now
            session.add(ticket)
            session.flush()
            self._event(
                session, ticket, now, _actor(staff), "note_added", staff=staff, detail=body[:200]
            )
            return _note_public(note)

    def _change_status(
        self,
        session: Session,
        ticket: Ticket,
        new: TicketStatus,
        now: datetime,
        staff: Staff | None,
        reason: str | None,
    ) -> None:
        old = ticket.status
        ticket.status = new
        ticket.updated_at = now
        self._event(
            session,
            ticket,
            now,
            _actor(staff),
            "status",
            field="status",
            old_value=old,
            new_value=new,
            detail=reason,
            staff=staff,
        )
        if old == TicketStatus.NEW and new != TicketStatus.NEW:
            escalation.stop(
                session, ticket.id, now, "acknowledged" if new in OPEN_STATUSES else new
            )

    def _reassign(
        self, session: Session, ticket: Ticket, target: Staff, now: datetime, by: Staff | None
    ) -> None:
        before = ticket.assigned_name
        ticket.assigned_staff_id = target.id
        ticket.assigned_name = target.full_name
        ticket.assigned_phone = target.phone
        ticket.routing_reason = "assigned"
        ticket.updated_at = now
        self._event(
            session,
            ticket,
            now,
            _actor(by),
            "assigned",
            field="assigned",
            old_value=before,
            new_value=target.full_name,
            staff=by,
        )

    def _notify_assignee(self, session: Session, ticket: Ticket, now: datetime) -> None:
        kind = self.kinds.get(ticket.kind) if ticket.kind else None
        enqueue(
            session,
            to=ticket.assigned_phone,
            body=officer_sms(
                number=ticket.number,
                kind_name=ticket.kind_name,
                location=ticket.place_name or ticket.location_text,
                details={(kind.label(k) if kind else k): v for k, v in ticket.details.items()},
                escalated=False,
            ),
            purpose="officer",
            at=now,
            ticket_id=ticket.id,
        )

    def _tell_caller_closed(self, session: Session, ticket: Ticket, now: datetime) -> None:
        tell_callers_closed(session, ticket, now)  # and the callers of its duplicates

    def _event(
        self,
        session: Session,
        ticket: Ticket,
        at: datetime,
        actor: str,
        action: str,
        *,
        field: str | None = None,
        old_value: str | None = None,
        new_value: str | None = None,
        detail: str | None = None,
        staff: Staff | None = None,
    ) -> None:
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=at,
                staff_id=staff.id if staff else None,
                actor=actor,
                action=action,
                field=field,
                old_value=old_value,
                new_value=new_value,
                detail=detail,
            )
        )

    # --- calls (supervisors) ---------------------------------------------------------

    def list_calls(self, filters: CallFilters | None = None) -> list[CallPublic]:
        filters = filters or CallFilters()
        with session_scope(self.engine) as session:
            query = select(Call)
            if filters.started_from:
                query = query.where(Call.started_at >= filters.started_from)
            if filters.started_to:
                query = query.where(Call.started_at < filters.started_to)
            if filters.outcome:
                query = query.where(col(Call.outcome).in_(filters.outcome))
            if filters.caller_number:
                query = query.where(Call.caller_number == filters.caller_number)
            calls = session.exec(
                query.order_by(col(Call.started_at).desc(), col(Call.id).desc())
                .offset(filters.offset)
                .limit(filters.limit)
            ).all()
            numbers = _numbers_by_call(session, [c.id for c in calls])
            return [_call_public(c, numbers.get(c.id, [])) for c in calls]

    def get_call(self, call_sid: str) -> CallDetail | None:
        with session_scope(self.engine) as session:
            call = _call_by_sid(session, call_sid)
            if call is None:
                return None
            turns = session.exec(
                select(Turn).where(Turn.call_id == call.id).order_by(col(Turn.index))
            ).all()
            numbers = _numbers_by_call(session, [call.id]).get(call.id, [])
            bot_turns = [t for t in turns if t.speaker == "bot"]
            latencies = [t.latency_ms for t in bot_turns if t.latency_ms is not None]
            stages: dict[str, list[int]] = {}
            for turn in bot_turns:
                for stage, ms in (turn.stage_ms or {}).items():
                    stages.setdefault(stage, []).append(ms)
            return CallDetail(
                **_call_public(call, numbers).model_dump(),
                turns=[TurnPublic.model_validate(t, from_attributes=True) for t in turns],
                latencies=_latencies(latencies, stages),
                purged_at=call.purged_at,
            )

    # --- background steps (DispatchWorkers runs them; tests call them directly) -----------

    def run_escalations(self, now: datetime | None = None) -> int:
        return escalation.run_due(
            self.engine, now or self.clock(), self.settings.escalation_minutes
        )

    def deliver_outbox(self, now: datetime | None = None) -> DeliveryReport:
        policy = SmsPolicy(
            self.settings.sms_per_number_per_hour, self.settings.sms_per_line_per_hour
        )
        return deliver_due(self.engine, self.sms, now or self.clock(), policy=policy)

    def purge_expired(self, now: datetime | None = None) -> PurgeReport:
        return purge_with_settings(self.engine, self.settings, now or self.clock())

    def handle_inbound_sms(self, sms: InboundSms) -> str | None:
        """STOP / START / HELP texted to the line; the reply to send back, if any."""
        return handle_inbound(self.engine, sms, self.clock())

    def health(self) -> str | None:
        return check(self.engine)

    def _wake_outbox(self) -> None:
        if self.outbox_wakeup is not None:
            try:
                self.outbox_wakeup()
            except Exception:  # a closed loop must not fail a filing
                log.debug("outbox wake-up failed", exc_info=True)


# --- helpers ----------------------------------------------------------------------------


def _serialize_kind(session: Session, kind: str | None) -> None:
    """Two callers reporting the same thing at once: on PostgreSQL, the second waits for
    the first (a transaction advisory lock per kind) so it sees it and is linked to it.
    SQLite writers are serialized already (BEGIN IMMEDIATE)."""
    if kind and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(kind.encode())}
        )


def _assign(ticket: Ticket, target: Target) -> None:
    ticket.assigned_staff_id = target.staff_id
    ticket.assigned_name = target.name
    ticket.assigned_phone = target.phone


def _reporter(report: ComplaintReport) -> str:
    return {"phone": "caller", "open311": "open311", "api": "api"}.get(report.channel, "caller")


def _actor(staff: Staff | None) -> str:
    return staff.username if staff else "system"


def _status_label(ticket: Ticket) -> str:
    label = STATUS_LABELS.get(ticket.status, ticket.status)
    if ticket.status == TicketStatus.CLOSED and ticket.close_reason:
        label = f"{label}: {CLOSE_REASON_LABELS.get(ticket.close_reason, ticket.close_reason)}"
    return label


def _call_by_sid(session: Session, call_sid: str) -> Call | None:
    return session.exec(select(Call).where(Call.call_sid == call_sid)).first()


def _staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise UnknownStaff(f"no active staff member {staff_id}")
    return staff


def _ticket_for_update(session: Session, number: str) -> Ticket:
    ticket = session.exec(
        select(Ticket).where(Ticket.number == clean_number(number)).with_for_update()
    ).first()
    if ticket is None:
        raise TicketNotFound(f"no ticket {number}")
    return ticket


def _ticket_query(query, filters: TicketFilters, department_id: int | None):  # type: ignore[no-untyped-def]
    if department_id is not None:
        query = query.where(Ticket.department_id == department_id)
    if filters.status:
        wanted: set[str] = set()
        for status in filters.status:
            if status == "open":
                wanted |= {s.value for s in OPEN_STATUSES}
            elif status == "closed":
                wanted |= {s.value for s in TicketStatus if s not in OPEN_STATUSES}
            else:
                wanted.add(status)
        query = query.where(col(Ticket.status).in_(sorted(wanted)))
    if filters.kind:
        query = query.where(col(Ticket.kind).in_(filters.kind))
    if filters.department_code:
        query = query.where(
            Ticket.department_id
            == select(Department.id)
            .where(Department.code == filters.department_code)
            .scalar_subquery()
        )
    if filters.numbers:
        query = query.where(col(Ticket.number).in_([clean_number(n) for n in filters.numbers]))
    if filters.created_from:
        query = query.where(Ticket.created_at >= filters.created_from)
    if filters.created_to:
        query = query.where(Ticket.created_at < filters.created_to)
    if filters.needs_triage is not None:
        query = query.where(Ticket.needs_triage == filters.needs_triage)
    if filters.assigned_staff_id is not None:
        query = query.where(Ticket.assigned_staff_id == filters.assigned_staff_id)
    if filters.text:
        pattern = f"%{filters.text.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(col(Ticket.location_text)).like(pattern),
                func.lower(col(Ticket.description)).like(pattern),
                func.lower(col(Ticket.place_name)).like(pattern),
                col(Ticket.number).like(pattern),
            )
        )
    return query


def _publics(session: Session, tickets: Sequence[Ticket]) -> list[TicketPublic]:
    departments = {d.id: d for d in session.exec(select(Department)).all()}
    call_ids = {t.call_id for t in tickets if t.call_id}
    calls = (
        {
            c.id: c.call_sid
            for c in session.exec(select(Call).where(col(Call.id).in_(call_ids))).all()
        }
        if call_ids
        else {}
    )
    original_ids = {t.duplicate_of_id for t in tickets if t.duplicate_of_id}
    originals = (
        {
            t.id: t.number
            for t in session.exec(select(Ticket).where(col(Ticket.id).in_(original_ids))).all()
        }
        if original_ids
        else {}
    )
    result = []
    for ticket in tickets:
        department = departments.get(ticket.department_id)
        result.append(
            TicketPublic(
                id=ticket.id,
                number=ticket.number,
                kind=ticket.kind,
                kind_name=ticket.kind_name,
                channel=ticket.channel,
                status=ticket.status,
                status_label=_status_label(ticket),
                open311_status=open311_status(ticket.status),
                close_reason=ticket.close_reason,
                location_text=ticket.location_text,
                location_normalized=ticket.location_normalized,
                place_name=ticket.place_name,
                lat=ticket.lat,
                long=ticket.long,
                details=dict(ticket.details or {}),
                description=ticket.description,
                caller_number=ticket.caller_number,
                department_code=department.code if department else "",
                department_name=department.name if department else "",
                assigned_staff_id=ticket.assigned_staff_id,
                assigned_name=ticket.assigned_name,
                assigned_phone=ticket.assigned_phone,
                call_sid=calls.get(ticket.call_id) if ticket.call_id else None,
                duplicate_of=originals.get(ticket.duplicate_of_id)
                if ticket.duplicate_of_id
                else None,
                needs_triage=ticket.needs_triage,
                triage_reason=ticket.triage_reason,
                created_at=ticket.created_at,
                updated_at=ticket.updated_at,
                acknowledged_at=ticket.acknowledged_at,
                closed_at=ticket.closed_at,
            )
        )
    return result


def _detail(session: Session, ticket: Ticket) -> TicketDetail:
    session.flush()
    public = _publics(session, [ticket])[0]
    notes = session.exec(
        select(TicketNote).where(TicketNote.ticket_id == ticket.id).order_by(col(TicketNote.id))
    ).all()
    events = session.exec(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(col(TicketEvent.id))
    ).all()
    duplicates = session.exec(
        select(Ticket.number).where(Ticket.duplicate_of_id == ticket.id).order_by(col(Ticket.id))
    ).all()
    notifications = session.exec(
        select(Notification)
        .where(Notification.ticket_id == ticket.id)
        .order_by(col(Notification.id))
    ).all()
    state = session.exec(select(Escalation).where(Escalation.ticket_id == ticket.id)).first()
    return TicketDetail(
        **public.model_dump(),
        transcript=ticket.transcript,
        notes=[_note_public(n) for n in notes],
        events=[EventPublic.model_validate(e, from_attributes=True) for e in events],
        duplicates=list(duplicates),
        notifications=[
            NotificationPublic.model_validate(n, from_attributes=True) for n in notifications
        ],
        escalation_step=state.step if state else None,
        escalation_due_at=state.due_at if state else None,
    )


def _note_public(note: TicketNote) -> NotePublic:
    return NotePublic.model_validate(note, from_attributes=True)


def _numbers_by_call(session: Session, call_ids: list[int | None]) -> dict[int, list[str]]:
    ids = [i for i in call_ids if i is not None]
    if not ids:
        return {}
    found: dict[int, list[str]] = {}
    for call_id, number in session.exec(
        select(Ticket.call_id, Ticket.number)
        .where(col(Ticket.call_id).in_(ids))
        .order_by(col(Ticket.id))
    ).all():
        found.setdefault(call_id, []).append(number)
    return found


def _call_public(call: Call, numbers: list[str]) -> CallPublic:
    duration = (call.ended_at - call.started_at).total_seconds() if call.ended_at else None
    return CallPublic(
        id=call.id,
        call_sid=call.call_sid,
        caller_number=call.caller_number,
        called_number=call.called_number,
        locale=call.locale,
        started_at=call.started_at,
        ended_at=call.ended_at,
        outcome=call.outcome,
        telephony_status=call.telephony_status,
        recording_path=call.recording_path,
        ticket_numbers=numbers,
        duration_seconds=duration,
    )


def _latencies(values: list[int], stages: dict[str, list[int]]) -> Latencies:
    stage_median = {name: float(statistics.median(ms)) for name, ms in stages.items() if ms}
    if not values:
        return Latencies(
            count=0, median_ms=None, p95_ms=None, max_ms=None, stage_median_ms=stage_median
        )
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return Latencies(
        count=len(values),
        median_ms=float(statistics.median(values)),
        p95_ms=float(p95),
        max_ms=max(values),
        stage_median_ms=stage_median,
    )
