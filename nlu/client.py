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

import asyncio
import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
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
        url: str | Sequence[str] | Mapping[str, str | Sequence[str]],
        *,
        timeout: float,
        locale: str = "en",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`url`: one Rasa server, or several (comma-separated) sharing a tracker store; or,
        for a deployment of several locales, locale -> its servers (nlu/rasa_servers.py
        `rasa_urls_of`): each call's messages go to its locale's (the metadata's `locale`
        of its first message), `locale` being the default."""
        by_locale = dict(url) if isinstance(url, Mapping) else {locale: url}
        if not by_locale:
            raise ValueError("no Rasa server URL given")
        self._by_locale = {
            name: RasaServers(urls, timeout=timeout, transport=transport)
            for name, urls in by_locale.items()
        }
        self.locale = locale if locale in self._by_locale else next(iter(self._by_locale))
        self._servers = self._by_locale[self.locale]  # the default locale's
        self.url = ", ".join(self._servers.urls)
        self._asked_emergency: OrderedDict[str, str] = OrderedDict()  # call sid -> locale
        self._latest: OrderedDict[str, str] = OrderedDict()  # call sid -> caller message id
        self._call_locale: OrderedDict[str, str] = OrderedDict()  # call sid -> its locale

    @property
    def urls(self) -> dict[str, list[str]]:
        """Each locale's servers."""
        return {name: servers.urls for name, servers in self._by_locale.items()}

    async def aclose(self) -> None:
        for servers in self._by_locale.values():
            await servers.aclose()

    def servers_for(self, call_sid: str, metadata: Mapping[str, Any] | None = None) -> RasaServers:
        """The call's locale's servers; the locale is learnt from the first message that
        says it (keypad and call events do not) and kept for the call."""
        locale = str((metadata or {}).get("locale") or "")
        if locale:
            self._call_locale[call_sid] = locale
            self._call_locale.move_to_end(call_sid)
            while len(self._call_locale) > _CALLS_KEPT:
                self._call_locale.popitem(last=False)
        else:
            locale = self._call_locale.get(call_sid, self.locale)
        servers = self._by_locale.get(locale)
        if servers is None:
            log.error("call %s: no Rasa server for locale %r: the %s one answers",
                      call_sid, locale, self.locale)  # fmt: skip
            return self._servers
        return servers

    # --- the Dialogue protocol ------------------------------------------------------

    async def start(self, call_sid: str, metadata: dict[str, Any]) -> list[BotReply]:
        return await self._send(call_sid, "/call_started", {**metadata, "call_sid": call_sid})

    async def say(
        self, call_sid: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotReply]:
        # Text starting with "/" would be read by Rasa as an intent: a caller can't mean that.
        message = text.lstrip("/ ")
        meta = {**(metadata or {}), "call_sid": call_sid}
        locale = str(meta.get("locale") or self._call_locale.get(call_sid, self.locale))
        # The answer to the emergency question ("yes, there's a fire!") is the model's to read.
        if self._asked_emergency.pop(call_sid, None) is None:
            rule = net_for(locale).rule_for(message)
            if rule is not None:
                log.info("call %s: the emergency safety net caught %s", call_sid, rule)
                # The words go along: declined twice, they are the caller's answer.
                meta["said"] = message
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
        """Every locale has a server with its model loaded."""
        return all(await asyncio.gather(*(s.any_ready() for s in self._by_locale.values())))

    # --- more than the protocol -----------------------------------------------------

    def latest_message(self, call_sid: str) -> str | None:
        return self._latest.get(call_sid)

    async def understood(self, call_sid: str, message_id: str) -> Understanding:
        """The intent and confidence Rasa read in one caller message, from the tracker's
        events (its `latest_message` skips answers a form took, and may be a later one)."""
        try:
            response = await self.servers_for(call_sid).request(
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
            response = await self.servers_for(call_sid, metadata).request(
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
        locale = metadata.get("locale") or self._call_locale.get(call_sid, self.locale)
        self._remember_question(call_sid, replies, str(locale))
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
