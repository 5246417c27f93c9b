"""Listening: the caller's audio in, the caller's turns out.

    CallerAudio -> recorder, 8->16 kHz, VAD, end of turn --(started)--> barge-in
                                                 --(paused)--> speculative recognition
                                                               --(complete answer)--> ended
                                                 --(ended)---> recognition -> CallerTurn

VAD and end of turn run inline (well under a millisecond a window, and the frames keep
their order); recognition runs in a worker thread. When the transcript taken at a pause
is a complete answer to the question (voice/turn_completion.py) and the caller is still
in that pause, the turn ends then instead of after the full silence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nlu.contract import Expect
from voice import metrics
from voice.call_line import BackgroundWork, CallLine
from voice.call_session import CallSession
from voice.codec import Resampler
from voice.frames import CallerTurn
from voice.stages import PHONE_RATE, PIPELINE_RATE, Transcript
from voice.turn import TurnEvent, TurnEventKind
from voice.turn_completion import TurnCompletion

if TYPE_CHECKING:
    from voice.speech import SpeechModels

log = logging.getLogger("dutyline.voice.pipeline")

# A speculative transcript (started at a pause) stands if the finished turn holds at
# most this much more audio than it did (the post-roll grows by ~50 ms; words are longer).
_SPECULATION_SLACK = int(0.12 * PIPELINE_RATE) * 2


@dataclass(frozen=True)
class _Heard:
    audio: bytes
    started_s: float  # call offsets
    ended_s: float
    speech_ended_at: float  # monotonic
    turn_ended_at: float
    expect: Expect | None  # what the bot's last question expected
    how: str = "silence"  # how the turn ended: silence, early, max_length, hangup


def ms(seconds: float) -> int:
    return round(seconds * 1000)


class Listener:
    def __init__(
        self,
        session: CallSession,
        speech: SpeechModels,
        line: CallLine,
        work: BackgroundWork,
        *,
        heard: Callable[[CallerTurn], None],
        failed: Callable[[str], Awaitable[None]],
        caller_active: Callable[[], None],
    ) -> None:
        self.session = session
        self._speech = speech
        self._line = line
        self._work = work
        self._heard = heard  # a recognized turn, words or not
        self._failed = failed  # recognition failed: the call cannot go on
        self._caller_active = caller_active
        self._upsample = Resampler(PHONE_RATE, PIPELINE_RATE)
        self._vad = speech.new_vad()
        self._turn = speech.new_end_of_turn()
        self._clock = 0.0  # seconds of caller audio received
        # A guess started at a pause: its task, the audio it heard, what it expected.
        self._speculative: tuple[asyncio.Task[Transcript], int, Expect | None] | None = None
        self._recognizing = 0
        settings = getattr(speech, "settings", None)
        self._early = bool(getattr(settings, "early_end_of_turn", True))

    @property
    def busy(self) -> bool:
        """The caller is mid-turn, or a turn is being recognized."""
        return bool(self._recognizing) or self._turn.in_turn

    async def hear(self, pcm8k: bytes) -> None:
        self._line.recorder.caller(pcm8k)
        self._clock += len(pcm8k) / (2 * PHONE_RATE)
        pcm16k = self._upsample.process(pcm8k)
        if not pcm16k:
            return
        # Silero on a 32 ms window takes well under a millisecond: cheaper inline than
        # a thread hop, and it keeps the frames in order.
        state = self._vad.analyze(pcm16k)
        event = self._turn.push(pcm16k, state, self._clock)
        if event is not None:
            await self._turn_event(event)

    async def flush(self) -> None:
        """The line dropped: words still being spoken are recognized and kept too."""
        last = self._turn.flush()
        if last is not None and last.kind is TurnEventKind.ENDED:
            await self._turn_event(last)

    def release(self) -> None:
        """Drop the call's audio (VAD state, the turn's buffer, a speculative guess)."""
        self._vad = self._turn = self._speculative = None  # type: ignore[assignment]

    async def _turn_event(self, event: TurnEvent) -> None:
        kind = event.kind
        if kind is TurnEventKind.STARTED:
            self._caller_active()
            if await self._line.speaker.interrupt():
                log.info("call %s: barge-in, playback cleared", self.session.call_sid)
        elif kind is TurnEventKind.PAUSED:
            # Start recognizing while the caller pauses; used if the turn ends here. Only
            # with the recognizer idle: a guess must not queue ahead of another call's turn.
            if self._speech.recognitions_in_flight == 0:
                expect = self.session.expect
                task = asyncio.create_task(self._transcribe(event.audio, expect))
                speculative = (task, len(event.audio), expect)
                self._speculative = speculative
                if self._early and expect is not None:
                    task.add_done_callback(
                        lambda done: self._end_if_complete(done, speculative, event.pause)
                    )
        elif kind is TurnEventKind.RESUMED:
            self._speculative = None
        else:
            self._ended(event)

    def _end_if_complete(
        self,
        task: asyncio.Task[Transcript],
        speculative: tuple[asyncio.Task[Transcript], int, Expect | None],
        pause: int,
    ) -> None:
        """The guess taken at `pause` is back: end the turn now if it is a complete answer
        and nothing moved since (no sound: RESUMED dropped the guess; same question)."""
        if self._turn is None or self._speculative is not speculative:
            return
        if task.cancelled() or task.exception() is not None:
            return  # the turn's own end awaits it and reports the failure
        expect, locale = speculative[2], self.session.locale
        if expect is not self.session.expect:
            return
        expectations = self._speech.expectations
        try:
            text, _ = expectations.snap(task.result().text.strip(), expect, locale)
            verdict = TurnCompletion.from_expectations(expectations).check(text, expect, locale)
        except Exception:  # the full silence still ends the turn
            log.exception("call %s: the completeness check failed", self.session.call_sid)
            return
        if not verdict:
            log.debug("call %s: no early end (%s)", self.session.call_sid, verdict.reason)
            return
        event = self._turn.end_now(self._clock, pause)
        if event is None:
            return
        log.info(
            "call %s: turn ended early at %d ms of silence (%s, expected %s)",
            self.session.call_sid,
            ms(event.silence),
            verdict.reason,
            expect.value if expect else "-",
        )
        self._ended(event)

    def _ended(self, event: TurnEvent) -> None:
        """ENDED (by silence, early, length, hang-up) or DISCARDED."""
        if event.kind is TurnEventKind.DISCARDED:
            self._speculative = None
        elif event.kind is TurnEventKind.ENDED:
            metrics.turn_ended(event.reason)
            now = time.monotonic()
            if event.reason == "silence":
                silence = self._turn.end_silence
            elif event.reason == "early":
                silence = event.silence  # the real silence so far, not the configured one
            else:
                silence = 0.0
            ended_s = event.at - silence  # the turn ends `silence` after the speech did
            heard = _Heard(
                audio=event.audio,
                started_s=max(0.0, ended_s - event.audio_seconds),
                ended_s=ended_s,
                speech_ended_at=now - silence,
                turn_ended_at=now,
                expect=self.session.expect,
                how=event.reason,
            )
            speculative, self._speculative = self._speculative, None
            if speculative is not None and len(event.audio) - speculative[1] > _SPECULATION_SLACK:
                speculative = None  # the caller said more after the pause
            elif speculative is not None and speculative[2] is not heard.expect:
                speculative = None  # the bot asked something else meanwhile
            self._recognizing += 1
            task = self._work.spawn(self._recognize(heard, speculative))
            task.add_done_callback(lambda _: self._done_recognizing())

    def _done_recognizing(self) -> None:
        self._recognizing -= 1

    async def _transcribe(self, audio: bytes, expect: Expect | None) -> Transcript:
        speech = self._speech
        locale = self.session.locale
        transcriber = speech.transcriber(locale)
        hints = speech.expectations.hints_for(expect, locale)
        speech.recognitions_in_flight += 1
        try:
            return await asyncio.to_thread(transcriber.transcribe, audio, hints)
        finally:
            speech.recognitions_in_flight -= 1

    async def _recognize(
        self,
        heard: _Heard,
        speculative: tuple[asyncio.Task[Transcript], int, Expect | None] | None,
    ) -> None:
        try:
            if speculative is not None:
                transcript = await speculative[0]
            else:
                transcript = await self._transcribe(heard.audio, heard.expect)
        except Exception as error:
            log.exception("call %s: recognition failed", self.session.call_sid)
            await self._failed(f"speech recognition failed: {error}")
            return
        text, snaps = self._speech.expectations.snap(
            transcript.text.strip(), heard.expect, self.session.locale
        )
        turn = CallerTurn(
            text=text,
            started_ms=int(heard.started_s * 1000),
            ended_ms=int(heard.ended_s * 1000),
            confidence=transcript.confidence,
            speech_ended_at=heard.speech_ended_at,
            stage_ms={
                "end_of_turn": ms(heard.turn_ended_at - heard.speech_ended_at),
                "recognition": ms(time.monotonic() - heard.turn_ended_at),
            },
        )
        # What the caller said is theirs: its words only at DEBUG, never in the INFO log.
        log.info(
            "call %s: caller turn of %d words (confidence %s, recognizer %.2fs, speculative %s, "
            "expected %s, %d words snapped, ended by %s)",
            self.session.call_sid,
            len(text.split()),
            transcript.confidence,
            transcript.seconds,
            speculative is not None,
            heard.expect.value if heard.expect else "-",
            len(snaps),
            heard.how,
        )
        log.debug(
            "call %s: caller said %r (heard %r)", self.session.call_sid, text, transcript.text
        )
        self._heard(turn)
