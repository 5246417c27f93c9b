"""The app's client for the Rasa server: one call's turns in, the bot's replies out.

Rasa's REST channel answers a list of messages, each with `text` or `custom`
(a response with both arrives as two messages); a `custom` payload is call
control (nlu.contract.ReplyControl) for the reply it follows. Anything that stops
a turn from getting an answer (refused connection, timeout, a 5xx, a body that is
not the list we expect, control we do not know) is DialogueUnavailable, so voice/
can keep the caller's words.

Before a sentence reaches the intent model it passes the emergency safety net
(nlu/emergency.py): words of danger go to Rasa as the emergency intent itself.

The REST channel does not say how it read a message. Each caller message carries a
`message_id` in its metadata; `understood` finds that message in the tracker afterwards,
off the reply's path (a tracker read takes a few milliseconds; a second parse would cost
the NLU model's time on the same cores as the reply).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import ValidationError

from nlu.contract import BotReply, DialogueUnavailable, ReplyControl, Understanding
from nlu.emergency import INTENT as EMERGENCY_INTENT
from nlu.emergency import net_for
from nlu.rasa_servers import RasaServers

log = logging.getLogger("dutyline.nlu.client")
# What is remembered per call (the emergency question was asked, the latest caller
# message), for this many calls.
_CALLS_KEPT = 2000


class RasaDialogue:
    def __init__(
        self,
        url: str | Sequence[str],
        *,
        timeout: float,
        locale: str = "en",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`url`: one Rasa server, or several (comma-separated) sharing a tracker store."""
        self._servers = RasaServers(url, timeout=timeout, transport=transport)
        self.url = ", ".join(self._servers.urls)
        self.locale = locale
        self._asked_emergency: OrderedDict[str, str] = OrderedDict()  # call sid -> locale
        self._latest: OrderedDict[str, str] = OrderedDict()  # call sid -> caller message id

    async def aclose(self) -> None:
        await self._servers.aclose()

    # --- the Dialogue protocol ------------------------------------------------------

    async def start(self, call_sid: str, metadata: dict[str, Any]) -> list[BotReply]:
        return await self._send(call_sid, "/call_started", {**metadata, "call_sid": call_sid})

    async def say(
        self, call_sid: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotReply]:
        # Text starting with "/" would be read by Rasa as an intent: a caller can't mean that.
        message = text.lstrip("/ ")
        meta = {**(metadata or {}), "call_sid": call_sid}
        locale = str(meta.get("locale") or self.locale)
        # The answer to the emergency question ("yes, there's a fire!") is the model's to read.
        if self._asked_emergency.pop(call_sid, None) is None:
            rule = net_for(locale).rule_for(message)
            if rule is not None:
                log.info("call %s: the emergency safety net caught %s", call_sid, rule)
                message, meta["safety_net"] = f"/{EMERGENCY_INTENT}", rule
        return await self._send(call_sid, message, self._caller_message(call_sid, meta))

    async def keypad(self, call_sid: str, digits: str) -> list[BotReply]:
        payload = json.dumps({"digits": digits})
        meta = self._caller_message(call_sid, {"call_sid": call_sid})
        return await self._send(call_sid, f"/keypad{payload}", meta)

    async def event(self, call_sid: str, name: str) -> list[BotReply]:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a call event name: {name!r}")
        return await self._send(call_sid, f"/{name}", {"call_sid": call_sid})

    async def ready(self) -> bool:
        return await self._servers.any_ready()

    # --- more than the protocol -----------------------------------------------------

    def latest_message(self, call_sid: str) -> str | None:
        return self._latest.get(call_sid)

    async def understood(self, call_sid: str, message_id: str) -> Understanding:
        """The intent and confidence Rasa read in one caller message, from the tracker's
        events (its `latest_message` skips answers a form took, and may be a later one)."""
        try:
            response = await self._servers.request(
                call_sid,
                "GET",
                f"/conversations/{call_sid}/tracker",
                params={"include_events": "ALL"},
            )
            response.raise_for_status()
            events = response.json().get("events") or []
        except (httpx.HTTPError, ValueError) as exc:
            raise DialogueUnavailable(f"Rasa tracker for {call_sid}: {exc}") from exc
        for event in reversed(events):
            if event.get("event") != "user":
                continue
            if (event.get("metadata") or {}).get("message_id") != message_id:
                continue
            intent = (event.get("parse_data") or {}).get("intent") or {}
            confidence = intent.get("confidence")
            return Understanding(
                intent=intent.get("name"),
                confidence=float(confidence) if confidence is not None else None,
            )
        return Understanding()

    def _caller_message(self, call_sid: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """Tag a caller message so `understood` can find it in the tracker later."""
        message_id = uuid.uuid4().hex
        self._latest[call_sid] = message_id
        self._latest.move_to_end(call_sid)
        while len(self._latest) > _CALLS_KEPT:
            self._latest.popitem(last=False)
        return {**metadata, "message_id": message_id}

    async def _send(self, call_sid: str, message: str, metadata: dict[str, Any]) -> list[BotReply]:
        body = {"sender": call_sid, "message": message, "metadata": metadata}
        try:
            response = await self._servers.request(
                call_sid, "POST", "/webhooks/rest/webhook", json=body
            )
        except httpx.HTTPError as exc:
            raise DialogueUnavailable(f"Rasa at {self.url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise DialogueUnavailable(
                f"Rasa answered {response.status_code}: {response.text[:200]}"
            )
        try:
            messages = response.json()
        except ValueError as exc:
            raise DialogueUnavailable(f"Rasa answered something that is not JSON: {exc}") from exc
        if not isinstance(messages, list):
            raise DialogueUnavailable(f"Rasa answered {type(messages).__name__}, not a list")
        try:
            replies = to_replies(messages)
        except ValidationError as exc:
            raise DialogueUnavailable(f"Rasa sent call control we do not know: {exc}") from exc
        self._remember_question(call_sid, replies, str(metadata.get("locale") or self.locale))
        return replies

    def _remember_question(self, call_sid: str, replies: list[BotReply], locale: str) -> None:
        net = net_for(locale)
        if any(net.asks(reply.text) for reply in replies):
            self._asked_emergency[call_sid] = locale
            while len(self._asked_emergency) > _CALLS_KEPT:
                self._asked_emergency.popitem(last=False)
        else:
            self._asked_emergency.pop(call_sid, None)


def to_replies(messages: list[dict[str, Any]]) -> list[BotReply]:
    """Rasa's messages to replies: a `custom` payload is the control of the text before it."""
    replies: list[BotReply] = []
    for message in messages:
        text = message.get("text")
        custom = message.get("custom")
        if text:
            replies.append(BotReply(text=text))
        if isinstance(custom, dict) and custom:
            if not replies or (text is None and _set_keys(replies[-1].control) & custom.keys()):
                replies.append(BotReply())
            replies[-1].control = replies[-1].control.merged(custom)
    return replies


def _set_keys(control: ReplyControl) -> set[str]:
    return set(control.model_dump(exclude_defaults=True))
