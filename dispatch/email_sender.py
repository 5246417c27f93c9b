"""E-mail to staff over SMTP: the second channel of the outbox, beside SMS.

`SmtpEmailSender` speaks to the city's mail server with the standard library
(`smtplib`, `email.message.EmailMessage`). With no DUTYLINE_SMTP_HOST the app uses
`EmailNotSet`, whose every send raises `EmailNotConfigured`: the outbox records
the row as not sent, with that reason, and never tries it again.
Sends block (a network round trip); the outbox worker calls them from its thread.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal, Protocol

from pydantic import SecretStr

from dispatch.settings import DispatchSettings

NOT_CONFIGURED = "e-mail is not configured (DUTYLINE_SMTP_HOST is not set)"


class EmailSender(Protocol):
    """Sends one plain-text e-mail; the composition root passes in SMTP or `EmailNotSet`."""

    def send_email(self, to: str, subject: str, body: str) -> str:
        """Send; return the message id. Raises on failure (the outbox retries), or
        `EmailNotConfigured` when there is nothing to send through (recorded, not retried)."""
        ...


class EmailNotConfigured(RuntimeError):
    """No mail server is set: retrying will not help."""


class EmailNotSet:
    """The stand-in when no SMTP server is configured."""

    name = "not configured"

    def send_email(self, to: str, subject: str, body: str) -> str:
        raise EmailNotConfigured(NOT_CONFIGURED)


class SmtpEmailSender:
    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        security: Literal["starttls", "ssl", "none"] = "starttls",
        username: str | None = None,
        password: SecretStr | None = None,
        timeout: float = 10.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.from_address = host, port, from_address
        self.security = security
        self.username, self.password = username, password
        self.timeout = timeout
        self.tls = tls or ssl.create_default_context()

    def message(self, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.from_address.rpartition("@")[2] or None)
        # Staff alerts are machine mail: ask autoresponders not to answer them.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        return message

    def send_email(self, to: str, subject: str, body: str) -> str:
        message = self.message(to, subject, body)
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=self.tls)
            if self.username:
                password = self.password.get_secret_value() if self.password else ""
                smtp.login(self.username, password)
            # One recipient: a refusal raises SMTPRecipientsRefused, which the outbox retries.
            smtp.send_message(message)
        return str(message["Message-ID"])


def make_email_sender(settings: DispatchSettings) -> EmailSender:
    if not settings.smtp_host:
        return EmailNotSet()
    assert settings.smtp_from  # the settings refuse a host without a sender
    return SmtpEmailSender(
        host=settings.smtp_host,
        port=settings.smtp_port_or_default,
        from_address=settings.smtp_from,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        timeout=settings.smtp_timeout_seconds,
    )


def mask_address(address: str | None) -> str:
    """'ana.garcia@example.org' -> 'a•••@example.org': enough to tell recipients apart."""
    if not address:
        return "unknown"
    local, at, domain = address.partition("@")
    return f"{local[:1]}•••{at}{domain}" if at else f"{local[:1]}•••"
