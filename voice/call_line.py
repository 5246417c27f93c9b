"""What the parts of one call's pipeline share: its two audio ends and its work in flight."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from voice.recorder import CallRecorder
from voice.speaker import Speaker

log = logging.getLogger("dutyline.voice.pipeline")


class CallOver(RuntimeError):
    """A part of the pipeline reached for the line after the call's audio was released."""


class CallLine:
    """The call's recording and the bot's voice, reached by every part through this one
    object, so dropping them here frees a call's audio at once: the parts refer to one
    another, and cycles wait for the garbage collector's rare full passes."""

    def __init__(self, recorder: CallRecorder, speaker: Speaker) -> None:
        self._recorder: CallRecorder | None = recorder
        self._speaker: Speaker | None = speaker

    @property
    def recorder(self) -> CallRecorder:
        if self._recorder is None:
            raise CallOver("the call's recording was released")
        return self._recorder

    @property
    def speaker(self) -> Speaker:
        if self._speaker is None:
            raise CallOver("the call's speaker was released")
        return self._speaker

    def release(self) -> None:
        self._recorder = self._speaker = None


class BackgroundWork:
    """Work a call started and must see finish (recognition, stored turns, a triage ticket,
    hanging up) before its record closes."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Awaitable[Any], *, shielded: bool = False) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if shielded:
            task.add_done_callback(_log_failure)
        return task

    async def settle(self, timeout: float) -> None:
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("call step failed", exc_info=task.exception())
