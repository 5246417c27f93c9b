"""What voice/ needs from the dialogue: one call's turns in, the bot's replies out."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, Field


class BotReply(BaseModel):
    """One reply from the dialogue: text to speak and/or call control.

    `control` carries what the voice side must do after speaking, e.g.
    {"end_call": true}, {"transfer_to": "+1555..."}, {"expect": "digits"}.
    """

    text: str | None = None
    control: dict[str, Any] = Field(default_factory=dict)


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

    async def ready(self) -> bool: ...
