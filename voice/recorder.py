"""Two-channel call recording: left the caller, right the bot, 8 kHz 16-bit WAV.

Time is the caller's stream: Twilio sends a frame every 20 ms, silence included,
so the caller channel is the call's clock. Bot audio is placed where it will
play (after what is already queued, never before "now"); a barge-in `clear`
cuts the bot channel back to "now", as the line did.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 8000
BYTES_PER_SAMPLE = 2


class CallRecorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._caller = bytearray()
        self._bot = bytearray()

    @classmethod
    def continuing(cls, path: Path) -> CallRecorder:
        """A recorder that goes on from the call's earlier recording at `path`, if there is
        one: the voicemail after an unanswered transfer is the same call, so supervisors
        hear it in the same file and the call's record keeps pointing at all of it."""
        recorder = cls(path)
        if path.exists():
            with wave.open(str(path), "rb") as earlier:
                raw = earlier.readframes(earlier.getnframes())
            stereo = np.frombuffer(raw, dtype="<i2").reshape(-1, 2)
            recorder._caller += stereo[:, 0].tobytes()
            recorder._bot += stereo[:, 1].tobytes()
        return recorder

    @property
    def now_ms(self) -> int:
        """The call's clock: caller audio received so far."""
        return len(self._caller) * 1000 // (RATE * BYTES_PER_SAMPLE)

    @property
    def bot_queued_ms(self) -> int:
        """How far ahead of now the bot's queued audio reaches (0 when it is quiet)."""
        return max(0, len(self._bot) - len(self._caller)) * 1000 // (RATE * BYTES_PER_SAMPLE)

    def caller(self, pcm8k: bytes) -> None:
        self._caller += pcm8k

    def bot(self, pcm8k: bytes) -> int:
        """Queue bot audio; returns the offset (ms) where it starts playing."""
        if len(self._bot) < len(self._caller):
            self._bot += bytes(len(self._caller) - len(self._bot))
        start = len(self._bot)
        self._bot += pcm8k
        return start * 1000 // (RATE * BYTES_PER_SAMPLE)

    def clear_bot(self) -> None:
        del self._bot[len(self._caller) :]

    def save(self) -> Path:
        length = max(len(self._caller), len(self._bot)) // BYTES_PER_SAMPLE
        stereo = np.zeros((length, 2), dtype="<i2")
        caller = np.frombuffer(bytes(self._caller), dtype="<i2")
        bot = np.frombuffer(bytes(self._bot), dtype="<i2")
        stereo[: len(caller), 0] = caller
        stereo[: len(bot), 1] = bot
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(self.path), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(BYTES_PER_SAMPLE)
            out.setframerate(RATE)
            out.writeframes(stereo.tobytes())
        return self.path
