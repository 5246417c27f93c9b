"""The one narrow interface through which voice/ and nlu/ reach dispatch/.

voice/ records calls and turns; the dialogue's actions file complaints and
look tickets up. Neither touches tables: they hold a `Dispatch` and call it.
dispatch/service.py implements it on the database.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field

CallOutcome = Literal[
    "in_progress",
    "ticket_filed",
    "status_check",
    "transferred",
    "voicemail",
    "emergency_referred",
    "abandoned",  # caller hung up before a ticket was filed
    "no_input",
    "failed",  # a component failed; a triage ticket keeps what was said
    "out_of_scope",
]


class CallStart(BaseModel):
    call_sid: str
    caller_number: str | None = None
    called_number: str | None = None
    started_at: datetime
    locale: str = "en"


class TurnRecord(BaseModel):
    call_sid: str
    index: int
    speaker: Literal["caller", "bot"]
    text: str
    via: Literal["speech", "keypad", "system"] = "speech"
    started_ms: int | None = Field(None, description="Offset from the start of the call")
    ended_ms: int | None = None
    asr_confidence: float | None = None
    intent: str | None = None
    intent_confidence: float | None = None
    latency_ms: int | None = Field(
        None, description="Bot turns: end of caller speech to first bot audio sent"
    )
    stage_ms: dict[str, int] = Field(
        default_factory=dict,
        description="Bot turns: where the latency went (end_of_turn, recognition, dialogue, "
        "synthesis), in milliseconds",
    )


class CallEnd(BaseModel):
    call_sid: str
    ended_at: datetime
    outcome: CallOutcome
    recording_path: str | None = None
    telephony_status: str | None = None  # e.g. Twilio's CallStatus


class ComplaintReport(BaseModel):
    """What a caller (or an Open311 client) reported."""

    kind: str | None = Field(None, description="Complaint kind code from data/; None: triage")
    location: str | None = Field(None, description="The place as the caller said it")
    details: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    caller_number: str | None = None
    call_sid: str | None = None
    channel: Literal["phone", "open311", "api"] = "phone"
    transcript: str | None = Field(None, description="What the caller said, kept for triage")
    needs_triage: bool = False
    triage_reason: str | None = None
    lat: float | None = None
    long: float | None = None


class FiledTicket(BaseModel):
    number: str
    kind: str | None
    kind_name: str
    department_code: str
    department_name: str
    status: str
    duplicate_of: str | None = Field(
        None, description="The open ticket this report was added to, if it was a duplicate"
    )
    officer_name: str | None = None


class TicketView(BaseModel):
    number: str
    kind: str | None
    kind_name: str
    status: str
    status_label: str
    department_name: str
    location: str | None
    created_at: datetime
    updated_at: datetime


class FilingDeferred(RuntimeError):
    """The database is unavailable: the report is kept on disk and will be filed when it is
    back, but there is no ticket number to give the caller yet."""


class Dispatch(Protocol):
    def open_call(self, call: CallStart) -> None: ...

    def record_turn(self, turn: TurnRecord) -> None: ...

    def close_call(self, end: CallEnd) -> None: ...

    def file_complaint(self, report: ComplaintReport) -> FiledTicket: ...

    def ticket_for_call(self, call_sid: str) -> str | None:
        """The number of the ticket already filed on this call, if any."""
        ...

    def find_ticket(self, number: str) -> TicketView | None: ...

    def on_duty_phone(self, kind: str | None) -> str | None:
        """The phone of the officer on duty now for this kind (or the fallback)."""
        ...


class InboundSms(BaseModel):
    """A text message to the line (Twilio's signed webhook): STOP, START, HELP..."""

    from_number: str
    to_number: str | None = None
    body: str = ""
    opt_out_type: str | None = Field(None, description="Twilio's OptOutType, when it sent one")


class SmsSender(Protocol):
    """Sends a text message; the composition root passes in Twilio's or the local backend."""

    def send_sms(self, to: str, body: str) -> str:
        """Send; return the provider's message id. Raises on failure (the outbox retries)."""
        ...


def mask_phone(number: str | None) -> str:
    """'+15185550142' -> '+1518•••••42': enough to tell calls apart in a log, no more."""
    if not number:
        return "unknown"
    digits = re.sub(r"\D", "", number)
    if len(digits) <= 4:
        return "•" * len(digits)
    prefix = "+" if number.strip().startswith("+") else ""
    keep_front = 4 if len(digits) >= 10 else 1
    hidden = len(digits) - keep_front - 2
    return f"{prefix}{digits[:keep_front]}{'•' * hidden}{digits[-2:]}"
