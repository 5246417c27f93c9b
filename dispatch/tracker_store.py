"""Rasa's Redis tracker store, as the retention purge sees it.

Rasa 3.6's RedisTrackerStore keeps one conversation under the key
`<key_prefix>:tracker:<sender id>` (`tracker:<sender id>` without a prefix; Rasa
ignores a prefix that is not alphanumeric), the value a JSON text
`{"name": <sender id>, "events": [{"event": ..., "timestamp": <epoch s>}, ...]}`.
The app talks to Rasa with the call sid as the sender id, so a call's conversation
is `tracker:<call sid>`. Conversations no call record knows (forged or test senders)
are judged by their last event's time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import redis

log = logging.getLogger("dutyline.dispatch.tracker_store")

RASA_TRACKER_PREFIX = "tracker:"  # rasa.core.tracker_store.DEFAULT_REDIS_TRACKER_STORE_KEY_PREFIX


def key_prefix(custom: str | None) -> str:
    """The prefix Rasa puts before a sender id, for the endpoints' `key_prefix`."""
    if custom and custom.isalnum():
        return f"{custom}:{RASA_TRACKER_PREFIX}"
    return RASA_TRACKER_PREFIX


class RedisTrackerStore:
    def __init__(self, url: str, custom_prefix: str | None = None) -> None:
        self.prefix = key_prefix(custom_prefix)
        self.client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5
        )

    def key(self, sender_id: str) -> str:
        return self.prefix + sender_id

    def senders(self) -> Iterator[str]:
        """Every conversation's sender id (SCAN: never blocks Redis like KEYS would)."""
        pattern = _glob_escape(self.prefix) + "*"
        for key in self.client.scan_iter(match=pattern, count=500):
            yield key[len(self.prefix) :]

    def last_event_at(self, sender_id: str) -> float | None:
        """The conversation's latest event time (epoch seconds); None if unreadable."""
        raw = self.client.get(self.key(sender_id))
        try:
            events = json.loads(raw or "")["events"]
            times = [float(e["timestamp"]) for e in events if e.get("timestamp") is not None]
        except (ValueError, KeyError, TypeError):
            return None
        return max(times) if times else None

    def delete(self, sender_ids: list[str]) -> int:
        if not sender_ids:
            return 0
        return int(self.client.delete(*(self.key(s) for s in sender_ids)))

    def expire_if_unset(self, sender_id: str, seconds: int) -> bool:
        """Give a conversation without an expiry one (Rasa's record_exp may be unset)."""
        return bool(self.client.expire(self.key(sender_id), seconds, nx=True))

    def close(self) -> None:
        self.client.close()


def _glob_escape(text: str) -> str:
    return "".join(f"\\{ch}" if ch in "*?[]\\" else ch for ch in text)
