"""E-mail to staff: a real SMTP server (aiosmtpd, on a free port) receives the notices of a
filed ticket and of an escalation; a mail server that is down or refuses is retried with
backoff and never touches the ticket; with no server configured the rows say why nothing
was sent. Every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr, ValidationError
from sqlmodel import Session, select

from dispatch.contract import ComplaintReport
from dispatch.email_sender import NOT_CONFIGURED, EmailNotSet, SmtpEmailSender, make_email_sender
from dispatch.filing import file_bare_triage
from dispatch.models import Notification, Staff
from dispatch.outbox import MAX_ATTEMPTS, DeliveryReport, enqueue_email
from dispatch.public import NotificationPublic
from dispatch.roster import load_roster
from dispatch.service import DispatchService
from tests.conftest import free_port
from tests.dispatch.conftest import city_time

MONDAY_10 = city_time(2026, 11, 23, 10, 0).astimezone(UTC)  # Okafor on shift (parking)
FROM = "dutyline@riverton.example.org"
BASE = "https://dutyline.riverton.example.org"
OKAFOR, GARCIA = "chidi.okafor@example.org", "ana.garcia@example.org"
WALKER = "tom.walker@example.org"
OKAFOR_PHONE, LINDQVIST_PHONE, CALLER = "+15185550111", "+15185550112", "+15185550987"


class Mailbox:
    """The SMTP server's handler: keeps what it accepts; `reply` makes it refuse instead."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.reply: str | None = None
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        message = BytesParser(policy=default).parsebytes(envelope.content)
        with self._lock:
            self.received.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [message for rcpts, message in self.received if address in rcpts]


