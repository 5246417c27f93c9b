"""The keypad: a menu choice goes to the dialogue at once; when the bot asked for digits
(a ticket number) they are collected until '#' or a pause."""

from __future__ import annotations

import time
from collections.abc import Callable

from voice.call_line import CallLine
from voice.call_session import CallSession
from voice.frames import CallerTurn

DIGIT_PAUSE_SECONDS = 2.5  # keypad entry ends at '#' or after this pause


class Keypad:
    def __init__(
        self,
        session: CallSession,
        line: CallLine,
        *,
        keyed: Callable[[CallerTurn], None],
        caller_active: Callable[[], None],
    ) -> None:
        self.session = session
        self._line = line
        self._keyed = keyed
        self._caller_active = caller_active
        self.expect_digits = False  # set by the conversation from the bot's last question
        self._digits = ""
        self._deadline: float | None = None

    @property
    def collecting(self) -> bool:
        return bool(self._digits)

    async def pressed(self, digit: str) -> None:
        self._caller_active()
        self.session.no_input_count = 0
        await self._line.speaker.interrupt()  # a key press cuts a prompt, as on any phone menu
        if not self.expect_digits:
            self._send(digit)
            return
        if digit == "#":
            self.flush()
            return
        self._digits += digit
        self._deadline = time.monotonic() + DIGIT_PAUSE_SECONDS

    def tick(self, now: float) -> None:
        """The caller paused long enough: what they keyed is the answer."""
        if self._deadline is not None and now >= self._deadline:
            self.flush()

    def flush(self) -> None:
        digits, self._digits, self._deadline = self._digits, "", None
        if digits:
            self._send(digits)

    def _send(self, digits: str) -> None:
        now_ms = self._line.recorder.now_ms
        self._keyed(
            CallerTurn(
                text=digits,
                via="keypad",
                started_ms=now_ms,
                ended_ms=now_ms,
                speech_ended_at=time.monotonic(),
            )
        )
