"""One call of a custom action: what Rasa sent, and what the action answers.

Rasa's action-server protocol, by hand: the request carries the tracker (slots,
latest message, events, active loop) and the domain; the answer is a list of
events and a list of responses. Prompts are the locale's domain responses, so
an action's wording lives in nlu/locales/<locale>/, never here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from dispatch.contract import Dispatch
from nlu.contract import ReplyControl

log = logging.getLogger("dutyline.nlu.actions")


class _Blank(dict[str, Any]):
    """Missing prompt variables read as empty, never as a KeyError mid-call."""

    def __missing__(self, key: str) -> str:
        return ""


def spoken_digits(number: str) -> str:
    """'2611230042' -> '2, 6, 1, 1, 2, 3, 0, 0, 4, 2': a synthesizer reads it digit by digit."""
    return ", ".join(ch for ch in number if ch.isalnum())


@dataclass
class Turn:
    sender_id: str
    tracker: dict[str, Any]
    domain: dict[str, Any]
    dispatch: Dispatch
    emergency_number: str
    events: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)

    # --- reading the tracker ------------------------------------------------------

    def slot(self, name: str) -> Any:
        return (self.tracker.get("slots") or {}).get(name)

    @property
    def latest(self) -> dict[str, Any]:
        return self.tracker.get("latest_message") or {}

    @property
    def text(self) -> str:
        return self.latest.get("text") or ""

    @property
    def intent(self) -> str | None:
        return (self.latest.get("intent") or {}).get("name")

    def entity(self, name: str) -> str | None:
        for entity in self.latest.get("entities") or []:
            if entity.get("entity") == name and entity.get("value"):
                return str(entity["value"])
        return None

    @property
    def active_loop(self) -> str | None:
        return (self.tracker.get("active_loop") or {}).get("name")

    @property
    def metadata(self) -> dict[str, Any]:
        """The call's metadata, merged over its messages (the first one carries the caller)."""
        merged: dict[str, Any] = {}
        for event in self.tracker.get("events") or []:
            if event.get("event") == "user":
                merged.update(event.get("metadata") or {})
        return merged

    @property
    def call_sid(self) -> str:
        return str(self.metadata.get("call_sid") or self.sender_id)

    def caller_words(self) -> list[str]:
        """Everything the caller said on this call, in order (keypad and events left out)."""
        return [
            e["text"]
            for e in self.tracker.get("events") or []
            if e.get("event") == "user" and e.get("text") and not e["text"].startswith("/")
        ]

    def transcript(self) -> str:
        return "\n".join(f"Caller: {text}" for text in self.caller_words())

    def last_bot_text(self) -> str | None:
        for event in reversed(self.tracker.get("events") or []):
            if event.get("event") == "bot" and event.get("text"):
                return event["text"]
        return None

    def times_asked(self, text: str) -> int:
        """How many of the caller's latest messages in a row answered exactly this question
        (the bot's last words before each): a question is never asked a third time."""
        asked_before: list[str | None] = []
        last: str | None = None
        for event in self.tracker.get("events") or []:
            if event.get("event") == "bot" and event.get("text"):
                last = event["text"]
            elif event.get("event") == "user":
                asked_before.append(last)
                last = None
        count = 0
        for question in reversed(asked_before):
            if question != text:
                break
            count += 1
        return count

    def slots_to_validate(self) -> dict[str, Any]:
        """Slots set since the last action or message: what a form asks us to validate."""
        found: dict[str, Any] = {}
        for event in reversed(self.tracker.get("events") or []):
            if event.get("event") != "slot":
                break
            found.setdefault(event["name"], event.get("value"))
        return found

    # --- kinds, from the domain ---------------------------------------------------

    def kinds(self) -> list[str]:
        return [
            name.removeprefix("utter_kind_")
            for name in (self.domain.get("responses") or {})
            if name.startswith("utter_kind_")
        ]

    def kind_slots(self, kind: str) -> list[str]:
        """The kind's own questions, in order (location is asked first, separately)."""
        form = (self.domain.get("forms") or {}).get(f"{kind}_form") or {}
        return [s for s in form.get("required_slots") or [] if s != "location"]

    # --- answering ----------------------------------------------------------------

    def prompt(self, name: str, **values: Any) -> tuple[str, ReplyControl]:
        """The locale's wording of a prompt, filled from slots and values; plus its control."""
        variants = (self.domain.get("responses") or {}).get(name)
        if not variants:
            raise KeyError(f"the domain has no response {name!r}")
        response = variants[0]
        filled = _Blank({k: v for k, v in (self.tracker.get("slots") or {}).items() if v})
        filled.update(values)
        text = (response.get("text") or "").format_map(filled)
        return text, ReplyControl.model_validate(response.get("custom") or {})

    def say(self, name: str, control: ReplyControl | None = None, **values: Any) -> None:
        text, custom = self.prompt(name, **values)
        if control:
            custom = custom.merged(_wire(control))
        reply: dict[str, Any] = {"text": text}
        if custom:
            reply["custom"] = _wire(custom)
        self.responses.append(reply)

    def control(self, control: ReplyControl) -> None:
        """Call control without words (e.g. the ticket number of a ticket just filed)."""
        self.responses.append({"custom": _wire(control)})

    def set(self, slot: str, value: Any) -> None:
        self.events.append({"event": "slot", "name": slot, "value": value, "timestamp": None})

    def followup(self, action: str) -> None:
        self.events.append({"event": "followup", "name": action, "timestamp": None})

    def end_form(self) -> None:
        self.events.append({"event": "active_loop", "name": None, "timestamp": None})
        self.set("requested_slot", None)

    def answer(self) -> dict[str, Any]:
        return {"events": self.events, "responses": self.responses}


def _wire(control: ReplyControl) -> dict[str, Any]:
    """Control as Rasa passes it on in a response's `custom` payload: only what is set."""
    return control.model_dump(mode="json", exclude_defaults=True)
