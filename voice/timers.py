"""The call's clocks, checked every tick: the maximum call length, the caller's silence
(no input), a keypad entry's pause, and playback marks the line never echoed."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from voice import prompts
from voice.call_ending import CallEnding
from voice.call_line import CallLine
from voice.call_session import CallSession
from voice.conversation import NO_INPUT_LIMIT
from voice.keypad import Keypad
from voice.listening import Listener

log = logging.getLogger("dutyline.voice.pipeline")

TICK_SECONDS = 0.1
HANG_UP_GRACE_SECONDS = 30  # after the maximum length, however the goodbye went


class Inputs(Protocol):
    """What the clocks need from whoever answers the caller (voice/conversation.py's
    Conversation, or voice/voicemail.py's Voicemail)."""

    @property
    def waiting(self) -> bool: ...

    def event(self, name: str) -> None: ...


class CallTimers:
    def __init__(
        self,
        session: CallSession,
        line: CallLine,
        *,
        no_input_timeout: float,
        max_call_seconds: float,
    ) -> None:
        self.session = session
        self._line = line
        self._timeout = no_input_timeout
        self._limit = max_call_seconds
        self._quiet_since: float | None = None

    def caller_active(self) -> None:
        """The caller spoke or pressed a key: the silence starts over."""
        self._quiet_since = None

    async def run(
        self,
        listener: Listener,
        keypad: Keypad,
        conversation: Inputs,
        ending: CallEnding,
    ) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            speaker = self._line.speaker
            speaker.expire_marks()
            elapsed = now - self.session.started_clock
            if elapsed >= self._limit + HANG_UP_GRACE_SECONDS:
                log.warning(
                    "call %s: past the maximum length; closing the line", self.session.call_sid
                )
                await ending.close()
                return
            if not self.session.active:
                continue
            if elapsed >= self._limit:
                too_long = prompts.line_prompts(self.session.locale).too_long
                await ending.end(
                    "failed", "maximum call length reached", goodbye=too_long, cut=True
                )
                continue
            keypad.tick(now)
            waiting = speaker.audible or conversation.waiting or listener.busy or keypad.collecting
            if waiting:
                self._quiet_since = None
            elif self._quiet_since is None:
                self._quiet_since = now
            elif now - self._quiet_since >= self._timeout:
                self._quiet_since = None
                self._no_input(conversation)

    def _no_input(self, conversation: Inputs) -> None:
        self.session.no_input_count += 1
        count = self.session.no_input_count
        log.info("call %s: no input (%d of %d)", self.session.call_sid, count, NO_INPUT_LIMIT)
        conversation.event("no_input")  # the dialogue re-prompts or says goodbye
