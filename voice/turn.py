"""End of the caller's turn, decided from VAD states and the time they arrive.

`EndOfTurn.push(pcm16k, state, at)` is called once per audio chunk (normally
20 ms) and returns an event when something happens:

- STARTED: the caller began speaking (VAD reached SPEAKING) - barge-in point.
- PAUSED: a short silence (`pause_ms`); `audio` holds the turn so far, so
  recognition can start speculatively.
- RESUMED: sound came back after a PAUSED; discard the speculative result
  (another PAUSED follows at the next pause).
- ENDED: silence reached `end_silence_ms` (or the turn hit `max_turn_seconds`);
  `audio` holds the turn with a little pre-roll and trailing silence. `end_now(at, pause)`
  ends it early instead, if the turn is still in that pause (the speculative transcript
  taken there was a complete answer: voice/turn_completion.py).
- DISCARDED: the "turn" held less than `min_speech_ms` of speech (cough, click).

Time comes from `at` (seconds, any monotonic clock) or, when omitted, from the
audio itself (samples pushed so far), which keeps tests free of clocks and loops.
Not thread-safe: one per call.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from voice.stages import PIPELINE_RATE, VadState

BYTES_PER_SECOND = PIPELINE_RATE * 2


class TurnEventKind(Enum):
    STARTED = "started"
    PAUSED = "paused"
    RESUMED = "resumed"
    ENDED = "ended"
    DISCARDED = "discarded"


@dataclass(frozen=True)
class TurnEvent:
    kind: TurnEventKind
    at: float  # time of the chunk that caused it
    audio: bytes = b""  # 16 kHz PCM16 of the turn (PAUSED and ENDED)
    speech_seconds: float = 0.0  # voiced time in the turn so far
    reason: str = ""  # for ENDED: "silence", "early", "max_length" or "hangup"
    pause: int = 0  # for PAUSED: which pause, to hand back to `end_now`
    silence: float = 0.0  # for ENDED: seconds since the last voiced chunk

    @property
    def audio_seconds(self) -> float:
        return len(self.audio) / BYTES_PER_SECOND


class EndOfTurn:
    def __init__(
        self,
        *,
        end_silence_ms: int = 600,
        pause_ms: int = 250,
        min_speech_ms: int = 200,
        max_turn_seconds: float = 20.0,
        pre_roll_ms: int = 300,
        post_roll_ms: int = 300,
    ) -> None:
        if not 0 < pause_ms < end_silence_ms:
            raise ValueError("pause_ms must be positive and shorter than end_silence_ms")
        self.end_silence = end_silence_ms / 1000
        self.pause = pause_ms / 1000
        self.min_speech = min_speech_ms / 1000
        self.max_turn = max_turn_seconds
        self._pre_roll_bytes = int(pre_roll_ms / 1000 * BYTES_PER_SECOND) // 2 * 2
        self._post_roll_bytes = int(post_roll_ms / 1000 * BYTES_PER_SECOND) // 2 * 2
        self._pauses = 0  # pauses seen, never reset: a stale `end_now` cannot match a new one
        self.reset()

    @classmethod
    def from_settings(cls, settings: object, **overrides: float) -> EndOfTurn:
        """Build with `settings.end_of_turn_silence_ms` and `end_of_turn_pause_ms`."""
        silence = int(getattr(settings, "end_of_turn_silence_ms", 600))
        pause = int(getattr(settings, "end_of_turn_pause_ms", 250))
        overrides.setdefault("pause_ms", min(pause, silence // 2))
        return cls(end_silence_ms=silence, **overrides)  # type: ignore[arg-type]

    def reset(self) -> None:
        """Forget any turn in progress (e.g. after the bot took the floor)."""
        self._clock = 0.0
        self._pre_roll: deque[bytes] = deque()
        self._pre_roll_size = 0
        self._audio = bytearray()
        self._in_turn = False  # the VAD reached SPEAKING in this turn
        self._candidate = False  # STARTING seen, not yet SPEAKING
        self._turn_started = 0.0
        self._last_voice = 0.0  # end time of the last voiced chunk
        self._voice_end_size = 0  # len(_audio) when speech was last heard
        self._speech = 0.0
        self._paused = False

    @property
    def in_turn(self) -> bool:
        return self._in_turn

    def push(self, pcm16k: bytes, state: VadState, at: float | None = None) -> TurnEvent | None:
        duration = len(pcm16k) / BYTES_PER_SECOND
        self._clock = self._clock + duration if at is None else at
        now = self._clock

        if not self._in_turn and not self._candidate:
            if state in (VadState.STARTING, VadState.SPEAKING):
                self._candidate = True
                self._audio = bytearray(b"".join(self._pre_roll))
                self._pre_roll.clear()
                self._pre_roll_size = 0
                self._turn_started = now - duration
            else:
                self._remember_pre_roll(pcm16k)
                return None

        self._audio += pcm16k
        voiced = state in (VadState.STARTING, VadState.SPEAKING)
        if voiced:
            self._speech += duration
            self._last_voice = now
            self._voice_end_size = len(self._audio)

        if not self._in_turn:  # candidate: wait for the VAD to confirm
            if state is VadState.SPEAKING:
                self._in_turn = True
                return TurnEvent(TurnEventKind.STARTED, now, speech_seconds=self._speech)
            if state is VadState.QUIET:  # a click: back to waiting
                leftover = (
                    bytes(self._audio[-self._pre_roll_bytes :]) if self._pre_roll_bytes else b""
                )
                self.reset_turn()
                self._remember_pre_roll(leftover)
            return None

        if now - self._turn_started >= self.max_turn:
            return self._finish(now, "max_length")

        if voiced and self._paused:
            # Even a STARTING (unconfirmed) sound after a pause may be a short word
            # ("twelve"): the speculative result would miss it, so drop it.
            self._paused = False
            return TurnEvent(TurnEventKind.RESUMED, now, speech_seconds=self._speech)
        if voiced:
            # STARTING after silence may be the caller going on: hold the verdict.
            return None

        silence = now - self._last_voice
        if silence >= self.end_silence:
            return self._finish(now, "silence")
        if silence >= self.pause and not self._paused:
            self._paused = True
            self._pauses += 1
            return TurnEvent(
                TurnEventKind.PAUSED,
                now,
                audio=self._turn_audio(),
                speech_seconds=self._speech,
                pause=self._pauses,
            )
        return None

    def end_now(self, at: float | None, pause: int) -> TurnEvent | None:
        """End the turn at `at` if it is still in the pause `pause` (a PAUSED event's):
        no sound since, no other turn. None otherwise: the caller went on, and the
        speculative transcript that asked for this is stale."""
        if not self._in_turn or not self._paused or pause != self._pauses:
            return None
        now = self._clock if at is None else max(at, self._clock)
        self._clock = now
        return self._finish(now, "early")

    def flush(self) -> TurnEvent | None:
        """End the turn in progress now (the caller hung up mid-sentence): keep its speech."""
        if not self._in_turn and not self._candidate:
            return None
        return self._finish(self._clock, "hangup")

    def reset_turn(self) -> None:
        """Drop the current turn but keep the clock."""
        clock = self._clock
        self.reset()
        self._clock = clock

    def _remember_pre_roll(self, pcm16k: bytes) -> None:
        if not self._pre_roll_bytes or not pcm16k:
            return
        self._pre_roll.append(pcm16k)
        self._pre_roll_size += len(pcm16k)
        while self._pre_roll_size - len(self._pre_roll[0]) >= self._pre_roll_bytes:
            self._pre_roll_size -= len(self._pre_roll.popleft())

    def _turn_audio(self) -> bytes:
        end = min(len(self._audio), self._voice_end_size + self._post_roll_bytes)
        return bytes(self._audio[:end])

    def _finish(self, now: float, reason: str) -> TurnEvent:
        audio = self._turn_audio()
        speech = self._speech
        silence = max(0.0, now - self._last_voice)
        self.reset_turn()
        if speech < self.min_speech:
            return TurnEvent(TurnEventKind.DISCARDED, now, speech_seconds=speech)
        return TurnEvent(
            TurnEventKind.ENDED, now, audio, speech_seconds=speech, reason=reason, silence=silence
        )
