"""The one narrow interface through which voice/ and nlu/ reach dispatch/.

voice/ records calls and turns; the dialogue's actions file complaints and
look tickets up. Neither touches tables: they hold a `Dispatch` and call it.
dispatch/service.py implements it on the database.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

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
    # The line was full (DUTYLINE_MAX_CALLS): the caller left a message, or was told the
    # emergency number and the alternatives and the call ended.
    "voicemail_at_capacity",
    "refused_at_capacity",
]
AT_CAPACITY_OUTCOMES = ("voicemail_at_capacity", "refused_at_capacity")


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


class PlaceKind(StrEnum):
    """How a caller named a place."""

    ADDRESS = "address"  # house number + street: an address point or interpolated
    INTERSECTION = "intersection"  # "corner of Pearl and State"
    BLOCK = "block"  # "the 300 block of Lark Street"
    LANDMARK = "landmark"  # "City Hall", "the high school on Madison Avenue"
    NEAR = "near"  # "Broadway near Union Station": the point of the street nearest it
    STREET = "street"  # a street without a number: somewhere on it


class PlaceCandidate(BaseModel):
    """One place of the city's own data that what the caller said may mean."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(description='As read back to the caller: "42 Linden Street"')
    kind: PlaceKind
    street: str | None = Field(None, description="The city's canonical street name, if any")
    number: str | None = Field(None, description="House number, when one was said")
    lat: float
    long: float
    confidence: float = Field(ge=0.0, le=1.0, description="How sure the match is, 0..1")


class PlaceMatch(BaseModel):
    """What the city's place data makes of a caller's words, best candidate first."""

    said: str
    candidates: list[PlaceCandidate] = Field(default_factory=list)
    # Why nothing matched, for the dialogue to choose its next question:
    # "empty", "vague" ("here", "my street"), "no_street", "no_number" (number not on street).
    problem: str | None = None

    @property
    def best(self) -> PlaceCandidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def confident(self) -> bool:
        """One clear winner: read it back as the city names it."""
        best = self.best
        if best is None or best.confidence < CONFIDENT_PLACE:
            return False
        return len(self.candidates) < 2 or (
            self.candidates[1].confidence < best.confidence - AMBIGUOUS_MARGIN
        )

    @property
    def ambiguous(self) -> bool:
        """Two close candidates: ask the caller which one."""
        return (
            len(self.candidates) >= 2
            and self.candidates[0].confidence >= POSSIBLE_PLACE
            and self.candidates[1].confidence >= self.candidates[0].confidence - AMBIGUOUS_MARGIN
        )


CONFIDENT_PLACE = 0.8
POSSIBLE_PLACE = 0.5
AMBIGUOUS_MARGIN = 0.1


class PlaceVocabulary(BaseModel):
    """The city's names, for recognition that expects a place."""

    streets: list[str] = Field(default_factory=list)
    landmarks: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        """No streets and no landmarks: the city's places were never imported."""
        return not (self.streets or self.landmarks)


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
    # The city's place the caller confirmed (phone), when one matched; None otherwise.
    place: PlaceCandidate | None = None
    # False: the location is the caller's own words, no place of the city's data matched.
    place_verified: bool | None = None


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

    def note_call_ended(self, call_sid: str, status: str) -> bool:
        """The telephony says a call ended on a replica that does not hold its stream:
        True when another replica's stream still holds it (it closes the record)."""
        ...

    def file_complaint(self, report: ComplaintReport) -> FiledTicket: ...

    def ticket_for_call(self, call_sid: str) -> str | None:
        """The number of the ticket already filed on this call, if any."""
        ...

    def find_ticket(self, number: str, locale: str | None = None) -> TicketView | None:
        """The ticket as a caller hears it: status and department in `locale` (the caller's
        line's language; None: the city's data as written)."""
        ...

    def on_duty_phone(self, kind: str | None) -> str | None:
        """The phone of the officer on duty now for this kind (or the fallback)."""
        ...

    def find_place(self, said: str, city: str | None = None) -> PlaceMatch:
        """The city's places that the caller's words may mean, best first. `city`: the
        call's line's city (dispatch/lines.py); None: the deployment's first line's."""
        ...

    def place_vocabulary(self, city: str | None = None) -> PlaceVocabulary:
        """The city's street, landmark and alias names (`city` as for find_place)."""
        ...

    def add_caller_note(self, call_sid: str, text: str) -> str | None:
        """What the caller added after filing, as a note on the call's ticket; its number."""
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
