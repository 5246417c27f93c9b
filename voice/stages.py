"""The small interfaces between the audio pipeline's stages.

Each engine lives in its own file and implements one of these, so another
recognizer, synthesizer or telephony provider is one new file.
Audio inside the pipeline is 16-bit signed little-endian mono PCM (`bytes`) at
the rate named in each method; mu-law and base64 never leave the serializer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

PIPELINE_RATE = 16_000  # what VAD and recognizers take
PHONE_RATE = 8_000  # what the telephone line carries


class VadState(Enum):
    QUIET = "quiet"
    STARTING = "starting"
    SPEAKING = "speaking"
    STOPPING = "stopping"


class VoiceActivityAnalyzer(Protocol):
    """Takes audio, says whether the caller is speaking. One per call (it has state)."""

    def analyze(self, pcm16k: bytes) -> VadState: ...

    def reset(self) -> None: ...


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float | None  # 0..1 where the engine gives one
    no_speech_probability: float | None = None
    engine: str = ""
    seconds: float = 0.0  # time the recognizer took


class Transcriber(Protocol):
    """Speech to text. Shared by all calls, read-only; blocking (run it in a worker thread)."""

    name: str

    def transcribe(self, pcm16k: bytes) -> Transcript: ...


class Synthesizer(Protocol):
    """Text to speech. Shared by all calls, read-only; blocking (run it in a worker thread)."""

    name: str
    sample_rate: int

    def synthesize(self, text: str, *, due: float | None = None) -> Iterator[bytes]:
        """Yield PCM chunks at `sample_rate` as they are produced (sentence by sentence).

        `due`: time.monotonic() by which the audio must start playing (default: now);
        a shared engine serves the earliest due first.
        """
        ...
