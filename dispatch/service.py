"""DispatchService: the one way into tickets and calls, for voice/, nlu/ and the web.

Implements dispatch.contract.Dispatch plus what officers need, as a thin facade
over one module per concern:

- dispatch/filing.py: filing complaints (triage, duplicates, spool refiling);
- dispatch/ticket_work.py: acknowledge, status, notes, assignment, notifications;
- dispatch/ticket_status.py: which status may follow which;
- dispatch/call_records.py: calls and their turns, as voice/ reports them;
- dispatch/read_models.py: tickets and calls as the web, Open311 and the dialogue see them;
- dispatch/audit.py: the one way a ticket event is recorded.

Methods are synchronous (callers on the event loop use a thread) and each opens
its own session, so one service is shared by all calls and requests. The engine,
settings, SMS sender and clock are read at each call, so tests may swap them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from sqlalchemy import Engine

from dispatch import call_records, escalation, filing, lost_calls, read_models, ticket_work
from dispatch.contract import (
    CallEnd,
    CallStart,
    ComplaintReport,
    FiledTicket,
    InboundSms,
    PlaceMatch,
    PlaceVocabulary,
    SmsSender,
    TicketView,
    TurnRecord,
)
from dispatch.db import check, session_scope
from dispatch.email_sender import EmailNotSet, EmailSender
from dispatch.handover import HandoverSummary, compile_handover
from dispatch.handover_notices import send_due as send_due_handovers
from dispatch.i18n import local_names
from dispatch.kinds import ComplaintKind, load_kinds
from dispatch.lines import Lines, lines_of
from dispatch.models import utcnow
from dispatch.outbox import DeliveryReport, SmsPolicy, deliver_due
from dispatch.places.book import PlaceBook
from dispatch.public import (
    CallDetail,
    CallFilters,
    CallPublic,
    NotePublic,
    TicketDetail,
    TicketFilters,
    TicketPublic,
)
from dispatch.retention import PurgeReport, purge_with_settings
from dispatch.routing import TRIAGE_DEPARTMENT, Route, RoutingError, duty_supervisor, route
from dispatch.settings import DispatchSettings
from dispatch.shift_changes import ShiftWindow, home_shifts, requested_window, roster_shifts
from dispatch.sms_consent import handle_inbound
from dispatch.spool import ComplaintSpool
from dispatch.webhooks.delivery import WebhookReport
from dispatch.webhooks.delivery import deliver_due as deliver_webhooks

log = logging.getLogger("dutyline.dispatch")


class DispatchService:
    def __init__(
        self,
        engine: Engine,
        settings: DispatchSettings,
        *,
        sms: SmsSender,
        clock: Callable[[], datetime] = utcnow,
        email: EmailSender | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sms = sms
        # Staff e-mail; without a mail server the rows are recorded as not sent.
        self.email: EmailSender = email if email is not None else EmailNotSet()
        self.clock = clock
        self.kinds: dict[str, ComplaintKind] = load_kinds(settings.data_dir)
        # Set by DispatchWorkers: nudges the outbox sender after a ticket is filed.
        self.outbox_wakeup: Callable[[], None] | None = None
        self.spool = ComplaintSpool(settings.spool_dir)
        # The lines (numbers -> locale and city; dispatch/lines.py): a bad file fails here,
        # at start-up, with its reason.
        self.lines: Lines = lines_of(settings)
        # Each line's city's places, loaded on first use and kept current with re-imports;
        # `places` is the first line's (typed reports, the officers' map).
        self.places = PlaceBook(engine, self.lines.default.city)
        self.place_books: dict[str, PlaceBook] = {
            city.name: PlaceBook(engine, city.name)
            for city in self.lines.cities
            if city.name != self.lines.default.city
        }

    # --- calls (voice/) --------------------------------------------------------------

    def open_call(self, call: CallStart) -> None:
        call_records.open_call(engine=self.engine, call=call)

    def record_turn(self, turn: TurnRecord) -> None:
        call_records.record_turn(engine=self.engine, turn=turn, clock=self.clock)

    def close_call(self, end: CallEnd) -> None:
        call_records.close_call(engine=self.engine, end=end, clock=self.clock)

    def note_call_ended(self, call_sid: str, status: str) -> bool:
        return lost_calls.note_ended(
            engine=self.engine, call_sid=call_sid, status=status, at=self.clock()
        )

    def file_lost_calls(self) -> int:
        """Calls whose replica died mid-call: their words filed for triage, once."""
        return lost_calls.file_lost_calls(
            engine=self.engine,
            file=self.file_complaint,
            now=self.clock(),
            lost_after=timedelta(seconds=self.settings.lost_call_seconds),
        )

    # --- filing ----------------------------------------------------------------------

    def file_complaint(self, report: ComplaintReport) -> FiledTicket:
        filed = filing.file_complaint(
            engine=self.engine,
            spool=self.spool,
            report=report,
            at=self.clock(),
            rules=self._filing_rules(),
        )
        self._wake_outbox()
        return filed

    def refile_spooled(self) -> int:
        """File the reports kept on disk while the database was away; how many were filed."""
        filed = filing.refile_spooled(
            engine=self.engine, spool=self.spool, clock=self.clock, rules=self._filing_rules()
        )
        if filed:
            self._wake_outbox()
        return filed

    def _filing_rules(self) -> filing.FilingRules:
        return filing.FilingRules(
            kinds=self.kinds,
            places=self.places,
            timezone=self.settings.timezone,
            duplicate_window_minutes=self.settings.duplicate_window_minutes,
            duplicate_radius_meters=self.settings.duplicate_radius_meters,
            escalation_minutes=self.settings.escalation_minutes,
            base_url=self.settings.public_url,
            locale=self.settings.locale,  # officers' texts in the city's language
        )

    # --- looking up (dialogue) -------------------------------------------------------

    def ticket_for_call(self, call_sid: str) -> str | None:
        with session_scope(self.engine) as session:
            return read_models.ticket_for_call(session=session, call_sid=call_sid)

    def find_ticket(self, number: str, locale: str | None = None) -> TicketView | None:
        with session_scope(self.engine) as session:
            return read_models.ticket_view(
                session=session,
                number=number,
                locale=locale,
                names=local_names(self.settings.data_dir),
            )

    def find_place(self, said: str, city: str | None = None) -> PlaceMatch:
        """The city's places that the caller's words may mean, best first (city: the
        line's; None: the first line's)."""
        return self.place_book(city).locate(said)

    def place_vocabulary(self, city: str | None = None) -> PlaceVocabulary:
        """The city's street, landmark and alias names, for recognition."""
        return self.place_book(city).vocabulary()

    def place_book(self, city: str | None = None) -> PlaceBook:
        if city is None or city == self.places.city_name:
            return self.places
        book = self.place_books.get(city)
        if book is None:  # a stale call's metadata: answer with the first line's city
            log.warning("no line has the city %r: places of %s used", city, self.places.city_name)
            return self.places
        return book

    def on_duty_phone(self, kind: str | None) -> str | None:
        with session_scope(self.engine) as session:
            try:
                return route(session, self._department_of(kind), self.clock()).target.phone
            except RoutingError:
                supervisor = duty_supervisor(session, self.clock())
                return supervisor.phone if supervisor else None

    def route_for(self, kind: str | None, at: datetime | None = None) -> Route:
        """Where a report of this kind would go now (for the pages and tests)."""
        with session_scope(self.engine) as session:
            return route(session, self._department_of(kind), at or self.clock())

    def _department_of(self, kind: str | None) -> str:
        known = self.kinds.get(kind) if kind else None
        return known.department if known else TRIAGE_DEPARTMENT

    # --- officers (web) --------------------------------------------------------------

    def list_tickets(
        self, filters: TicketFilters | None = None, department_id: int | None = None
    ) -> list[TicketPublic]:
        with session_scope(self.engine) as session:
            return read_models.list_tickets(
                session=session, filters=filters or TicketFilters(), department_id=department_id
            )

    def count_tickets(
        self, filters: TicketFilters | None = None, department_id: int | None = None
    ) -> int:
        with session_scope(self.engine) as session:
            return read_models.count_tickets(
                session=session, filters=filters or TicketFilters(), department_id=department_id
            )

    def get_ticket(self, number: str) -> TicketDetail | None:
        with session_scope(self.engine) as session:
            ticket = read_models.ticket_by_number(session=session, number=number)
            return read_models.ticket_detail(session=session, ticket=ticket) if ticket else None

    def acknowledge(self, number: str, staff_id: int) -> TicketDetail:
        with session_scope(self.engine, write=True) as session:
            ticket = ticket_work.acknowledge(
                session, number=number, staff_id=staff_id, at=self.clock()
            )
            return read_models.ticket_detail(session=session, ticket=ticket)

    def set_status(
        self, number: str, status: str, reason: str | None, staff_id: int | None
    ) -> TicketDetail:
        """Change a ticket's status. Closing needs a CloseReason code; a reason given
        for another status is kept in the audit trail."""
        with session_scope(self.engine, write=True) as session:
            ticket = ticket_work.set_status(
                session,
                number=number,
                status=status,
                reason=reason,
                staff_id=staff_id,
                at=self.clock(),
                kinds=self.kinds,
                escalation_minutes=self.settings.escalation_minutes,
                base_url=self.settings.public_url,
                locale=self.settings.locale,
            )
            return read_models.ticket_detail(session=session, ticket=ticket)

    def link_duplicate(self, number: str, original: str, staff_id: int | None) -> TicketDetail:
        """An officer found that `number` reports the same thing as `original` (open)."""
        with session_scope(self.engine, write=True) as session:
            ticket = ticket_work.link_duplicate(
                session, number=number, original=original, staff_id=staff_id, at=self.clock()
            )
            return read_models.ticket_detail(session=session, ticket=ticket)

    def assign(self, number: str, to_staff_id: int, staff_id: int | None) -> TicketDetail:
        with session_scope(self.engine, write=True) as session:
            ticket = ticket_work.assign(
                session, number=number, to_staff_id=to_staff_id, staff_id=staff_id, at=self.clock()
            )
            return read_models.ticket_detail(session=session, ticket=ticket)

    def add_note(self, number: str, staff_id: int | None, body: str) -> NotePublic:
        with session_scope(self.engine, write=True) as session:
            note = ticket_work.add_note(
                session, number=number, staff_id=staff_id, body=body, at=self.clock()
            )
            return read_models.note_public(note)

    def add_caller_note(self, call_sid: str, text: str) -> str | None:
        """What the caller added after filing, as a note on the call's ticket; its number."""
        with session_scope(self.engine, write=True) as session:
            return ticket_work.add_caller_note(
                session, call_sid=call_sid, text=text, at=self.clock()
            )

    # --- calls (supervisors) ---------------------------------------------------------

    def list_calls(self, filters: CallFilters | None = None) -> list[CallPublic]:
        with session_scope(self.engine) as session:
            return read_models.list_calls(session=session, filters=filters or CallFilters())

    def get_call(self, call_sid: str) -> CallDetail | None:
        with session_scope(self.engine) as session:
            return read_models.call_detail(session=session, call_sid=call_sid)

    # --- the shift hand-over (dispatch/handover.py) ------------------------------------

    def handover_window(
        self,
        since: str | None = None,
        until: str | None = None,
        *,
        department_id: int | None = None,
    ) -> ShiftWindow:
        """The window since/until (ISO; naive: the city's time) name; by default the last
        one handed over in the department (None: the duty supervisors'). Raises BadWindow
        (a ValueError) saying what is wrong."""
        with session_scope(self.engine) as session:
            shifts = home_shifts(roster_shifts(session), department_id)
        return requested_window(
            shifts, since=since, until=until, now=self.clock(), timezone=self.settings.timezone
        )

    def handover(
        self, window: ShiftWindow, departments: Collection[int] | None = None
    ) -> HandoverSummary:
        """The hand-over of the window for these department ids (None: the whole line)."""
        with session_scope(self.engine) as session:
            return compile_handover(
                session, window, self.settings.timezone, departments=departments
            )

    def send_handovers(self, now: datetime | None = None) -> list[datetime]:
        """Send, through the outbox, the hand-over of each shift change of the last hour
        not sent yet (once, whichever process gets there first); the changes sent."""
        sent = send_due_handovers(
            self.engine,
            now=now or self.clock(),
            timezone=self.settings.timezone,
            base_url=self.settings.public_url,
        )
        if sent:
            self._wake_outbox()
        return sent

    # --- background steps (DispatchWorkers runs them; tests call them directly) -------

    def run_escalations(self, now: datetime | None = None) -> int:
        return escalation.run_due(
            self.engine,
            now or self.clock(),
            self.settings.escalation_minutes,
            base_url=self.settings.public_url,
            locale=self.settings.locale,
        )

    def deliver_outbox(self, now: datetime | None = None) -> DeliveryReport:
        policy = SmsPolicy(
            self.settings.sms_per_number_per_hour, self.settings.sms_per_line_per_hour
        )
        return deliver_due(
            self.engine, self.sms, now or self.clock(), policy=policy, email=self.email
        )

    def deliver_webhooks(self, now: datetime | None = None) -> WebhookReport:
        """Send the due webhook messages (dispatch/webhooks/delivery.py)."""
        return deliver_webhooks(self.engine, now or self.clock())

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