class SmtpServer:
    """aiosmtpd on a fixed free port, stopped and started again by the test."""

    def __init__(self, **options: Any) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> None:
        host, port = "127.0.0.1", self.port
        self.controller = Controller(self.mailbox, hostname=host, port=port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailing(engine, settings_for, sms, clock, smtp: SmtpServer) -> DispatchService:
    """The service as the app builds it with a mail server in its settings."""
    settings = settings_for(
        public_url=BASE,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",  # the test server speaks plain SMTP; TLS is tested below
        smtp_from=FROM,
        smtp_timeout_seconds=5,
    )
    clock.now = MONDAY_10
    return DispatchService(
        engine, settings, sms=sms, clock=clock, email=make_email_sender(settings)
    )


def parking() -> ComplaintReport:
    return ComplaintReport(
        kind="illegal_parking",
        location="Lark Street & Madison Avenue",
        details={"vehicle": "white van", "blocking": "a driveway"},
        caller_number=CALLER,
    )


def subject(message: EmailMessage) -> str:
    # A long Subject is folded onto its own continuation line; Python's parser keeps the
    # fold's leading space, which mail clients drop.
    return str(message["Subject"]).strip()


def text(message: EmailMessage) -> str:
    return message.get_content().replace("\r\n", "\n")  # as sent over SMTP: CRLF


def emails(service: DispatchService, number: str) -> list[NotificationPublic]:
    ticket = service.get_ticket(number)
    assert ticket is not None
    return [n for n in ticket.notifications if n.channel == "email"]


# --- delivered ----------------------------------------------------------------------------------


def test_a_filed_ticket_is_mailed_to_its_officer(mailing, sms, smtp) -> None:
    filed = mailing.file_complaint(parking())
    assert filed.officer_name == "Chidi Okafor"

    report = mailing.deliver_outbox()
    assert (report.sent, report.retrying) == (2, 0)  # the officer's SMS and e-mail
    ticket = mailing.get_ticket(filed.number)
    where = ticket.place_name or ticket.location_text
    [message] = smtp.mailbox.to(OKAFOR)
    assert message["From"] == FROM and message["To"] == OKAFOR
    assert subject(message) == f"Ticket {filed.number}: Illegal parking at {where}"
    body = text(message)
    assert "Vehicle: white van" in body and "Blocking: a driveway" in body
    assert f"{BASE}/tickets/{filed.number}" in body
    assert CALLER not in body  # staff mail carries no caller number
    assert len(smtp.mailbox.received) == 1  # nobody else is mailed
    [row] = emails(mailing, filed.number)
    assert (row.status, row.to_address, row.purpose) == ("sent", OKAFOR, "officer")
    assert row.to_number is None
    assert len(sms.to(OKAFOR_PHONE)) == 1  # the text goes as before
    assert mailing.deliver_outbox().sent == 0  # nothing is sent twice


def test_an_escalation_is_mailed_to_staff_with_an_address(mailing, sms, clock, smtp) -> None:
    filed = mailing.file_complaint(parking())
    clock.advance(minutes=15)
    assert mailing.run_escalations() == 1  # Eva Lindqvist: no address, the SMS only
    clock.advance(minutes=15)
    assert mailing.run_escalations() == 1  # Ana Garcia, the duty supervisor
    mailing.deliver_outbox()

    ticket = mailing.get_ticket(filed.number)
    where = ticket.place_name or ticket.location_text
    [message] = smtp.mailbox.to(GARCIA)
    assert subject(message) == f"ESCALATED: Ticket {filed.number}: Illegal parking at {where}"
    body = text(message)
    assert "Nobody acknowledged it in time" in body and "white van" in body
    assert f"{BASE}/tickets/{filed.number}" in body
    assert sorted(rcpts[0] for rcpts, _ in smtp.mailbox.received) == [GARCIA, OKAFOR]
    assert sms.to(LINDQVIST_PHONE)[0].startswith("ESCALATED")
    assert sorted(n.purpose for n in emails(mailing, filed.number)) == ["escalation", "officer"]


def test_a_triage_ticket_filed_as_a_last_resort_mails_the_duty_supervisor(
    mailing, engine, clock, smtp
) -> None:
    clock.now = city_time(2026, 11, 21, 3, 0).astimezone(UTC)  # Saturday night: Tom Walker
    filed = file_bare_triage(
        engine=engine,
        report=ComplaintReport(kind=None, location="Pearl Street"),
        at=clock.now,
        reason="filing failed: KeyError",
        timezone="America/New_York",
        base_url=BASE,
    )
    mailing.deliver_outbox()
    [message] = smtp.mailbox.to(WALKER)
    assert subject(message) == f"TRIAGE ticket {filed.number}: a report could not be routed"
    assert f"{BASE}/tickets/{filed.number}" in text(message)


# --- the mail server down or refusing ------------------------------------------------------------


def test_a_mail_server_down_or_refusing_is_retried_and_the_ticket_is_unaffected(
    mailing, clock, smtp
) -> None:
    smtp.stop()  # nothing listens on the port
    filed = mailing.file_complaint(parking())
    report = mailing.deliver_outbox()
    assert (report.sent, report.retrying) == (1, 1)  # the text went; the e-mail waits
    [row] = emails(mailing, filed.number)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "ConnectionRefused" in row.last_error
    ticket = mailing.get_ticket(filed.number)
    assert ticket.status == "new" and ticket.assigned_name == "Chidi Okafor"
    assert not any(e.action.startswith("notification") for e in ticket.events)

    # Back, but refusing for now: a temporary 4xx, then a 5xx; each retried after its backoff.
    smtp.start()
    smtp.mailbox.reply = "451 4.3.0 Mail server busy, try again later"
    clock.advance(seconds=29)
    assert mailing.deliver_outbox().retrying == 0  # not due before the backoff
    clock.advance(seconds=1)
    assert mailing.deliver_outbox().retrying == 1
    [row] = emails(mailing, filed.number)
    assert row.attempts == 2 and "451" in row.last_error
    smtp.mailbox.reply = "554 5.7.1 Relay access denied"
    clock.advance(seconds=60)
    assert mailing.deliver_outbox().retrying == 1
    [row] = emails(mailing, filed.number)
    assert row.attempts == 3 and "554" in row.last_error
    assert smtp.mailbox.received == []

    smtp.mailbox.reply = None  # accepting again
    clock.advance(seconds=120)
    assert mailing.deliver_outbox().sent == 1
    [row] = emails(mailing, filed.number)
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, None)
    assert len(smtp.mailbox.to(OKAFOR)) == 1
    assert mailing.get_ticket(filed.number).status == "new"


def test_gives_up_on_an_email_after_the_last_attempt(mailing, clock, smtp) -> None:
    smtp.stop()
    filed = mailing.file_complaint(parking())
    for _ in range(MAX_ATTEMPTS):
        mailing.deliver_outbox()
        clock.advance(hours=2)
    ticket = mailing.get_ticket(filed.number)
    [row] = emails(mailing, filed.number)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    last = ticket.events[-1]
    assert last.action == "notification_failed"
    assert f"officer e-mail to c•••@example.org gave up after {MAX_ATTEMPTS} attempts" in (
        last.detail or ""
    )
    assert OKAFOR not in (last.detail or "")  # the address masked in the audit trail
    assert ticket.status == "new"  # the ticket itself is untouched
    smtp.start()
    clock.advance(hours=2)
    assert mailing.deliver_outbox() == DeliveryReport()  # failed is final


# --- no mail server configured -------------------------------------------------------------------


def test_without_a_mail_server_the_email_is_recorded_with_why(service, clock, sms) -> None:
    clock.now = MONDAY_10
    assert isinstance(service.email, EmailNotSet)  # the service's default
    filed = service.file_complaint(parking())
    report = service.deliver_outbox()
    assert (report.sent, report.not_configured, report.retrying, report.failed) == (1, 1, 0, 0)
    [row] = emails(service, filed.number)
    assert (row.status, row.last_error, row.to_address) == ("suppressed", NOT_CONFIGURED, OKAFOR)
    assert "DUTYLINE_SMTP_HOST" in NOT_CONFIGURED
    ticket = service.get_ticket(filed.number)
    assert [e.action for e in ticket.events] == ["created"]  # not a fact about the ticket
    assert len(sms.to(OKAFOR_PHONE)) == 1
    clock.advance(hours=2)
    assert service.deliver_outbox() == DeliveryReport()  # never tried again


