"""The conversation: caller turns and call events to the dialogue, one at a time and in
order; its replies to the speaker; both sides' turns to the call's record.

    CallerTurn / CallEvent -> Dialogue -> BotSays -> Speaker
                                      \\-> how the dialogue read the turn (after the reply)
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from dispatch.contract import CallOutcome, Dispatch, TurnRecord
from nlu.contract import BotReply, Dialogue, DialogueUnavailable, Expect, Outcome, ReplyControl
from voice import metrics, prompts
from voice.call_ending import CallEnding
from voice.call_line import BackgroundWork, CallLine
from voice.call_session import CallSession
from voice.frames import BotSays, CallerTurn, CallEvent
from voice.keypad import Keypad
from voice.listening import ms
from voice.speaker import Utterance

log = logging.getLogger("dutyline.voice.pipeline")

NO_INPUT_LIMIT = 3  # silences before the call ends politely


NOT_HEARD_TIMES = 2  # "Sorry, I didn't catch that" at most twice in a row
NOT_UNDERSTOOD = "nlu_fallback"  # the dialogue's intent for a message it did not understand


class Conversation:
    def __init__(
        self,
        session: CallSession,
        dialogue: Dialogue,
        dispatch: Dispatch,
        line: CallLine,
        work: BackgroundWork,
        keypad: Keypad,
        ending: CallEnding,
    ) -> None:
        self.session = session
        self._dialogue = dialogue
        self._dispatch = dispatch
        self._line = line
        self._work = work
        self._keypad = keypad
        self._ending = ending
        self._inputs: asyncio.Queue[CallerTurn | CallEvent] = asyncio.Queue()
        self._busy = False  # the dialogue is working on an input
        self._not_heard = 0  # caller turns in a row with no words the recognizer trusts
        self.dialogue_failed = False
        # What the dialogue last said the call came to (a status check, a referral...).
        self.outcome: Outcome | None = None

    # --- inputs ----------------------------------------------------------------------

    @property
    def waiting(self) -> bool:
        """The dialogue has an input to answer."""
        return self._busy or not self._inputs.empty()

    def event(self, name: str) -> None:
        self._inputs.put_nowait(CallEvent(name))

    def keyed(self, turn: CallerTurn) -> None:
        self._inputs.put_nowait(turn)

    def heard(self, turn: CallerTurn) -> None:
        """A recognized caller turn."""
        if self._ending.tearing_down or not self.session.active:
            if turn.text:  # the call is ending: no reply, but keep what was said
                self.record_caller_turn(turn)
            return
        if not turn.text:
            self._not_heard += 1
            if self._not_heard > NOT_HEARD_TIMES:
                # Never the same question a third time: the dialogue takes it as not
                # understood, and offers the keypad, then a person (action_fallback).
                self._not_heard = 0
                self.event(NOT_UNDERSTOOD)
                return
            # The recognizer heard no words it trusts: ask again, never stay silent.
            words = prompts.line_prompts(self.session.locale)
            self.say_fixed(words.not_heard, after_caller_at=turn.speech_ended_at)
            return
        self._not_heard = 0
        self.session.no_input_count = 0
        self._inputs.put_nowait(turn)

    def keep_unanswered(self) -> None:
        """The line is gone: what the caller said that the dialogue never got is kept."""
        while not self._inputs.empty():
            item = self._inputs.get_nowait()
            if isinstance(item, CallerTurn):
                self.record_caller_turn(item)

    # --- the dialogue ------------------------------------------------------------------

    def _metadata(self, **extra: Any) -> dict[str, Any]:
        session = self.session
        return {
            "call_sid": session.call_sid,
            "caller_number": session.caller_number,
            "called_number": session.called_number,
            "locale": session.locale,
            "city": session.city,  # the actions geocode against the line's city
            **extra,
        }

    async def run(self) -> None:
        dialogue = self._dialogue
        sid = self.session.call_sid
        while True:
            item = await self._inputs.get()
            if not self.session.active:
                continue
            self._busy = True
            after: float | None = None
            stages: dict[str, int] = {}
            asked_at = time.monotonic()
            caller: tuple[TurnRecord, asyncio.Task[None]] | None = None
            message_id: str | None = None
            try:
                if isinstance(item, CallerTurn):
                    after = item.speech_ended_at
                    stages = dict(item.stage_ms)
                    caller = self.record_caller_turn(item)
                    if item.via == "keypad":
                        replies = await dialogue.keypad(sid, item.text)
                    else:
                        meta = self._metadata(asr_confidence=item.confidence)
                        replies = await dialogue.say(sid, item.text, meta)
                    message_id = dialogue.latest_message(sid)
                elif item.name == "start":
                    replies = await dialogue.start(sid, self._metadata())
                else:
                    replies = await dialogue.event(sid, item.name)
            except DialogueUnavailable as error:
                self.dialogue_failed = True
                log.error("call %s: the dialogue is unavailable: %s", sid, error)
                await self._ending.fail(f"dialogue unavailable: {error}")
                return
            except Exception as error:
                self.dialogue_failed = True
                log.exception("call %s: the dialogue failed", sid)
                await self._ending.fail(f"dialogue failed: {error}")
                return
            finally:
                self._busy = False
            stages["dialogue"] = ms(time.monotonic() - asked_at)
            silence = isinstance(item, CallEvent) and item.name == "no_input"
            if silence:
                if self._silence_limit_reached(replies):
                    goodbye = prompts.line_prompts(self.session.locale).no_input_goodbye
                    await self._ending.end("no_input", "no input from the caller", goodbye=goodbye)
                    continue
                if not any(r.text for r in replies):
                    still_there = prompts.line_prompts(self.session.locale).still_there
                    replies = [*replies, BotReply(text=still_there)]
            await self._reply(replies, after, stages, outcome="no_input" if silence else None)
            if caller is not None and message_id is not None:
                # After the reply is on its way: reading the intent never delays it.
                self._work.spawn(self._record_understanding(*caller, message_id))

    def _silence_limit_reached(self, replies: list[BotReply]) -> bool:
        """The third silence ends the call: politely by the dialogue, or by us if it did not."""
        if self.session.no_input_count < NO_INPUT_LIMIT:
            return False
        return not any(r.control.ends_call for r in replies)

    async def _reply(
        self,
        replies: list[BotReply],
        after_caller_at: float | None,
        stages: dict[str, int],
        *,
        outcome: CallOutcome | None = None,
    ) -> None:
        speaker = self._line.speaker
        self._keypad.expect_digits = False
        # The caller's next answer is to the last question asked; "are you still there?"
        # leaves the question standing.
        expect = next((r.control.expect for r in reversed(replies) if r.control.expect), None)
        if expect is not None or outcome != "no_input":
            self.session.expect = expect
        end: ReplyControl | None = None
        for reply in replies:
            control = reply.control
            if control.ticket_number:
                self.session.ticket_number = control.ticket_number
            named = control.outcome or (Outcome.TICKET_FILED if control.ticket_number else None)
            # A ticket filed is what the call came to, unless it ends another way (below).
            if named is not None and self.outcome is not Outcome.TICKET_FILED:
                self.outcome = named
            if control.expect in (Expect.DIGITS, Expect.SPELLING):  # a street may be keyed
                self._keypad.expect_digits = True
            if reply.text:
                speaker.say(
                    BotSays(
                        reply.text,
                        must_finish=control.ends_call or bool(control.ticket_number),
                        after_caller_at=after_caller_at,
                        stage_ms=stages if after_caller_at is not None else {},
                    )
                )
                after_caller_at = None  # latency runs to the first reply's audio
            if control.ends_call:
                end = control
        if end is None:
            return
        if end.transfer_to:
            await self._ending.end(
                end.outcome or "transferred",
                "transferred by the dialogue",
                transfer_to=end.transfer_to,
            )
        else:
            await self._ending.end(await self._outcome(end, outcome), "ended by the dialogue")

    async def _outcome(self, end: ReplyControl, default: CallOutcome | None) -> CallOutcome:
        if end.outcome is not None:
            return end.outcome.value  # type: ignore[return-value]
        if default is not None:
            return default
        if self.outcome is not None:
            return self.outcome.value  # type: ignore[return-value]
        return "ticket_filed" if await self._ending.existing_ticket() else "out_of_scope"

    async def tell_hangup(self) -> None:
        """Tell the dialogue the call is over; it may file the report in progress for triage."""
        if self.dialogue_failed:
            return
        try:
            replies = await asyncio.wait_for(
                self._dialogue.event(self.session.call_sid, "hangup"), 15
            )
        except Exception as error:
            log.warning(
                "call %s: the dialogue missed the hang-up: %s", self.session.call_sid, error
            )
            return
        for reply in replies:
            if reply.control.ticket_number:
                self.session.ticket_number = reply.control.ticket_number

    # --- speaking ----------------------------------------------------------------------

    def say_fixed(
        self, text: str, *, after_caller_at: float | None = None, must_finish: bool = False
    ) -> None:
        self._line.speaker.say(
            BotSays(text, fixed=True, must_finish=must_finish, after_caller_at=after_caller_at)
        )

    def bot_turn_finished(self, utterance: Utterance) -> None:
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
            latency = ms(utterance.first_audio_at - say.after_caller_at)
            stages = {
                **say.stage_ms,
                "synthesis": ms(utterance.first_audio_at - utterance.queued_at),
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
        metrics.bot_turn(latency, stages)
        self._store(record)

    # --- the record ----------------------------------------------------------------------

    def record_caller_turn(self, turn: CallerTurn) -> tuple[TurnRecord, asyncio.Task[None]]:
        record = self.session.add_turn(
            speaker="caller",
            text=turn.text,
            via=turn.via,  # type: ignore[arg-type]
            started_ms=turn.started_ms,
            ended_ms=turn.ended_ms,
            asr_confidence=turn.confidence,
        )
        metrics.recognized(turn.confidence)
        return record, self._store(record)

    async def _record_understanding(
        self, record: TurnRecord, stored: asyncio.Task[None], message_id: str
    ) -> None:
        """Add the intent and its confidence to a caller turn already stored."""
        sid = self.session.call_sid
        try:
            understood = await self._dialogue.understood(sid, message_id)
        except Exception as error:
            log.warning("call %s: turn %d's intent is unknown: %s", sid, record.index, error)
            return
        if understood.intent is None:
            return
        record = record.model_copy(
            update={"intent": understood.intent, "intent_confidence": understood.confidence}
        )
        self.session.turns[record.index - self.session.turn_base] = record
        await stored  # the first write lands first, or it would undo this one
        self._store(record)

    def _store(self, turn: TurnRecord) -> asyncio.Task[None]:
        return self._work.spawn(asyncio.to_thread(self._write_turn, turn))

    def _write_turn(self, turn: TurnRecord) -> None:
        try:
            self._dispatch.record_turn(turn)
        except Exception:
            log.exception("call %s: could not store turn %d", turn.call_sid, turn.index)
