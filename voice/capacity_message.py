"""A message taken while the line is full (voice/capacity.py, `mode=at_capacity`).

The pipeline (voice/pipeline.py) puts a `MessageListener` where the Listener would be and
a `CapacityVoicemail` where the conversation would be: a fixed prompt, then the caller's
audio is recorded and kept; no VAD, no recognition while the line is busy. At the end ('#',
a long silence, the maximum length, or the caller hanging up) the message is filed at once
as a voicemail ticket, and its words are recognized afterwards, one message at a time and
only while no admitted call's turn is being recognized, and added to the ticket as a note.

    prompt -> caller's audio kept -> ticket (now) -> words as a note (when the line is quiet)
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from dispatch.contract import ComplaintReport, Dispatch
from nlu.contract import Outcome
from voice.call_ending import CallEnding
from voice.call_line import BackgroundWork, CallLine
from voice.call_session import CallSession
from voice.capacity import AT_CAPACITY_MODE, capacity_prompts
from voice.codec import resample
from voice.conversation import Conversation
from voice.frames import BotSays
from voice.stages import PHONE_RATE, PIPELINE_RATE
from voice.voicemail import Voicemail

log = logging.getLogger("dutyline.voice.pipeline")

# Louder than a quiet line's hiss (mu-law silence decodes to 0; line noise to tens),
# quieter than speech (hundreds to thousands): the caller is talking.
LOUD_RMS = 300.0
TALKING_SECONDS = 0.6  # after the last loud frame the caller still counts as talking
CHUNK_SECONDS = 10  # recognized a piece at a time: an admitted turn waits at most one piece
IDLE_POLL_SECONDS = 0.05
MAX_IDLE_WAIT_SECONDS = 600.0  # then recognize anyway: a message is never left unheard
DESCRIPTION = (
    "Voicemail: left while the line was full (at capacity); what the caller said follows "
    "as a note once recognized, and the call's recording has it."
)

_ONE_AT_A_TIME = threading.Lock()  # late recognitions, all calls: one at a time


class MessageListener:
    """In the Listener's place: the caller's audio into the recording and kept for later;
    the clocks told when the caller is talking (by loudness, no model)."""

    def __init__(
        self, line: CallLine, caller_active: Callable[[], None], *, max_seconds: float
    ) -> None:
        self._line = line
        self._caller_active = caller_active
        self._max_bytes = int(max_seconds * PHONE_RATE) * 2
        self._audio = bytearray()
        self._loud_at: float | None = None
        self.heard_voice = False

    @staticmethod
    def for_session(
        session: CallSession, line: CallLine, caller_active: Callable[[], None], settings: Any
    ) -> MessageListener | None:
        """One for a call in `mode=at_capacity`; None for any other."""
        if session.mode != AT_CAPACITY_MODE:
            return None
        return MessageListener(line, caller_active, max_seconds=settings.voicemail_max_seconds)

    @property
    def busy(self) -> bool:
        """The caller is talking."""
        return self._loud_at is not None and time.monotonic() - self._loud_at < TALKING_SECONDS

    async def hear(self, pcm8k: bytes) -> None:
        self._line.recorder.caller(pcm8k)
        if len(self._audio) < self._max_bytes:
            self._audio += pcm8k
        samples = np.frombuffer(pcm8k[: len(pcm8k) // 2 * 2], dtype="<i2").astype(np.float32)
        if samples.size and float(np.sqrt(np.mean(samples * samples))) >= LOUD_RMS:
            self._loud_at = time.monotonic()
            self.heard_voice = True
            self._caller_active()

    async def flush(self) -> None:
        """Nothing is mid-recognition: the audio is all kept already."""

    def take_audio(self) -> bytes:
        """The message so far (8 kHz PCM16); the listener keeps none of it afterwards."""
        audio, self._audio = bytes(self._audio), bytearray()
        return audio

    def release(self) -> None:
        self._audio = bytearray()


class CapacityVoicemail(Voicemail):
    """Answers a caller the full line took a message from: Voicemail's ending ('#', a long
    silence, the maximum length, the caller hanging up), its own words and filing."""

    def __init__(
        self,
        session: CallSession,
        services: Any,  # dutyline.app.Services
        line: CallLine,
        work: BackgroundWork,
        record: Conversation,
        ending: CallEnding,
        *,
        listener: MessageListener,
    ) -> None:
        settings = services.settings
        super().__init__(
            session,
            services.dispatch,
            line,
            work,
            record,
            ending,
            dial_status="line at capacity",
            max_seconds=settings.voicemail_max_seconds,
            listening=lambda: listener.busy,
        )
        self._listener = listener
        self._speech = services.speech
        self._prompts = capacity_prompts(session.locale, settings)
        self._max_calls = settings.max_calls
        self.outcome = Outcome.VOICEMAIL_AT_CAPACITY

    def event(self, name: str) -> None:
        if name == "start":
            self._line.speaker.say(BotSays(self._prompts.take_message, fixed=True))
        else:
            super().event(name)  # a long silence ends the message

    async def finish(self, reason: str) -> None:
        """We end the message: file it, thank the caller (a cached goodbye: no synthesis
        while the line is full, so no ticket number), hang up."""
        deadline = time.monotonic() + 10
        while self._listener.busy and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not self.session.active:
            return
        number, deferred = await self.file()
        words = self._prompts
        if number or deferred:
            goodbye = words.saved if self._listener.heard_voice else words.no_message
        else:
            goodbye = words.not_saved
        await self._ending.end("voicemail_at_capacity", reason, goodbye=goodbye)

    async def _file(self) -> str | None:
        session = self.session
        heard = self._listener.heard_voice
        audio = self._listener.take_audio()
        report = ComplaintReport(
            description=DESCRIPTION
            if heard
            else "Voicemail: left while the line was full; no message was heard, call the "
            "caller back.",
            caller_number=session.caller_number,
            call_sid=session.call_sid,
            channel="phone",
            needs_triage=True,
            triage_reason=f"voicemail: the line was at capacity ({self._max_calls} calls at once)",
        )
        try:
            filed = await asyncio.to_thread(self._dispatch.file_complaint, report)
        except Exception:
            log.exception("call %s: could not file the at-capacity voicemail", session.call_sid)
            raise
        session.ticket_number = filed.number
        log.info("call %s: at-capacity voicemail filed as %s", session.call_sid, filed.number)
        if heard:
            recognize_later(self._speech, self._dispatch, session.call_sid, session.locale, audio)
        return filed.number


# --- the words, later -----------------------------------------------------------------


def recognize_later(
    speech: Any, dispatch: Dispatch, call_sid: str, locale: str, audio8k: bytes
) -> threading.Thread:
    """Recognize a message off the call (a thread of its own, so it outlives the call) and
    add its words to the call's ticket as a note."""
    thread = threading.Thread(
        target=_recognize_and_note,
        args=(speech, dispatch, call_sid, locale, audio8k),
        name=f"late recognition {call_sid}",
        daemon=True,
    )
    thread.start()
    return thread


