"""What voice/ needs from the dialogue: one call's turns in, the bot's replies out."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict


class Outcome(StrEnum):
    """What the dialogue says the call came to; the values of dispatch's CallOutcome that a
    dialogue decides (abandoned, failed and in progress are the voice side's to know)."""

    TICKET_FILED = "ticket_filed"
    STATUS_CHECK = "status_check"
    TRANSFERRED = "transferred"
    VOICEMAIL = "voicemail"
    EMERGENCY_REFERRED = "emergency_referred"
    NO_INPUT = "no_input"
    OUT_OF_SCOPE = "out_of_scope"
    # Not the dialogue's: voice/capacity.py answers in its place when the line is full.
    VOICEMAIL_AT_CAPACITY = "voicemail_at_capacity"


class Expect(StrEnum):
    """The kind of answer the bot's question expects next."""

    DIGITS = "digits"  # collect keypad digits until '#' or a pause
    YES_NO = "yes_no"
    READ_BACK = "read_back"  # "Is that right?": yes or no, and a no goes on to what is wrong
    MORE = "more"  # "anything else?": a no closes the call, a yes brings another report
    PLACE = "place"  # a street, address, corner or landmark of the city
    COMPLAINT = "complaint"  # the opening: what the caller is reporting
    NUMBER = "number"  # a count or a number on a pole
    VEHICLE = "vehicle"  # make, colour, plate
    ANIMAL = "animal"  # an animal kind
    SPELLING = "spelling"  # the caller spells a street name letter by letter


class ReplyControl(BaseModel):
    """What the voice side must do after speaking a reply (Rasa's `custom` payload).

    An unknown key or value is refused here, not silently ignored on a live call.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    end_call: bool = False
    transfer_to: str | None = None  # a phone number; the caller's number goes with it
    ticket_number: str | None = None  # a ticket was filed on this call
    outcome: Outcome | None = None
    expect: Expect | None = None

    @property
    def ends_call(self) -> bool:
        return self.end_call or bool(self.transfer_to)

    def merged(self, custom: dict[str, Any]) -> ReplyControl:
        return ReplyControl.model_validate({**self.model_dump(exclude_defaults=True), **custom})

    def __bool__(self) -> bool:
        return bool(self.model_dump(exclude_defaults=True))


class BotReply(BaseModel):
    """One reply from the dialogue: text to speak and/or call control."""

    text: str | None = None
    control: ReplyControl = ReplyControl()


class Understanding(BaseModel):
    """How the dialogue read one caller message: its intent and the model's confidence."""

    intent: str | None = None
    confidence: float | None = None


class DialogueUnavailable(RuntimeError):
    """The dialogue server cannot be reached or failed; the caller must not be stranded."""


class Dialogue(Protocol):
    async def start(self, call_sid: str, metadata: dict[str, Any]) -> list[BotReply]:
        """The call was answered: greet the caller."""
        ...

    async def say(
        self, call_sid: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotReply]:
        """One caller turn (speech transcript) in, the bot's replies out."""
        ...

    async def keypad(self, call_sid: str, digits: str) -> list[BotReply]:
        """Keypad digits the caller pressed."""
        ...

    async def event(self, call_sid: str, name: str) -> list[BotReply]:
        """A call event the dialogue reacts to: "no_input", "hangup"."""
        ...

    def latest_message(self, call_sid: str) -> str | None:
        """The id of the call's latest caller message (said or keyed), to ask `understood`
        about after the reply: read it right after `say` or `keypad` returned."""
        ...

    async def understood(self, call_sid: str, message_id: str) -> Understanding:
        """How the dialogue read that message. Asked after the reply, never before it."""
        ...

    async def ready(self) -> bool: ...
