"""The app's client for the Rasa server: one call's turns in, the bot's replies out.

Rasa's REST channel answers a list of messages, each with `text` or `custom`
(a response with both arrives as two messages); a `custom` payload is call
control for the reply it follows. Anything that stops a turn from getting an
answer (refused connection, timeout, a 5xx, a body that is not the list we
expect) is DialogueUnavailable, so voice/ can keep the caller's words.

Before a sentence reaches the intent model it passes the emergency safety net
(nlu/emergency.py): words of danger go to Rasa as the emergency intent itself.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any

import httpx

from nlu.contract import BotReply, DialogueUnavailable
from nlu.emergency import INTENT as EMERGENCY_INTENT
from nlu.emergency import net_for

log = logging.getLogger("dutyline.nlu.client")
# Calls whose latest replies asked the emergency question, remembered for this many calls.
_ASKED_KEPT = 2000


class RasaDialogue:
    def __init__(self, url: str, *, timeout: float, locale: str = "en") -> None:
        self.url = url.rstrip("/")
        self.locale = locale
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout)
        self._asked_emergency: OrderedDict[str, str] = OrderedDict()  # call sid -> locale

    async def aclose(self) -> None:
        await self._http.aclose()

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
        return await self._send(call_sid, message, meta)

    async def keypad(self, call_sid: str, digits: str) -> list[BotReply]:
        payload = json.dumps({"digits": digits})
        return await self._send(call_sid, f"/keypad{payload}", {"call_sid": call_sid})

    async def event(self, call_sid: str, name: str) -> list[BotReply]:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a call event name: {name!r}")
        return await self._send(call_sid, f"/{name}", {"call_sid": call_sid})

    async def ready(self) -> bool:
        try:
            response = await self._http.get("/status")
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and bool(response.json().get("model_file"))

    # --- more than the protocol -----------------------------------------------------

    async def last_intent(self, call_sid: str) -> tuple[str | None, float | None]:
        """The intent and confidence of the caller's latest message, from the tracker.

        Read from the events: the tracker's `latest_message` skips answers a form took.
        """
        try:
            response = await self._http.get(
                f"/conversations/{call_sid}/tracker", params={"include_events": "ALL"}
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise DialogueUnavailable(f"Rasa tracker for {call_sid}: {exc}") from exc
        users = [e for e in response.json().get("events") or [] if e.get("event") == "user"]
        if not users:
            return None, None
        intent = (users[-1].get("parse_data") or {}).get("intent") or {}
        confidence = intent.get("confidence")
        return intent.get("name"), float(confidence) if confidence is not None else None

    async def _send(self, call_sid: str, message: str, metadata: dict[str, Any]) -> list[BotReply]:
        body = {"sender": call_sid, "message": message, "metadata": metadata}
        try:
            response = await self._http.post("/webhooks/rest/webhook", json=body)
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
        replies = to_replies(messages)
        self._remember_question(call_sid, replies, str(metadata.get("locale") or self.locale))
        return replies

    def _remember_question(self, call_sid: str, replies: list[BotReply], locale: str) -> None:
        net = net_for(locale)
        if any(net.asks(reply.text) for reply in replies):
            self._asked_emergency[call_sid] = locale
            while len(self._asked_emergency) > _ASKED_KEPT:
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
            if not replies or (text is None and replies[-1].control.keys() & custom.keys()):
                replies.append(BotReply())
            replies[-1].control.update(custom)
    return replies
