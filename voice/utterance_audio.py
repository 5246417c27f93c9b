"""One utterance's audio, made ahead of playback in a worker thread.

The Speaker starts it while the utterance before is still playing, so a reply that comes
as several messages has no silence between them. A sentence whose audio is cached (the
dialogue's sentences without a slot, warmed at start-up) is handed over at once; the
others go to Piper, each due when the audio ahead of it runs out, so that another
call's first sentence, which a caller is waiting for, goes first.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from voice.speech import speak
from voice.stages import PHONE_RATE, Synthesizer

SENTENCE_MAKING_SECONDS = 1.0  # what Piper may take for a sentence when calls queue


class MakingPace:
    """How long Piper takes for a sentence of so many characters on this machine now,
    queueing behind other calls included: learned from every sentence it makes."""

    def __init__(self, audio_per_char: float = 0.065, making_ratio: float = 0.3) -> None:
        self.audio_per_char = audio_per_char  # seconds of speech per character
        self.making_ratio = making_ratio  # seconds of making per second of speech

    def observe(self, chars: int, audio_seconds: float, making_seconds: float) -> None:
        if chars <= 0 or audio_seconds <= 0:
            return
        self.audio_per_char += 0.2 * (audio_seconds / chars - self.audio_per_char)
        ratio = making_seconds / audio_seconds
        # Quick to learn that Piper got slower (calls queue), slow to trust it got faster.
        weight = 0.5 if ratio > self.making_ratio else 0.1
        self.making_ratio += weight * (ratio - self.making_ratio)

    def making_seconds(self, text: str) -> float:
        """A cautious estimate: a gap costs more than a little more waiting."""
        return 1.3 * len(text) * self.audio_per_char * self.making_ratio + 0.1


PACE = MakingPace()  # one Piper voice per process, shared by all calls

Item = tuple[str, bytes | None]  # (sentence, 8 kHz PCM chunk), (sentence, None) at its end


@dataclass(frozen=True)
class AudioSources:
    """Where a call's audio comes from."""

    synthesizer: Callable[[], Synthesizer]
    prompt_audio: Callable[[str], bytes]  # a fixed prompt, whole: cached or made now
    cached: Callable[[str], bytes | None]  # a sentence's audio if it is cached, else None


class UtteranceAudio:
    """The 8 kHz PCM of one utterance's sentences, produced once by `start()` and read once
    by iterating `items()`. `stop()` (barge-in) ends the work after the chunk Piper is on."""

    def __init__(
        self,
        parts: list[str],
        sources: AudioSources,
        *,
        fixed: bool = False,
        starts_at: float | None = None,
        on_made: Callable[[UtteranceAudio], None] | None = None,
        on_sentence: Callable[[], None] | None = None,
    ) -> None:
        self.parts = parts
        self.fixed = fixed
        # When its first audio will play (monotonic); None: as soon as it is made.
        self.starts_at = starts_at
        self.seconds = 0.0  # audio made so far
        self.synthesized = 0  # sentences Piper made
        self.from_cache = 0  # sentences taken from the cache
        self.sentences_made = 0
        self._sources = sources
        self._on_made = on_made
        self._on_sentence = on_sentence
        self._stop = threading.Event()
        self.finished = threading.Event()  # the worker is done (made all, failed or stopped)
        self._items: asyncio.Queue[Item | BaseException | None] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def ends_at(self) -> float:
        """When its audio will have played, as far as made (an estimate for due times)."""
        return (self.starts_at or time.monotonic()) + self.seconds

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.run_in_executor(None, self._produce)

    def stop(self) -> None:
        self._stop.set()

    async def items(self) -> AsyncIterator[Item]:
        while (item := await self._items.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    # --- the worker thread -------------------------------------------------------------

    def _put(self, item: Item | BaseException | None) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._items.put_nowait, item)

    def _produce(self) -> None:
        try:
            for sentence in self.parts:
                if self._stop.is_set():
                    return
                if self.fixed:
                    self._chunk(sentence, self._sources.prompt_audio(sentence))
                elif (audio := self._sources.cached(sentence)) is not None:
                    self.from_cache += 1
                    self._chunk(sentence, audio)
                else:
                    self.synthesized += 1
                    began, seconds = time.monotonic(), self.seconds
                    for chunk in speak(self._sources.synthesizer(), sentence, due=self._due()):
                        if self._stop.is_set():
                            return
                        self._chunk(sentence, chunk)
                    made = time.monotonic() - began
                    PACE.observe(len(sentence), self.seconds - seconds, made)
                self.sentences_made += 1
                self._put((sentence, None))
                if self._on_sentence is not None:
                    assert self._loop is not None
                    self._loop.call_soon_threadsafe(self._on_sentence)
        except BaseException as error:  # handed to the loop, raised there
            self._put(error)
        finally:
            self.finished.set()
            self._put(None)
            if self._on_made is not None:
                assert self._loop is not None
                self._loop.call_soon_threadsafe(self._on_made, self)

    def _due(self) -> float | None:
        """The first audio of a reply is due now (the caller waits in silence); each later
        sentence, made whole, before the audio ahead of it runs out."""
        if self.starts_at is None:
            return None
        return self.starts_at + self.seconds - SENTENCE_MAKING_SECONDS

    def _chunk(self, sentence: str, pcm: bytes) -> None:
        if self.starts_at is None:
            self.starts_at = time.monotonic()  # it plays as soon as it is sent
        self.seconds += len(pcm) / (2 * PHONE_RATE)
        self._put((sentence, pcm))