def test_smtp_settings(settings_for) -> None:
    assert isinstance(make_email_sender(settings_for()), EmailNotSet)
    with pytest.raises(ValidationError, match="DUTYLINE_SMTP_FROM"):
        settings_for(smtp_host="mail.riverton.example.org")
    ports = {
        security: settings_for(
            smtp_host="mail.example.org", smtp_from=FROM, smtp_security=security
        ).smtp_port_or_default
        for security in ("starttls", "ssl", "none")
    }
    assert ports == {"starttls": 587, "ssl": 465, "none": 25}
    sender = make_email_sender(
        settings_for(smtp_host="mail.example.org", smtp_from=FROM, smtp_port=2525)
    )
    assert isinstance(sender, SmtpEmailSender)
    assert (sender.host, sender.port, sender.security) == ("mail.example.org", 2525, "starttls")


def test_email_is_for_staff_only(engine, clock) -> None:
    with Session(engine) as session, pytest.raises(ValueError, match="staff only"):
        enqueue_email(
            session, to="someone@example.org", subject="x", body="x",
            purpose="caller_receipt", at=clock.now,
        )  # fmt: skip


# --- staff addresses and the retention purge ----------------------------------------------------


def test_the_roster_gives_staff_their_addresses(engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        addresses = dict(session.exec(select(Staff.username, Staff.email)).all())
    assert addresses["pk.okafor"] == OKAFOR and addresses["sup.garcia"] == GARCIA
    assert addresses["pk.lindqvist"] is None
    (tmp_path / "roster.yaml").write_text(
        "staff:\n  - {username: a.b, role: officer, department: parking, email: not-an-address}\n"
    )
    with pytest.raises(ValueError, match=r"a\.b: 'not-an-address' is not an e-mail address"):
        load_roster(tmp_path)


def test_the_retention_purge_blanks_old_emails(mailing, engine, clock, smtp) -> None:
    mailing.file_complaint(parking())
    mailing.deliver_outbox()
    report = mailing.purge_expired(clock.now + timedelta(days=mailing.settings.retention_days + 1))
    assert report.notifications == 2  # the officer's text and e-mail
    with Session(engine) as session:
        [row] = session.exec(select(Notification).where(Notification.channel == "email")).all()
    assert (row.to_address, row.subject, row.body, row.to_number) == ("", "", "", None)
    assert row.status == "sent"  # what happened is kept, not what it said


# --- TLS and sign-in (the sender alone, against a TLS-speaking server) ---------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), trusted by the test's client."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _accept_night_desk(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
    ok = isinstance(data, LoginPassword) and data == (b"night-desk", b"s3cret-relay")
    return AuthResult(success=ok, handled=False)  # a failure answers 535


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_the_sender_speaks_tls_and_signs_in(certificate, security: str) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    tls_options: dict[str, Any] = (
        {"tls_context": server_tls, "require_starttls": True, "auth_required": True}
        if security == "starttls"
        # Implicit TLS from the first byte: aiosmtpd offers AUTH there only when told TLS
        # is not required (it counts STARTTLS alone as TLS), and then may not require it.
        else {"ssl_context": server_tls, "auth_require_tls": False}
    )
    server = SmtpServer(authenticator=_accept_night_desk, **tls_options)
    server.start()
    try:

        def sender(password: str) -> SmtpEmailSender:
            return SmtpEmailSender(
                host="127.0.0.1",
                port=server.port,
                from_address=FROM,
                security=security,  # type: ignore[arg-type]
                username="night-desk",
                password=SecretStr(password),
                timeout=5,
                tls=ssl.create_default_context(cafile=str(cert)),
            )

        message_id = sender("s3cret-relay").send_email(GARCIA, "Ticket 2611230001", "Hello.\n")
        [message] = server.mailbox.to(GARCIA)
        assert message["Message-ID"] == message_id and subject(message) == "Ticket 2611230001"
        assert text(message) == "Hello.\n"
        with pytest.raises(Exception, match="535"):  # a wrong password: the outbox retries
            sender("wrong").send_email(GARCIA, "x", "x")
        assert len(server.mailbox.received) == 1
    finally:
        server.stop()


def test_the_app_wires_the_mail_server_of_its_settings(settings_for) -> None:
    from dutyline.app import build_services

    services = build_services(settings_for(smtp_host="127.0.0.1", smtp_from=FROM))
    assert isinstance(services.dispatch.email, SmtpEmailSender)
    assert isinstance(build_services(settings_for()).dispatch.email, EmailNotSet)
