"""Several Rasa servers behind one client: each call sticks to one, and moves on when it goes.

With the Redis tracker and lock stores every server reads the same conversations, so any
server can take any turn; a call still keeps to one (chosen by a stable hash of its sid, so
calls spread evenly and each server's caches stay warm). When a server refuses the
connection or drops it mid-answer, the call's turn is sent to the next server and the call
stays there. Without a shared tracker store (one server, `make run`'s default) there is
one server and nothing to move to.
"""

from __future__ import annotations

import logging
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import httpx

from dispatch.lines import lines_of
from nlu.project import LOCALES_DIR
from nlu.settings import DialogueSettings

log = logging.getLogger("dutyline.nlu.client")

# Errors after which the server is taken as gone: nothing (or no full answer) came back.
GONE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError)
_CALLS_KEPT = 2000


def server_urls(urls: str | Sequence[str]) -> list[str]:
    """`DUTYLINE_RASA_URL` may list several servers, comma-separated."""
    items = urls.split(",") if isinstance(urls, str) else list(urls)
    found = [url.strip().rstrip("/") for url in items if url.strip()]
    if not found:
        raise ValueError("no Rasa server URL given")
    return found


class RasaServers:
    def __init__(
        self,
        urls: str | Sequence[str],
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`transport`: what carries the requests (a test's mock; default: the network)."""
        self.urls = server_urls(urls)
        self._clients = [
            httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport)
            for url in self.urls
        ]
        self._moved: OrderedDict[str, int] = OrderedDict()  # call sid -> server it moved to

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def server_of(self, call_sid: str) -> int:
        moved = self._moved.get(call_sid)
        if moved is not None:
            return moved
        return zlib.crc32(call_sid.encode()) % len(self._clients)

    async def request(self, call_sid: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The call's server answers; if it is gone, the next one does (raises the last
        error when none could)."""
        first = self.server_of(call_sid)
        error: httpx.HTTPError | None = None
        for step in range(len(self._clients)):
            index = (first + step) % len(self._clients)
            try:
                response = await self._clients[index].request(method, path, **kwargs)
            except GONE as exc:
                log.warning("call %s: Rasa at %s is gone: %s", call_sid, self.urls[index], exc)
                error = exc
                continue
            if index != first:
                self._move(call_sid, index)
            return response
        assert error is not None
        raise error

    async def any_ready(self) -> bool:
        """At least one server has a model loaded."""
        for client in self._clients:
            try:
                response = await client.get("/status")
            except httpx.HTTPError:
                continue
            if response.status_code == 200 and response.json().get("model_file"):
                return True
        return False

    def _move(self, call_sid: str, index: int) -> None:
        log.info("call %s: the dialogue moved to Rasa at %s", call_sid, self.urls[index])
        self._moved[call_sid] = index
        self._moved.move_to_end(call_sid)
        while len(self._moved) > _CALLS_KEPT:
            self._moved.popitem(last=False)


def rasa_urls_of(settings: DialogueSettings) -> dict[str, list[str]]:
    """Each locale a line uses -> its Rasa servers: DUTYLINE_RASA_URLS where it names the
    locale; else the first line's locale on DUTYLINE_RASA_URL, and each other locale on the
    port after the highest one given so far, on the first server's host."""
    locales = lines_of(settings).locales
    configured = {name: server_urls(urls) for name, urls in settings.rasa_urls.items()}
    found: dict[str, list[str]] = {}
    for n, locale in enumerate(locales):
        if locale in configured:
            found[locale] = configured[locale]
        elif n == 0:
            found[locale] = server_urls(settings.rasa_url)
    taken = [httpx.URL(url) for urls in (*found.values(), server_urls(settings.rasa_url))
             for url in urls]  # fmt: skip
    first, port = taken[0], max(url.port or 5005 for url in taken)
    for locale in locales:
        if locale not in found:
            port += 1
            found[locale] = [str(first.copy_with(port=port)).rstrip("/")]
    return {locale: found[locale] for locale in locales}


def rasa_locales() -> set[str]:
    """The locales with a Rasa project (nlu/locales/<locale>/config.yml): the ones a line
    may use."""
    return {path.parent.name for path in LOCALES_DIR.glob("*/config.yml")}
