"""One call's processors: line frames in -> listen -> recognize -> dialogue -> speak -> line.

    CallerAudio -> recorder, 8->16 kHz, VAD, end of turn --(started)--> barge-in
                                                 --(paused)--> speculative recognition
                                                 --(ended)---> recognition -> CallerTurn
    KeypadPressed -> digits (menu choice at once; collected until '#' or a pause) -> CallerTurn
    CallerTurn / CallEvent -> Dialogue (one at a time, in order) -> BotSays -> Speaker
    MarkPlayed -> Speaker (what the caller has heard)

Nothing here blocks the event loop: recognition and synthesis run in worker
threads, dispatch calls too. A citizen is never stranded: when the dialogue or
recognition fails, the caller hears an apology, what they said is filed as a
triage ticket, and the call ends politely. Ending the call and filing the
ticket are shielded from cancellation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dispatch.contract import CallEnd, CallOutcome, ComplaintReport, TurnRecord, mask_phone
from dispatch.logcontext import bind_call_sid
from dutyline.memory import release_free_heap
from nlu.contract import BotReply, DialogueUnavailable
from voice import prompts
from voice.call_session import CallRegistry, CallSession, CallState
from voice.codec import Resampler
from voice.frames import (
    BotSays,
    CallerAudio,
    CallerTurn,
    CallEvent,
    CallStarted,
    CallStopped,
    Frame,
    KeypadPressed,
    MarkPlayed,
    StreamConnected,
)
from voice.recorder import CallRecorder
from voice.speaker import Speaker, Utterance
from voice.stages import PHONE_RATE, PIPELINE_RATE, Transcript
from voice.turn import TurnEvent, TurnEventKind

log = logging.getLogger("dutyline.voice.pipeline")

TICK_SECONDS = 0.1
DIGIT_PAUSE_SECONDS = 2.5  # keypad entry ends at '#' or after this pause
NO_INPUT_LIMIT = 3  # silences before the call ends politely
HANG_UP_GRACE_SECONDS = 30  # after the maximum length, however the goodbye went
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


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class CallPipeline:
    def __init__(
        self,
        services: Any,  # dutyline.app.Services (voice/ does not import the composition root)
        send: Callable[[Frame], Awaitable[None]],
        close_line: Callable[[], Awaitable[None]],
        registry: CallRegistry,
        session: CallSession | None = None,
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.session = session or CallSession()
        self._send = send
        self._close_line = close_line
        self.registry = registry
        self.recorder: CallRecorder | None = None
        self.speaker: Speaker | None = None
        self._inputs: asyncio.Queue[CallerTurn | CallEvent] = asyncio.Queue()
        self._busy = False  # the dialogue is working on an input
        self._tasks: list[asyncio.Task[Any]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._closed = asyncio.Event()
        self._tearing_down = False  # the line is gone: record what is left, say nothing
        self._dialogue_failed = False
        # listening
        self._upsample = Resampler(PHONE_RATE, PIPELINE_RATE)
        self._vad: Any = None
        self._turn: Any = None
        self._clock = 0.0  # seconds of caller audio received
        self._speculative: tuple[asyncio.Task[Transcript], int] | None = None
        self._recognizing = 0
        # keypad
        self._expect_digits = False
        self._digits = ""
        self._digits_deadline: float | None = None
        # timers
        self._quiet_since: float | None = None
        self._latency_from: float | None = None  # end of caller speech awaiting first bot audio

    # --- running -------------------------------------------------------------------

    async def run(self, frames: AsyncIterator[Frame]) -> None:
        """Consume the line's frames until the call ends; then close the call's record."""
        try:
            async for frame in frames:
                await self.handle(frame)
                if self._closed.is_set():
                    break
        finally:
            await asyncio.shield(self._teardown())

    @property
    def closed(self) -> asyncio.Event:
        return self._closed

    async def handle(self, frame: Frame) -> None:
        if isinstance(frame, CallerAudio):
            if self.session.state in (CallState.STREAMING, CallState.ENDING):
                await self._hear(frame.pcm8k)
        elif isinstance(frame, MarkPlayed):
            if self.speaker is not None:
                self.speaker.mark_played(frame.name)
        elif isinstance(frame, KeypadPressed):
            if self.session.active:
                await self._keypad(frame.digit)
        elif isinstance(frame, CallStarted):
            if self.session.state is not CallState.CONNECTED:
                log.warning("call %s: a second start message, ignored", self.session.call_sid)
                self.session.bad_frames += 1
                return
            await self._start(frame)
        elif isinstance(frame, CallStopped):
            log.info("call %s: the line stopped the stream", self.session.call_sid)
            self._closed.set()
        elif isinstance(frame, StreamConnected):
            pass

    async def _start(self, frame: CallStarted) -> None:
        session = self.session
        session.start(frame.call_sid, frame.stream_sid, frame.parameters)
        self.registry.add(session)
        speech = self.services.speech
        folder = self.settings.recordings_dir
        self.recorder = CallRecorder(
            folder / f"{session.started_at:%Y%m%d}" / f"{session.call_sid}.wav"
        )
        self.speaker = Speaker(
            self._send,
            self.recorder,
            lambda: speech.synthesizer(session.locale),
            lambda text: speech.prompt_cache.get(text, session.locale),
            self._bot_turn_finished,
        )
        self._vad = speech.new_vad()
        self._turn = speech.new_end_of_turn()
        bind_call_sid(session.call_sid)  # this task's log lines, and the tasks it starts
        log.info(
            "call %s from %s: stream %s started",
            session.call_sid,
            mask_phone(session.caller_number),
            session.stream_sid,
        )
        self._tasks = [
            asyncio.create_task(self.speaker.run(), name=f"speaker {session.call_sid}"),
            asyncio.create_task(self._converse(), name=f"dialogue {session.call_sid}"),
            asyncio.create_task(self._tick(), name=f"timers {session.call_sid}"),
        ]
        self._inputs.put_nowait(CallEvent("start"))

    # --- listening -------------------------------------------------------------------

    async def _hear(self, pcm8k: bytes) -> None:
        assert self.recorder is not None
        self.recorder.caller(pcm8k)
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

    async def _turn_event(self, event: TurnEvent) -> None:
        kind = event.kind
        if kind is TurnEventKind.STARTED:
            self._quiet_since = None
            if self.speaker is not None and await self.speaker.interrupt():
                log.info("call %s: barge-in, playback cleared", self.session.call_sid)
        elif kind is TurnEventKind.PAUSED:
            # Start recognizing while the caller pauses; used if the turn ends here. Only
            # with the recognizer idle: a guess must not queue ahead of another call's turn.
            if self.services.speech.recognitions_in_flight == 0:
                task = asyncio.create_task(self._transcribe(event.audio))
                self._speculative = (task, len(event.audio))
        elif kind is TurnEventKind.RESUMED:
            self._speculative = None
        elif kind is TurnEventKind.ENDED:
            now = time.monotonic()
            silence = self._turn.end_silence if event.reason == "silence" else 0.0
            ended_s = event.at - silence  # the turn ends `silence` after the speech did
            heard = _Heard(
                audio=event.audio,
                started_s=max(0.0, ended_s - event.audio_seconds),
                ended_s=ended_s,
                speech_ended_at=now - silence,
                turn_ended_at=now,
            )
            speculative, self._speculative = self._speculative, None
            if speculative is not None and len(event.audio) - speculative[1] > _SPECULATION_SLACK:
                speculative = None  # the caller said more after the pause
            self._recognizing += 1
            task = self._spawn(self._recognize(heard, speculative))
            task.add_done_callback(lambda _: self._done_recognizing())
        elif kind is TurnEventKind.DISCARDED:
            self._speculative = None

    def _done_recognizing(self) -> None:
        self._recognizing -= 1

    async def _transcribe(self, audio: bytes) -> Transcript:
        speech = self.services.speech
        transcriber = speech.transcriber(self.session.locale)
        speech.recognitions_in_flight += 1
        try:
            return await asyncio.to_thread(transcriber.transcribe, audio)
        finally:
            speech.recognitions_in_flight -= 1

    async def _recognize(
        self, heard: _Heard, speculative: tuple[asyncio.Task[Transcript], int] | None
    ) -> None:
        try:
            if speculative is not None:
                transcript = await speculative[0]
            else:
                transcript = await self._transcribe(heard.audio)
        except Exception as error:
            log.exception("call %s: recognition failed", self.session.call_sid)
            await self._fail(f"speech recognition failed: {error}")
            return
        text = transcript.text.strip()
        turn = CallerTurn(
            text=text,
            started_ms=int(heard.started_s * 1000),
            ended_ms=int(heard.ended_s * 1000),
            confidence=transcript.confidence,
            speech_ended_at=heard.speech_ended_at,
            stage_ms={
                "end_of_turn": _ms(heard.turn_ended_at - heard.speech_ended_at),
                "recognition": _ms(time.monotonic() - heard.turn_ended_at),
            },
        )
        # What the caller said is theirs: its words only at DEBUG, never in the INFO log.
        log.info(
            "call %s: caller turn of %d words (confidence %s, recognizer %.2fs, speculative %s)",
            self.session.call_sid,
            len(text.split()),
            transcript.confidence,
            transcript.seconds,
            speculative is not None,
        )
        log.debug("call %s: caller said %r", self.session.call_sid, text)
        if self._tearing_down or not self.session.active:
            if text:
                self._caller_turn(turn)  # the call is ending: no reply, but keep what was said
            return
        if not text:
            # The recognizer heard no words it trusts: ask again, never stay silent.
            self._say_fixed(prompts.NOT_HEARD, after_caller_at=heard.speech_ended_at)
            return
        self.session.no_input_count = 0
        self._inputs.put_nowait(turn)

    # --- keypad -----------------------------------------------------------------------

    async def _keypad(self, digit: str) -> None:
        self._quiet_since = None
        self.session.no_input_count = 0
        if self.speaker is not None:
            await self.speaker.interrupt()  # a key press cuts a prompt, as on any phone menu
        if not self._expect_digits:
            self._keyed(digit)
            return
        if digit == "#":
            self._flush_digits()
            return
        self._digits += digit
        self._digits_deadline = time.monotonic() + DIGIT_PAUSE_SECONDS

    def _flush_digits(self) -> None:
        digits, self._digits, self._digits_deadline = self._digits, "", None
        if digits:
            self._keyed(digits)

    def _keyed(self, digits: str) -> None:
        now_ms = self.recorder.now_ms if self.recorder else None
        self._inputs.put_nowait(
            CallerTurn(
                text=digits,
                via="keypad",
                started_ms=now_ms,
                ended_ms=now_ms,
                speech_ended_at=time.monotonic(),
            )
        )

    # --- the dialogue ---------------------------------------------------------------------

    def _metadata(self, **extra: Any) -> dict[str, Any]:
        session = self.session
        return {
            "call_sid": session.call_sid,
            "caller_number": session.caller_number,
            "called_number": session.called_number,
            "locale": session.locale,
            **extra,
        }

    async def _converse(self) -> None:
        dialogue = self.services.dialogue
        sid = self.session.call_sid
        while True:
            item = await self._inputs.get()
            if not self.session.active:
                continue
            self._busy = True
            after: float | None = None
            stages: dict[str, int] = {}
            asked_at = time.monotonic()
            try:
                if isinstance(item, CallerTurn):
                    after = item.speech_ended_at
                    stages = dict(item.stage_ms)
                    self._caller_turn(item)
                    if item.via == "keypad":
                        replies = await dialogue.keypad(sid, item.text)
                    else:
                        meta = self._metadata(asr_confidence=item.confidence)
                        replies = await dialogue.say(sid, item.text, meta)
                elif item.name == "start":
                    replies = await dialogue.start(sid, self._metadata())
                else:
                    replies = await dialogue.event(sid, item.name)
            except DialogueUnavailable as error:
                self._dialogue_failed = True
                log.error("call %s: the dialogue is unavailable: %s", sid, error)
                await self._fail(f"dialogue unavailable: {error}")
                return
            except Exception as error:
                self._dialogue_failed = True
                log.exception("call %s: the dialogue failed", sid)
                await self._fail(f"dialogue failed: {error}")
                return
            finally:
                self._busy = False
            stages["dialogue"] = _ms(time.monotonic() - asked_at)
            silence = isinstance(item, CallEvent) and item.name == "no_input"
            if silence:
                if self._silence_limit_reached(replies):
                    await self._end(
                        "no_input", "no input from the caller", goodbye=prompts.NO_INPUT_GOODBYE
                    )
                    continue
                if not any(r.text for r in replies):
                    replies = [*replies, BotReply(text=prompts.STILL_THERE)]
            await self._reply(replies, after, stages, outcome="no_input" if silence else None)

    def _silence_limit_reached(self, replies: list[BotReply]) -> bool:
        """The third silence ends the call: politely by the dialogue, or by us if it did not."""
        if self.session.no_input_count < NO_INPUT_LIMIT:
            return False
        return not any(_ends_call(r.control or {}) for r in replies)

    def _caller_turn(self, turn: CallerTurn) -> None:
        record = self.session.add_turn(
            speaker="caller",
            text=turn.text,
            via=turn.via,  # type: ignore[arg-type]
            started_ms=turn.started_ms,
            ended_ms=turn.ended_ms,
            asr_confidence=turn.confidence,
        )
        self._persist(record)

    async def _reply(
        self,
        replies: list[BotReply],
        after_caller_at: float | None,
        stages: dict[str, int],
        *,
        outcome: CallOutcome | None = None,
    ) -> None:
        assert self.speaker is not None
        self._expect_digits = False
        end: dict[str, Any] | None = None
        for reply in replies:
            control = reply.control or {}
            if control.get("ticket_number"):
                self.session.ticket_number = str(control["ticket_number"])
            if control.get("expect") == "digits":
                self._expect_digits = True
            terminal = _ends_call(control)
            if reply.text:
                self.speaker.say(
                    BotSays(
                        reply.text,
                        control,
                        must_finish=terminal or bool(control.get("ticket_number")),
                        after_caller_at=after_caller_at,
                        stage_ms=stages if after_caller_at is not None else {},
                    )
                )
                after_caller_at = None  # latency runs to the first reply's audio
            if terminal:
                end = control
        if end is not None:
            if end.get("transfer_to"):
                await self._end(
                    "transferred",
                    "transferred by the dialogue",
                    transfer_to=str(end["transfer_to"]),
                )
            else:
                await self._end(await self._outcome(end, outcome), "ended by the dialogue")

    async def _outcome(self, control: dict[str, Any], default: CallOutcome | None) -> CallOutcome:
        named = control.get("outcome")
        if named in CallOutcome.__args__:  # type: ignore[attr-defined]
            return named  # type: ignore[no-any-return]
        if default is not None:
            return default
        return "ticket_filed" if await self._existing_ticket() else "out_of_scope"

    def _say_fixed(
        self, text: str, *, after_caller_at: float | None = None, must_finish: bool = False
    ) -> None:
        if self.speaker is not None:
            self.speaker.say(
                BotSays(text, fixed=True, must_finish=must_finish, after_caller_at=after_caller_at)
            )

    def _bot_turn_finished(self, utterance: Utterance) -> None:
        """Store what the bot said once we know how much of it was heard."""
        say = utterance.say
        text = say.text
        if utterance.interrupted:
            heard = " ".join(utterance.heard)
            text = (
                f"{text} [interrupted; heard: {heard!r}]"
                if heard
                else f"{text} [interrupted before it was heard]"
            )
        latency = None
        stages: dict[str, int] = {}
        if say.after_caller_at is not None and utterance.first_audio_at is not None:
            latency = _ms(utterance.first_audio_at - say.after_caller_at)
            stages = {
                **say.stage_ms,
                "synthesis": _ms(utterance.first_audio_at - utterance.queued_at),
            }
        record = self.session.add_turn(
            speaker="bot",
            text=text,
            via="system" if say.fixed else "speech",
            started_ms=utterance.started_ms,
            ended_ms=utterance.ended_ms,
            latency_ms=latency,
            stage_ms=stages,
        )
        self._persist(record)

    # --- timers ---------------------------------------------------------------------------

    async def _tick(self) -> None:
        timeout = self.settings.no_input_timeout_seconds
        limit = self.settings.max_call_seconds
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            assert self.speaker is not None
            self.speaker.expire_marks()
            elapsed = now - self.session.started_clock
            if elapsed >= limit + HANG_UP_GRACE_SECONDS:
                log.warning(
                    "call %s: past the maximum length; closing the line", self.session.call_sid
                )
                self._closed.set()
                await self._close_line()
                return
            if not self.session.active:
                continue
            if elapsed >= limit:
                await self._end(
                    "failed", "maximum call length reached", goodbye=prompts.TOO_LONG, cut=True
                )
                continue
            if self._digits_deadline is not None and now >= self._digits_deadline:
                self._flush_digits()
            waiting = (
                self.speaker.audible
                or self._busy
                or not self._inputs.empty()
                or self._recognizing
                or self._turn.in_turn
                or self._digits
            )
            if waiting:
                self._quiet_since = None
            elif self._quiet_since is None:
                self._quiet_since = now
            elif now - self._quiet_since >= timeout:
                self._quiet_since = None
                await self._no_input()

    async def _no_input(self) -> None:
        self.session.no_input_count += 1
        count = self.session.no_input_count
        log.info("call %s: no input (%d of %d)", self.session.call_sid, count, NO_INPUT_LIMIT)
        self._inputs.put_nowait(CallEvent("no_input"))  # the dialogue re-prompts or says goodbye

    # --- ending -----------------------------------------------------------------------------

    async def _fail(self, reason: str) -> None:
        """Never strand a caller: apologise, file what they said for triage, end politely."""
        if not self.session.active:
            return
        ticket = await asyncio.shield(self._file_triage(reason))
        goodbye = prompts.failure_goodbye(ticket)
        await self._end("failed", reason, goodbye=goodbye, cut=True, fixed=ticket is None)

    async def _end(
        self,
        outcome: CallOutcome,
        reason: str,
        *,
        goodbye: str | None = None,
        transfer_to: str | None = None,
        cut: bool = False,
        fixed: bool = True,
    ) -> None:
        if not self.session.begin_ending(outcome, reason):
            return
        log.info("call %s: ending (%s: %s)", self.session.call_sid, outcome, reason)
        assert self.speaker is not None
        if cut:
            await self.speaker.interrupt()
        if goodbye:
            self.speaker.say(BotSays(goodbye, must_finish=True, fixed=fixed))
        self._spawn(self._hang_up_after_speaking(transfer_to), shielded=True)

    async def _hang_up_after_speaking(self, transfer_to: str | None) -> None:
        assert self.speaker is not None
        try:
            await asyncio.wait_for(self.speaker.idle_event.wait(), timeout=60)
        except TimeoutError:
            log.warning("call %s: the last words never finished playing", self.session.call_sid)
        if self._tearing_down:
            return  # the caller is already gone
        control = self.services.call_control
        sid = self.session.call_sid
        try:
            if transfer_to:
                caller = self.session.caller_number  # shown to the officer when real
                await asyncio.to_thread(control.transfer, sid, transfer_to, caller)
            else:
                await asyncio.to_thread(control.hang_up, sid)
        except Exception:
            log.exception("call %s: call control failed; closing the stream anyway", sid)
        self._closed.set()
        await self._close_line()

    async def _file_triage(self, reason: str) -> str | None:
        """File what the caller said as a triage ticket, unless this call already has a ticket."""
        session = self.session
        dispatch = self.services.dispatch
        existing = await self._existing_ticket()
        if existing:
            return existing
        try:
            if not session.caller_said_something and not session.caller_number:
                return None
            report = ComplaintReport(
                needs_triage=True,
                transcript=session.caller_transcript(),
                triage_reason=reason,
                caller_number=session.caller_number,
                call_sid=session.call_sid,
                channel="phone",
            )
            filed = await asyncio.to_thread(dispatch.file_complaint, report)
        except Exception:
            log.exception(
                "call %s: COULD NOT FILE the triage ticket; transcript: %s",
                session.call_sid,
                session.caller_transcript(),
            )
            return None
        session.ticket_number = filed.number
        log.info("call %s: triage ticket %s filed (%s)", session.call_sid, filed.number, reason)
        return filed.number

    def _persist(self, turn: TurnRecord) -> None:
        self._spawn(asyncio.to_thread(self._record_turn, turn))

    def _record_turn(self, turn: TurnRecord) -> None:
        try:
            self.services.dispatch.record_turn(turn)
        except Exception:
            log.exception("call %s: could not store turn %d", turn.call_sid, turn.index)

    def _spawn(self, work: Awaitable[Any], *, shielded: bool = False) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        if shielded:
            task.add_done_callback(_log_failure)
        return task

    async def _teardown(self) -> None:
        session = self.session
        self._closed.set()
        self._tearing_down = True
        if not session.call_sid:
            return  # the stream never started
        for task in self._tasks:
            task.cancel()
        if self.speaker is not None:
            self.speaker.abandon()
        while not self._inputs.empty():  # said, but the dialogue never got it: keep it
            item = self._inputs.get_nowait()
            if isinstance(item, CallerTurn):
                self._caller_turn(item)
        if self._turn is not None:
            # Words still being spoken when the line dropped are recognized and kept too.
            last = self._turn.flush()
            if last is not None and last.kind is TurnEventKind.ENDED:
                await self._turn_event(last)
        # Let recognition, stored turns and a triage ticket in flight finish; none may be dropped.
        pending = [t for t in self._background if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=30)
        hung_up = session.active  # nobody decided to end: the caller hung up
        had_ticket = await self._existing_ticket()
        if not had_ticket:
            # The dialogue files what it has gathered (kind, place, answers) for triage.
            await self._tell_dialogue_hangup()
        if hung_up:
            log.info("call %s: caller hung up", session.call_sid)
            reason = "caller hung up before the report was complete"
            outcome: CallOutcome = "ticket_filed" if had_ticket else "abandoned"
        else:
            reason, outcome = session.end_reason, session.outcome or "abandoned"
        if not had_ticket and session.caller_said_something and outcome != "transferred":
            await self._file_triage(reason)  # unless the dialogue just did
        session.finish(outcome, reason)
        if self.recorder is not None:
            try:
                session.recording_path = str(await asyncio.to_thread(self.recorder.save))
            except Exception:
                log.exception("call %s: could not save the recording", session.call_sid)
        await self._close_record()
        self.registry.done(session)
        # The pipeline sits in reference cycles (callbacks) that only the garbage collector's
        # rare full passes free; drop the call's audio now rather than then, and hand the
        # freed pages back so memory stays flat over thousands of calls.
        self.recorder = self.speaker = self._vad = self._turn = self._speculative = None
        self._tasks.clear()
        await asyncio.to_thread(release_free_heap)

    async def _existing_ticket(self) -> str | None:
        session = self.session
        if session.ticket_number:
            return session.ticket_number
        try:
            found = await asyncio.to_thread(
                self.services.dispatch.ticket_for_call, session.call_sid
            )
        except Exception:
            log.exception("call %s: could not look up the call's ticket", session.call_sid)
            return None
        session.ticket_number = found
        return found

    async def _close_record(self) -> None:
        session = self.session
        assert session.outcome is not None
        end = CallEnd(
            call_sid=session.call_sid,
            ended_at=datetime.now(UTC),
            outcome=session.outcome,
            recording_path=session.recording_path,
            telephony_status=session.telephony_status,
        )
        try:
            await asyncio.to_thread(self.services.dispatch.close_call, end)
        except Exception:
            log.exception("call %s: could not close the call record", session.call_sid)

    async def _tell_dialogue_hangup(self) -> None:
        """Tell the dialogue the call is over; it may file the report in progress for triage."""
        if self._dialogue_failed:
            return
        try:
            replies = await asyncio.wait_for(
                self.services.dialogue.event(self.session.call_sid, "hangup"), 15
            )
        except Exception as error:
            log.warning(
                "call %s: the dialogue missed the hang-up: %s", self.session.call_sid, error
            )
            return
        for reply in replies:
            if (reply.control or {}).get("ticket_number"):
                self.session.ticket_number = str(reply.control["ticket_number"])


def _ends_call(control: dict[str, Any]) -> bool:
    return bool(control.get("end_call") or control.get("transfer_to"))


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("call step failed", exc_info=task.exception())
