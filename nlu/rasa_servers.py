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
