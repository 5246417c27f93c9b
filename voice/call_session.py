"""One call's state: an explicit lifecycle that fails loudly, its turns and its outcome.

Per-call state lives here and nowhere else; models are shared, sessions are not.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from dispatch.contract import CallOutcome, TurnRecord
from nlu.contract import Expect


class CallState(Enum):
    CONNECTED = "connected"  # socket open, no `start` yet
    STREAMING = "streaming"  # audio flowing, conversation on
    ENDING = "ending"  # we decided to end: last words playing, then hang up
    ENDED = "ended"


_ALLOWED: dict[CallState, set[CallState]] = {
    CallState.CONNECTED: {CallState.STREAMING, CallState.ENDED},
    CallState.STREAMING: {CallState.ENDING, CallState.ENDED},
    CallState.ENDING: {CallState.ENDED},
    CallState.ENDED: set(),
}


class IllegalTransition(RuntimeError):
    pass


class CallSession:
    def __init__(self) -> None:
        self.state = CallState.CONNECTED
        self.call_sid = ""
        self.stream_sid = ""
        self.caller_number: str | None = None
        self.called_number: str | None = None
        self.locale = "en"
        self.city: str | None = None  # the line's city (dispatch/lines.py); None: the first's
        self.started_at = datetime.now(UTC)
        self.started_clock = time.monotonic()
        self.turns: list[TurnRecord] = []
        self.ticket_number: str | None = None
        self.outcome: CallOutcome | None = None
        self.end_reason = ""
        self.telephony_status: str | None = None
        self.recording_path: str | None = None
        self.no_input_count = 0
        self.bad_frames = 0
        self.mode = "dialogue"  # "voicemail": the caller leaves a message (voice/voicemail.py)
        self.turn_base = 0  # this stream's first turn index on the call's record
        # What the bot's last question expects (a place, yes or no...): the recognizer is
        # told, and the caller's answer is read with it (voice/expectations.py).
        self.expect: Expect | None = None

    # --- lifecycle ---------------------------------------------------------------

    def _move(self, to: CallState) -> None:
        if to not in _ALLOWED[self.state]:
            raise IllegalTransition(
                f"call {self.call_sid or '?'}: {self.state.value} -> {to.value}"
            )
        self.state = to

    def start(self, call_sid: str, stream_sid: str, parameters: dict[str, str]) -> None:
        self._move(CallState.STREAMING)
        self.call_sid, self.stream_sid = call_sid, stream_sid
        self.caller_number = parameters.get("caller") or None
        self.called_number = parameters.get("called") or None
        self.locale = parameters.get("locale") or "en"
        self.city = parameters.get("city") or None
        self.mode = parameters.get("mode") or "dialogue"
        base = parameters.get("turn_base") or ""
        self.turn_base = int(base) if base.isdigit() else 0
        self.started_at = datetime.now(UTC)
        self.started_clock = time.monotonic()

    def begin_ending(self, outcome: CallOutcome, reason: str) -> bool:
        """Decide how the call ends; False if it is already ending (first decision wins)."""
        if self.state is not CallState.STREAMING:
            return False
        self._move(CallState.ENDING)
        self.outcome, self.end_reason = outcome, reason
        return True

    def finish(self, outcome: CallOutcome, reason: str) -> None:
        """The stream is over. Keeps an outcome decided earlier."""
        if self.outcome is None:
            self.outcome, self.end_reason = outcome, reason
        self._move(CallState.ENDED)

    @property
    def active(self) -> bool:
        return self.state is CallState.STREAMING

    # --- turns -------------------------------------------------------------------

    def add_turn(self, **fields: Any) -> TurnRecord:
        turn = TurnRecord(call_sid=self.call_sid, index=self.next_turn_index, **fields)
        self.turns.append(turn)
        return turn

    @property
    def next_turn_index(self) -> int:
        return self.turn_base + len(self.turns)

    @property
    def voicemail(self) -> bool:
        return self.mode == "voicemail"

    def caller_transcript(self) -> str:
        """What the caller said and keyed, for a triage ticket."""
        return "\n".join(f"{turn.speaker}: {turn.text}" for turn in self.turns if turn.text.strip())

    @property
    def caller_said_something(self) -> bool:
        return any(turn.speaker == "caller" and turn.text.strip() for turn in self.turns)

    def summary(self) -> dict[str, Any]:
        return {
            "call_sid": self.call_sid,
            "state": self.state.value,
            "mode": self.mode,
            "caller_number": self.caller_number,
            "outcome": self.outcome,
            "end_reason": self.end_reason,
            "ticket_number": self.ticket_number,
            "recording_path": self.recording_path,
            "telephony_status": self.telephony_status,
            "bad_frames": self.bad_frames,
            "turns": [turn.model_dump(mode="json") for turn in self.turns],
        }


class CallRegistry:
    """Live calls, and the summaries of recent ones (for the status callback and the simulator)."""

    def __init__(self, keep_finished: int = 200) -> None:
        self.live: dict[str, CallSession] = {}
        self.finished: OrderedDict[str, CallSession] = OrderedDict()
        self.keep_finished = keep_finished

    def add(self, session: CallSession) -> None:
        self.live[session.call_sid] = session

    def done(self, session: CallSession) -> None:
        self.live.pop(session.call_sid, None)
        self.finished[session.call_sid] = session
        while len(self.finished) > self.keep_finished:
            self.finished.popitem(last=False)

    def get(self, call_sid: str) -> CallSession | None:
        return self.live.get(call_sid) or self.finished.get(call_sid)
