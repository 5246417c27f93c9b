"""The bot's voice on the line: text -> Piper (worker thread) -> 8 kHz -> 20 ms frames.

Audio goes out as it is synthesized, paced a little ahead of playback so a
barge-in has little to throw away. Sentences the dialogue always says the same way
come from the prompt cache, made at start-up; the next queued utterance is made
while the current one plays (voice.utterance_audio), so a reply in several messages
has no silence inside it. A silence that does happen inside a bot turn is counted
(voice.metrics: dutyline_bot_audio_gaps_total). A mark follows every sentence; the line
echoes it when the caller has heard that sentence, which is how we know what
was actually heard. `interrupt()` stops synthesis and sends `clear` at once,
unless the reply must be heard to the end (a ticket number, a goodbye).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nlu.fixed_replies import split_sentences
from voice import metrics
from voice.frames import BotAudio, BotSays, ClearPlayback, Frame, PlaybackMark
from voice.recorder import CallRecorder
from voice.stages import PHONE_RATE, Synthesizer
from voice.utterance_audio import PACE, AudioSources, UtteranceAudio

log = logging.getLogger("dutyline.voice.speaker")

FRAME_BYTES = 320  # 20 ms of 8 kHz PCM16
FRAME_SECONDS = 0.02
LEAD_SECONDS = 0.3  # how far ahead of playback audio is sent
MARK_GRACE_SECONDS = 3.0  # a mark not echoed this long after its audio ended counts as heard
GAP_TOLERANCE_SECONDS = 0.02  # a line that ran dry for less is clock jitter, not a gap
MAX_HOLD_SECONDS = 2.0  # the longest a turn's cached start waits for what follows it

# The dialogue's rule, so a reply's sentences match the cache's keys (nlu.fixed_replies).
sentences = split_sentences


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
    gaps: int = 0  # times the line ran dry before this utterance's audio went on
    gap_seconds: float = 0.0
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
        *,
        cached: Callable[[str], bytes | None] = lambda text: None,
    ) -> None:
        self._send = send
        self._recorder = recorder
        self._sources = AudioSources(synthesizer, prompt_audio, cached)
        self._on_finished = on_finished
        self._queue: deque[Utterance] = deque()
        self._wake = asyncio.Event()
        self._current: Utterance | None = None
        self._speaking: asyncio.Task[None] | None = None
        self._marks: dict[str, _Mark] = {}
        self._play_until = 0.0
        self._count = 0
        self._mark_count = 0
        # Audio made or being made, one utterance at a time, in the order they are said.
        self._audio: dict[Utterance, UtteranceAudio] = {}
        self._making: UtteranceAudio | None = None
        self._made_until = 0.0  # when the audio made so far will have played (estimate)
        self._in_turn = False  # audio sent, and more of the same turn is queued
        self._sentence_made = asyncio.Event()  # set whenever a sentence's audio is made
        self.gaps = 0  # the line ran dry inside a bot turn, this call
        self.gap_seconds = 0.0
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
        self._make_next()
        self._wake.set()
        return utterance

    async def run(self) -> None:
        while True:
            while not self._queue:
                self._in_turn = False  # all of the turn has been sent
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

    # --- making audio ahead -----------------------------------------------------------

    def _make_next(self) -> None:
        """Start making the first said utterance that has no audio yet, unless one is being
        made: one worker per call, the next one starting when the one before is made."""
        if self._making is not None:
            return
        waiting = [u for u in (self._current, *self._queue) if u is not None]
        utterance = next((u for u in waiting if u not in self._audio), None)
        if utterance is None:
            return
        now = time.monotonic()
        ahead = max(self._made_until, self._play_until)
        audio = UtteranceAudio(
            self._parts(utterance),
            self._sources,
            fixed=utterance.say.fixed,
            # Nothing left to play: the caller waits, so it is due now.
            starts_at=ahead if ahead > now and self.audible else None,
            on_made=self._made,
            on_sentence=self._sentence_made.set,
        )
        self._audio[utterance] = self._making = audio
        audio.start()

    def _made(self, audio: UtteranceAudio) -> None:
        if audio is not self._making:
            return  # dropped by a barge-in
        self._making = None
        self._made_until = audio.ends_at
        self._make_next()

    def _drop_audio(self, utterances: list[Utterance]) -> None:
        """Stop making what will not be said (barge-in, hang-up): no Piper work piles up."""
        for utterance in utterances:
            audio = self._audio.pop(utterance, None)
            if audio is not None:
                audio.stop()
        self._making = None
        self._made_until = 0.0

    def _parts(self, utterance: Utterance) -> list[str]:
        text = utterance.say.text
        # A reply the city recorded whole (voice/recorded_prompts.py) plays as one piece.
        if utterance.say.fixed or self._sources.cached(text) is not None:
            return [text]
        return sentences(text)

    def _first_to_synthesize(self) -> tuple[Utterance, int, float] | None:
        """The turn's first sentence that is not cached (its utterance and index) and the
        seconds of cached audio before it; None if all is cached or it comes first."""
        ahead = 0.0
        for utterance in (u for u in (self._current, *self._queue) if u is not None):
            for index, part in enumerate(self._parts(utterance)):
                audio = self._sources.cached(part)
                if audio is None:
                    return (utterance, index, ahead) if ahead else None
                ahead += len(audio) / (2 * PHONE_RATE)
        return None

    async def _hold(self) -> None:
        """A turn that opens with cached sentences ("Let me read that back.") and goes on
        with one Piper must make waits, if need be, so that the cached audio covers the
        making: a short wait before the turn rather than a silence inside it."""
        first = self._first_to_synthesize()
        if first is None:
            return
        utterance, index, ahead = first
        hold = min(PACE.making_seconds(self._parts(utterance)[index]) - ahead, MAX_HOLD_SECONDS)
        deadline = time.monotonic() + hold
        while (remaining := deadline - time.monotonic()) > 0:
            audio = self._audio.get(utterance)
            if audio is not None and audio.sentences_made > index:
                return
            self._sentence_made.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sentence_made.wait(), remaining)

    async def _speak(self, utterance: Utterance) -> None:
        if utterance not in self._audio:
            self._making = None  # whatever is being made is not needed first any more
            self._make_next()
        audio = self._audio[utterance]
        if not self._in_turn:
            await self._hold()
        pending = bytearray()
        try:
            async for sentence, pcm in audio.items():
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
        finally:
            audio.stop()  # barge-in: Piper stops after the chunk it is on
            self._audio.pop(utterance, None)

    async def _send_frame(self, utterance: Utterance, frame: bytes) -> None:
        ahead = self._play_until - time.monotonic()
        if ahead > LEAD_SECONDS:
            await asyncio.sleep(ahead - LEAD_SECONDS)
        now = time.monotonic()
        if self._in_turn and now - self._play_until > GAP_TOLERANCE_SECONDS:
            self._gap(utterance, now - self._play_until)
        self._in_turn = True
        self._play_until = max(self._play_until, now) + FRAME_SECONDS
        offset = self._recorder.bot(frame)
        if utterance.first_audio_at is None:
            utterance.first_audio_at = now
            utterance.started_ms = offset
        await self._send(BotAudio(frame))

    def _gap(self, utterance: Utterance, seconds: float) -> None:
        """The line ran dry inside a bot turn: the caller heard a silence nobody meant."""
        utterance.gaps += 1
        utterance.gap_seconds += seconds
        self.gaps += 1
        self.gap_seconds += seconds
        metrics.bot_audio_gap(seconds)

    async def _mark(self, utterance: Utterance, sentence: str | None) -> None:
        self._mark_count += 1
        suffix = "end" if sentence is None else f"s{self._mark_count}"
        name = f"u{utterance.number}.{suffix}"
        ends_ms = self._recorder.now_ms + self._recorder.bot_queued_ms
        self._marks[name] = _Mark(
            utterance, sentence, max(self._play_until, time.monotonic()), ends_ms
        )
        await self._send(PlaybackMark(name))

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
        self._drop_audio([u for u in (self._current, *self._queue) if u is not None])
        self._marks.clear()
        self._queue.clear()
        self._in_turn = False
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
        self._drop_audio(pending)
        self._marks.clear()
        self._queue.clear()
        self._in_turn = False
        for utterance in dict.fromkeys(pending):
            if not utterance.done.is_set():
                utterance.interrupted = True
                utterance.ended_ms = self._recorder.now_ms
                self._finish(utterance)
        self._update_idle()
