"""One call's pipeline: line frames in -> listen -> dialogue -> speak -> line. Wiring only.

    CallerAudio  -> Listener (voice/listening.py) -> CallerTurn -+
    KeypadPressed -> Keypad (voice/keypad.py) ----> CallerTurn -+-> Conversation
    CallEvent ("start", "no_input" from CallTimers) ------------+   (voice/conversation.py)
    Conversation -> Dialogue -> BotSays -> Speaker -> line;  MarkPlayed -> Speaker
    CallEnding (voice/call_ending.py): hang-up, transfer, triage, teardown, the record
    CallTimers (voice/timers.py): maximum length, no input, keypad pauses
    Voicemail (voice/voicemail.py), in the conversation's place when the stream's `mode` is
    voicemail (a transfer nobody answered): no dialogue, the message becomes a ticket;
    CapacityVoicemail (voice/capacity_message.py) when it is at_capacity (the line was full)

Nothing here blocks the event loop: recognition and synthesis run in worker threads,
dispatch calls too. A citizen is never stranded: when the dialogue or recognition fails,
the caller hears an apology, what they said is filed as a triage ticket, and the call
ends politely.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dispatch.contract import mask_phone
from dispatch.logcontext import bind_call_sid
from voice.call_ending import CallEnding
from voice.call_line import BackgroundWork, CallLine
from voice.call_session import CallRegistry, CallSession, CallState
from voice.capacity_message import CapacityVoicemail, MessageListener
from voice.conversation import Conversation
from voice.frames import (
    CallerAudio,
    CallStarted,
    CallStopped,
    Frame,
    KeypadPressed,
    MarkPlayed,
    StreamConnected,
)
from voice.keypad import Keypad
from voice.listening import Listener
from voice.metrics import call_ended, call_started
from voice.recorder import CallRecorder
from voice.speaker import Speaker
from voice.timers import CallTimers
from voice.voicemail import Voicemail

log = logging.getLogger("dutyline.voice.pipeline")


@dataclass
class _Call:
    """The parts of a call whose stream has started."""

    line: CallLine
    listener: Listener
    keypad: Keypad
    conversation: Conversation | Voicemail  # whoever answers the caller
    ending: CallEnding
    tasks: list[asyncio.Task[Any]]


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
        self.session = session or CallSession()
        self.registry = registry
        self._send = send
        self._close_line = close_line
        self._closed = asyncio.Event()
        self._call: _Call | None = None

    @property
    def closed(self) -> asyncio.Event:
        return self._closed

    async def run(self, frames: AsyncIterator[Frame]) -> None:
        """Consume the line's frames until the call ends; then close the call's record."""
        try:
            async for frame in frames:
                await self.handle(frame)
                if self._closed.is_set():
                    break
        finally:
            await asyncio.shield(self._teardown())

    async def handle(self, frame: Frame) -> None:
        call = self._call
        if isinstance(frame, CallerAudio):
            if call is not None and self.session.state in (CallState.STREAMING, CallState.ENDING):
                await call.listener.hear(frame.pcm8k)
        elif isinstance(frame, MarkPlayed):
            if call is not None:
                call.line.speaker.mark_played(frame.name)
        elif isinstance(frame, KeypadPressed):
            if call is not None and self.session.active:
                await call.keypad.pressed(frame.digit)
        elif isinstance(frame, CallStarted):
            if self.session.state is not CallState.CONNECTED:
                log.warning("call %s: a second start message, ignored", self.session.call_sid)
                self.session.bad_frames += 1
                return
            self._start(frame)
        elif isinstance(frame, CallStopped):
            log.info("call %s: the line stopped the stream", self.session.call_sid)
            self._closed.set()
        elif isinstance(frame, StreamConnected):
            pass

    def _start(self, frame: CallStarted) -> None:
        session, services, settings = self.session, self.services, self.services.settings
        session.start(frame.call_sid, frame.stream_sid, frame.parameters)
        self.registry.add(session)
        speech = services.speech
        path = settings.recordings_dir / f"{session.started_at:%Y%m%d}" / f"{session.call_sid}.wav"
        recorder = CallRecorder.continuing(path) if session.voicemail else CallRecorder(path)
        speaker = Speaker(
            self._send,
            recorder,
            lambda: speech.synthesizer(session.locale),
            lambda text: speech.prompt_cache.get(text, session.locale),
            lambda utterance: conversation.bot_turn_finished(utterance),
            cached=lambda text: speech.prompt_cache.cached(text, session.locale),
        )
        line, work = CallLine(recorder, speaker), BackgroundWork()
        timers = CallTimers(
            session,
            line,
            no_input_timeout=settings.no_input_timeout_seconds,
            max_call_seconds=settings.max_call_seconds,
        )
        ending = CallEnding(
            session,
            services.dispatch,
            services.call_control,
            line,
            work,
            closed=self._closed,
            close_line=self._close_line,
            earlier_tickets=not session.voicemail,
        )
        keypad = Keypad(
            session,
            line,
            keyed=lambda turn: answers.keyed(turn),
            caller_active=timers.caller_active,
        )
        conversation = Conversation(
            session, services.dialogue, services.dispatch, line, work, keypad, ending
        )
        answers: Conversation | Voicemail = conversation
        if session.voicemail:
            answers = Voicemail(
                session,
                services.dispatch,
                line,
                work,
                conversation,
                ending,
                dial_status=frame.parameters.get("dial", ""),
                max_seconds=settings.voicemail_max_seconds,
                listening=lambda: listener.busy,
            )
        # The line was full (voice/capacity.py): a message is taken, no dialogue, no VAD.
        message = MessageListener.for_session(session, line, timers.caller_active, settings)
        if message is not None:
            answers = CapacityVoicemail(
                session, services, line, work, conversation, ending, listener=message
            )
        listener = message or Listener(
            session,
            speech,
            line,
            work,
            heard=answers.heard,
            failed=ending.fail,
            caller_active=timers.caller_active,
        )
        bind_call_sid(session.call_sid)  # this task's log lines, and the tasks it starts
        log.info(
            "call %s from %s: stream %s started (%s)",
            session.call_sid,
            mask_phone(session.caller_number),
            session.stream_sid,
            session.mode,
        )
        sid = session.call_sid
        tasks = [
            asyncio.create_task(speaker.run(), name=f"speaker {sid}"),
            asyncio.create_task(answers.run(), name=f"{session.mode} {sid}"),
            asyncio.create_task(
                timers.run(listener, keypad, answers, ending), name=f"timers {sid}"
            ),
        ]
        self._call = _Call(line, listener, keypad, answers, ending, tasks)
        call_started()  # ended in _teardown, which runs for every call with a _Call
        answers.event("start")

    async def _teardown(self) -> None:
        self._closed.set()
        call, self._call = self._call, None
        if call is None or not self.session.call_sid:
            return  # the stream never started
        try:
            await call.ending.teardown(
                tasks=call.tasks,
                listener=call.listener,
                conversation=call.conversation,
                registry=self.registry,
            )
        finally:
            call_ended(self.session.outcome)
