"""Webhook test support: a real HTTP receiver that checks every signature (the webhook
tables are emptied before each test with the others, tests/dispatch/conftest.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine
from standardwebhooks import Webhook, WebhookVerificationError

from dispatch.db import session_scope
from dispatch.models import WebhookSubscription
from dispatch.webhooks.subscriptions import add_subscription
from tests.conftest import free_port


@dataclass(frozen=True)
class Received:
    path: str
    message_id: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def type(self) -> str:
        return self.body["type"]

    @property
    def ticket(self) -> str:
        return self.body["data"]["number"]


class Receiver:
    """A city system's webhook endpoint on a free port: it verifies each message with the
    secret of its path (Standard Webhooks), keeps what verified, and answers `answer(body)`
    (200 by default). `stop()` closes the port; `start()` opens it again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secrets: dict[str, str] = {}
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self.answer: Callable[[dict[str, Any]], int] = lambda body: 200
        self.attempts = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                code = receiver.take(self.path, raw, headers)
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def take(self, path: str, raw: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            self.attempts += 1
            secret = self.secrets.get(path)
            try:
                if secret is None:
                    raise WebhookVerificationError(f"no secret for {path}")
                body = Webhook(secret).verify(raw, headers)
            except WebhookVerificationError as error:
                self.rejected.append(f"{path}: {error}")
                return 400
            code = self.answer(body)
            if 200 <= code < 300:
                self.received.append(Received(path, headers["webhook-id"], headers, body))
            return code

    def on(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


def subscribe(
    engine: Engine,
    receiver: Receiver,
    path: str,
    *,
    events: list[str] | None = None,
    internal: bool = False,
) -> WebhookSubscription:
    """A subscription to the receiver's `path`, whose secret the receiver then checks."""
    with session_scope(engine, write=True) as session:
        row = add_subscription(session, url=receiver.url(path), events=events, internal=internal)
    receiver.secrets[path] = row.secret
    return row


def body_text(received: Received) -> str:
    return json.dumps(received.body)
