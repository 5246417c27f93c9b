"""The bot's voice on the line: text -> Piper (worker thread) -> 8 kHz -> 20 ms frames.

Audio goes out as it is synthesized, paced a little ahead of playback so a
barge-in has little to throw away. A mark follows every sentence; the line
echoes it when the caller has heard that sentence, which is how we know what
was actually heard. `interrupt()` stops synthesis and sends `clear` at once,
unless the reply must be heard to the end (a ticket number, a goodbye).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from voice.frames import BotAudio, BotSays, ClearPlayback, Frame, PlaybackMark
from voice.recorder import CallRecorder
from voice.speech import speak
from voice.stages import PHONE_RATE, Synthesizer

log = logging.getLogger("dutyline.voice.speaker")

FRAME_BYTES = 320  # 20 ms of 8 kHz PCM16
SENTENCE_MAKING_SECONDS = 1.0  # what Piper may take for a sentence when calls queue
FRAME_SECONDS = 0.02
LEAD_SECONDS = 0.3  # how far ahead of playback audio is sent
MARK_GRACE_SECONDS = 3.0  # a mark not echoed this long after its audio ended counts as heard

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


@dataclass(eq=False)  # identity: the same text may be said twice
class Utterance:
    say: BotSays
    number: int
    heard: list[str] = field(default_factory=list)
    queued_at: float = field(default_factory=time.monotonic)
    first_audio_at: float | None = None  # monotonic
    started_ms: int | None = None
    ended_ms: int | None = None
    interrupted: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Mark:
    utterance: Utterance
    sentence: str | None  # None: the utterance's final mark
    plays_until: float  # monotonic estimate of when its audio ends
    ends_ms: int


class Speaker:
    def __init__(
        self,
        send: Callable[[Frame], Awaitable[None]],
        recorder: CallRecorder,
        synthesizer: Callable[[], Synthesizer],
        prompt_audio: Callable[[str], bytes],
        on_finished: Callable[[Utterance], None],
    ) -> None:
        self._send = send
        self._recorder = recorder
        self._synthesizer = synthesizer
        self._prompt_audio = prompt_audio
        self._on_finished = on_finished
        self._queue: deque[Utterance] = deque()
        self._wake = asyncio.Event()
        self._current: Utterance | None = None
        self._speaking: asyncio.Task[None] | None = None
        self._marks: dict[str, _Mark] = {}
        self._play_until = 0.0
        self._count = 0
        self._mark_count = 0
        self.idle_event = asyncio.Event()
        self.idle_event.set()

    # --- state -------------------------------------------------------------------

    @property
    def audible(self) -> bool:
        """The bot is talking (sending, queued, or still playing on the line)."""
        return self._current is not None or bool(self._queue) or bool(self._marks)

    @property
    def protected(self) -> bool:
        """Something that must be heard to the end is playing or queued."""
        pending = [self._current, *self._queue, *(m.utterance for m in self._marks.values())]
        return any(u is not None and u.say.must_finish for u in pending)

    def _update_idle(self) -> None:
        if self.audible:
            self.idle_event.clear()
        else:
            self.idle_event.set()

    # --- speaking ------------------------------------------------------------------

    def say(self, say: BotSays) -> Utterance:
        self._count += 1
        utterance = Utterance(say=say, number=self._count)
        self._queue.append(utterance)
        self._update_idle()
        self._wake.set()
        return utterance

    async def run(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            utterance = self._current = self._queue.popleft()
            self._speaking = asyncio.create_task(self._speak(utterance))
            await asyncio.wait([self._speaking])
            if not self._speaking.cancelled() and self._speaking.exception() is not None:
                log.error("speaking failed", exc_info=self._speaking.exception())
                self._finish(utterance)
            self._speaking = None
            self._current = None
            self._update_idle()

    async def _speak(self, utterance: Utterance) -> None:
        if utterance.say.fixed:  # a fixed prompt: cached audio, one piece
            pcm = await asyncio.to_thread(self._prompt_audio, utterance.say.text)
            for start in range(0, len(pcm), FRAME_BYTES):
                frame = pcm[start : start + FRAME_BYTES].ljust(FRAME_BYTES, b"\0")
                await self._send_frame(utterance, frame)
            await self._mark(utterance, utterance.say.text)
            await self._mark(utterance, None)
            return
        pending = bytearray()
        async for sentence, pcm in self._audio(sentences(utterance.say.text)):
            if pcm is not None:
                pending += pcm
                while len(pending) >= FRAME_BYTES:
                    await self._send_frame(utterance, bytes(pending[:FRAME_BYTES]))
                    del pending[:FRAME_BYTES]
                continue
            if pending:  # the sentence's last partial frame
                await self._send_frame(utterance, bytes(pending).ljust(FRAME_BYTES, b"\0"))
                pending.clear()
            await self._mark(utterance, sentence)
        await self._mark(utterance, None)

    async def _send_frame(self, utterance: Utterance, frame: bytes) -> None:
        ahead = self._play_until - time.monotonic()
        if ahead > LEAD_SECONDS:
            await asyncio.sleep(ahead - LEAD_SECONDS)
        now = time.monotonic()
        self._play_until = max(self._play_until, now) + FRAME_SECONDS
        offset = self._recorder.bot(frame)
        if utterance.first_audio_at is None:
            utterance.first_audio_at = now
            utterance.started_ms = offset
        await self._send(BotAudio(frame))

    async def _mark(self, utterance: Utterance, sentence: str | None) -> None:
        self._mark_count += 1
        suffix = "end" if sentence is None else f"s{self._mark_count}"
        name = f"u{utterance.number}.{suffix}"
        ends_ms = self._recorder.now_ms + self._recorder.bot_queued_ms
        self._marks[name] = _Mark(
            utterance, sentence, max(self._play_until, time.monotonic()), ends_ms
        )
        await self._send(PlaybackMark(name))

    async def _audio(self, parts: list[str]) -> AsyncIterator[tuple[str, bytes | None]]:
        """8 kHz PCM of each sentence as Piper produces it: (sentence, chunk) pairs, then
        (sentence, None) when the sentence is done.

        One worker thread synthesizes the sentences back to back, so the next sentence is
        ready before the current one has finished playing (no gaps between sentences).
        """
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[tuple[str, bytes | None] | BaseException | None] = asyncio.Queue()
        stop = threading.Event()
        synthesizer = self._synthesizer()

        def produce() -> None:
            try:
                playing_from: float | None = None  # when the reply's first audio was ready
                ready_seconds = 0.0  # audio made so far
                for sentence in parts:
                    # The first sentence is due now (the caller waits in silence); each later
                    # one, made whole, before the audio ahead of it runs out.
                    due = None
                    if playing_from is not None:
                        due = playing_from + ready_seconds - SENTENCE_MAKING_SECONDS
                    for chunk in speak(synthesizer, sentence, due=due):
                        if playing_from is None:
                            playing_from = time.monotonic()
                        ready_seconds += len(chunk) / (2 * PHONE_RATE)
                        if stop.is_set():
                            return
                        loop.call_soon_threadsafe(chunks.put_nowait, (sentence, chunk))
                    loop.call_soon_threadsafe(chunks.put_nowait, (sentence, None))
            except BaseException as error:  # handed to the loop, raised there
                loop.call_soon_threadsafe(chunks.put_nowait, error)
            finally:
                loop.call_soon_threadsafe(chunks.put_nowait, None)

        worker = loop.run_in_executor(None, produce)
        try:
            while (item := await chunks.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()  # barge-in: Piper stops after the chunk it is on
            del worker

    # --- the line's echoes, barge-in -----------------------------------------------------

    def mark_played(self, name: str) -> None:
        mark = self._marks.pop(name, None)
        if mark is None:
            return  # cleared by a barge-in, or not ours
        self._played(mark)
        self._update_idle()

    def expire_marks(self) -> None:
        """Count as heard the marks a misbehaving line never echoed."""
        now = time.monotonic()
        for name, mark in list(self._marks.items()):
            if now - mark.plays_until > MARK_GRACE_SECONDS:
                log.warning("mark %s was never echoed; counting it as played", name)
                self.mark_played(name)

    def _played(self, mark: _Mark) -> None:
        utterance = mark.utterance
        if mark.sentence is not None:
            utterance.heard.append(mark.sentence)
        else:
            utterance.ended_ms = mark.ends_ms
            self._finish(utterance)

    async def interrupt(self) -> bool:
        """Barge-in: stop synthesis, clear the line's playback. False if nothing may be cut."""
        if not self.audible or self.protected:
            return False
        if self._speaking is not None:
            self._speaking.cancel()
        dropped = [m.utterance for m in self._marks.values()]
        dropped += [u for u in (self._current, *self._queue) if u is not None]
        self._marks.clear()
        self._queue.clear()
        self._recorder.clear_bot()
        self._play_until = time.monotonic()
        await self._send(ClearPlayback())
        now_ms = self._recorder.now_ms
        for utterance in dict.fromkeys(dropped):  # unique, in order
            if not utterance.done.is_set():
                utterance.interrupted = True
                utterance.ended_ms = now_ms if utterance.started_ms is not None else None
                self._finish(utterance)
        self._update_idle()
        return True

    def _finish(self, utterance: Utterance) -> None:
        if utterance.done.is_set():
            return
        utterance.done.set()
        self._on_finished(utterance)

    def abandon(self) -> None:
        """The line is gone: whatever was still playing ends here."""
        if self._speaking is not None:
            self._speaking.cancel()
        pending = [m.utterance for m in self._marks.values()]
        pending += [u for u in (self._current, *self._queue) if u is not None]
        self._marks.clear()
        self._queue.clear()
        for utterance in dict.fromkeys(pending):
            if not utterance.done.is_set():
                utterance.interrupted = True
                utterance.ended_ms = self._recorder.now_ms
                self._finish(utterance)
        self._update_idle()
