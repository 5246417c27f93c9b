"""The call a log line is about. Whoever works for one call (the voice pipeline's task,
the webhook, a dialogue action) binds its sid once; tasks and `asyncio.to_thread`
workers started from there inherit it, and the app's log set-up adds it to each line."""

from __future__ import annotations

from contextvars import ContextVar

_call_sid: ContextVar[str | None] = ContextVar("call_sid", default=None)


def bind_call_sid(call_sid: str | None) -> None:
    """For the rest of the current task (or worker thread) and what it starts."""
    _call_sid.set(call_sid or None)


def current_call_sid() -> str | None:
    return _call_sid.get()