def _recognize_and_note(
    speech: Any, dispatch: Dispatch, call_sid: str, locale: str, audio8k: bytes
) -> None:
    try:
        with _ONE_AT_A_TIME:
            text = _recognize(speech, locale, resample(audio8k, PHONE_RATE, PIPELINE_RATE))
        note = (
            f"Voicemail words (recognized after the call): {text}"
            if text
            else "Voicemail: no words could be recognized; listen to the call's recording."
        )
        if dispatch.add_caller_note(call_sid, note) is None:
            log.error("call %s: no ticket to add the voicemail's words to", call_sid)
        words = len(text.split())
        log.info("call %s: at-capacity voicemail recognized (%d words)", call_sid, words)
    except Exception:
        log.exception("call %s: the at-capacity voicemail was not recognized", call_sid)


def _recognize(speech: Any, locale: str, pcm16k: bytes) -> str:
    transcriber = speech.transcriber(locale)
    texts = []
    for piece in pieces(pcm16k):
        _wait_until_idle(speech)
        text = transcriber.transcribe(piece).text.strip()
        if text:
            texts.append(text)
    return " ".join(texts)


def _wait_until_idle(speech: Any) -> None:
    """Until no admitted call's turn is being recognized (or queued for the recognizer)."""
    deadline = time.monotonic() + MAX_IDLE_WAIT_SECONDS
    while getattr(speech, "recognitions_in_flight", 0) > 0 and time.monotonic() < deadline:
        time.sleep(IDLE_POLL_SECONDS)


def pieces(pcm16k: bytes, seconds: int = CHUNK_SECONDS) -> list[bytes]:
    """The message in pieces of at most `seconds`, cut at the quietest 50 ms of each
    piece's last third (between words), silent pieces left out."""
    samples = np.frombuffer(pcm16k[: len(pcm16k) // 2 * 2], dtype="<i2")
    window = PIPELINE_RATE // 20
    longest = seconds * PIPELINE_RATE
    found, start = [], 0
    while start < len(samples):
        end = min(len(samples), start + longest)
        if end < len(samples):
            lo = start + longest * 2 // 3
            frames = samples[lo:end][: (end - lo) // window * window].astype(np.float32)
            energy = (frames.reshape(-1, window) ** 2).mean(axis=1)
            end = lo + int(np.argmin(energy)) * window + window // 2
        piece = samples[start:end]
        if piece.size and float(np.sqrt(np.mean(piece.astype(np.float32) ** 2))) >= LOUD_RMS / 4:
            found.append(piece.tobytes())
        start = end
    return found
