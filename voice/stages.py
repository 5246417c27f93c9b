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
    # Other readings of the same audio, for the record: a place answer whose street was
    # put right against the city's names keeps the first pass's text here.
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecognitionHints:
    """What the answer to the bot's last question is likely to contain, for one utterance.

    Built once per kind of expected answer (voice/expectations.py) and shared read-only.
    `prompt`: text a recognizer may take as what was said just before (Whisper's previous
    text, faster-whisper's `initial_prompt` / `hotwords`); `phrases`: the words themselves,
    for an engine with a phrase list. An engine uses what it can and ignores the rest.
    """

    expect: str = ""  # the nlu.contract.Expect value the hints are for
    prompt: str = ""
    phrases: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.prompt or self.phrases)


class Transcriber(Protocol):
    """Speech to text. Shared by all calls, read-only; blocking (run it in a worker thread)."""

    name: str

    def transcribe(self, pcm16k: bytes, hints: RecognitionHints | None = None) -> Transcript: ...


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
