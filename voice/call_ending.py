"""Ending a call: the first decision to end wins; the goodbye plays; then hang up or
transfer (with the caller's number); on failure what the caller said becomes a triage
ticket; when the line is gone, what is left is recorded and the call's record closed.

Ending the call and filing the ticket are shielded from cancellation: a citizen is
never stranded, and nothing the caller said is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from dispatch.contract import CallEnd, CallOutcome, ComplaintReport, Dispatch
from nlu.contract import Outcome
from voice import prompts
from voice.call_line import BackgroundWork, CallLine
from voice.call_session import CallRegistry, CallSession
from voice.frames import BotSays
from voice.memory import release_free_heap

if TYPE_CHECKING:
    from voice.listening import Listener

log = logging.getLogger("dutyline.voice.pipeline")


class Conversation(Protocol):
    """What the end of a call needs from the conversation (voice/conversation.py)."""

    outcome: Outcome | None  # what the dialogue last said the call came to

    def keep_unanswered(self) -> None:
        """Record what the caller said that the dialogue never got."""
        ...

    async def tell_hangup(self) -> None:
        """Tell the dialogue the caller is gone (it may file the report in progress)."""
        ...


class CallEnding:
    def __init__(
        self,
        session: CallSession,
        dispatch: Dispatch,
        call_control: Any,  # voice.call_control's REST client (or the tests' stand-in)
        line: CallLine,
        work: BackgroundWork,
        *,
        closed: asyncio.Event,
        close_line: Callable[[], Awaitable[None]],
        earlier_tickets: bool = True,
    ) -> None:
        self.session = session
        self._dispatch = dispatch
        self._call_control = call_control
        self._line = line
        self._work = work
        self._closed = closed
        self._close_line = close_line
        # Whether a ticket filed on this call before this stream counts as the call's; not
        # for a voicemail after a transfer, which files its own message.
        self._earlier_tickets = earlier_tickets
        self.tearing_down = False  # the line is gone: record what is left, say nothing
        self._transferred = False  # the caller went on to another number

    async def close(self) -> None:
        """Close the stream now, whatever is playing."""
        self._closed.set()
        await self._close_line()

    async def fail(self, reason: str) -> None:
        """Never strand a caller: apologise, file what they said for triage, end politely."""
        if not self.session.active:
            return
        ticket = await asyncio.shield(self.file_triage(reason))
        goodbye = prompts.failure_goodbye(ticket, self.session.locale)
        await self.end("failed", reason, goodbye=goodbye, cut=True, fixed=ticket is None)

    async def end(
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
        self._transferred = transfer_to is not None
        speaker = self._line.speaker
        if cut:
            await speaker.interrupt()
        if goodbye:
            speaker.say(BotSays(goodbye, must_finish=True, fixed=fixed))
        self._work.spawn(self._hang_up_after_speaking(transfer_to), shielded=True)

    async def _hang_up_after_speaking(self, transfer_to: str | None) -> None:
        try:
            await asyncio.wait_for(self._line.speaker.idle_event.wait(), timeout=60)
        except TimeoutError:
            log.warning("call %s: the last words never finished playing", self.session.call_sid)
        if self.tearing_down:
            return  # the caller is already gone
        control = self._call_control
        sid = self.session.call_sid
        try:
            if transfer_to:
                caller = self.session.caller_number  # shown to the officer when real
                await asyncio.to_thread(control.transfer, sid, transfer_to, caller)
            else:
                await asyncio.to_thread(control.hang_up, sid)
        except Exception:
            log.exception("call %s: call control failed; closing the stream anyway", sid)
        await self.close()

    async def file_triage(self, reason: str) -> str | None:
        """File what the caller said as a triage ticket, unless this call already has a ticket."""
        session = self.session
        existing = await self.existing_ticket()
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
            filed = await asyncio.to_thread(self._dispatch.file_complaint, report)
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

    async def existing_ticket(self) -> str | None:
        session = self.session
        if session.ticket_number or not self._earlier_tickets:
            return session.ticket_number
        try:
            found = await asyncio.to_thread(self._dispatch.ticket_for_call, session.call_sid)
        except Exception:
            log.exception("call %s: could not look up the call's ticket", session.call_sid)
            return None
        session.ticket_number = found
        return found

    # --- the line is gone --------------------------------------------------------------

    async def teardown(
        self,
        *,
        tasks: list[asyncio.Task[Any]],
        listener: Listener,
        conversation: Conversation,
        registry: CallRegistry,
    ) -> None:
        """Record what is left, decide the outcome, save the recording, close the record."""
        session = self.session
        self._closed.set()
        self.tearing_down = True
        for task in tasks:
            task.cancel()
        self._line.speaker.abandon()
        conversation.keep_unanswered()
        await listener.flush()
        # Let recognition, stored turns and a triage ticket in flight finish; none may be dropped.
        await self._work.settle(timeout=30)
        hung_up = session.active  # nobody decided to end: the caller hung up
        had_ticket = await self.existing_ticket()
        if not had_ticket:
            # The dialogue files what it has gathered (kind, place, answers) for triage.
            await conversation.tell_hangup()
        if hung_up:
            log.info("call %s: caller hung up", session.call_sid)
            reason = "caller hung up before the report was complete"
            outcome: CallOutcome = _hung_up_outcome(had_ticket, conversation)
        else:
            reason, outcome = session.end_reason, session.outcome or "abandoned"
        if not had_ticket and session.caller_said_something and not self._transferred:
            await self.file_triage(reason)  # unless the dialogue just did
        session.finish(outcome, reason)
        try:
            path = await asyncio.to_thread(self._line.recorder.save)
            session.recording_path = str(path)
        except Exception:
            log.exception("call %s: could not save the recording", session.call_sid)
        await self._close_record()
        registry.done(session)
        # The parts of the pipeline refer to one another (callbacks), cycles only the garbage
        # collector's rare full passes free: drop the call's audio now rather than then, and
        # hand the freed pages back so memory stays flat over thousands of calls.
        listener.release()
        self._line.release()
        tasks.clear()
        await asyncio.to_thread(release_free_heap)

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
            await asyncio.to_thread(self._dispatch.close_call, end)
        except Exception:
            log.exception("call %s: could not close the call record", session.call_sid)


def _hung_up_outcome(had_ticket: str | None, conversation: Conversation) -> CallOutcome:
    """The caller hung up: a ticket filed, or what the dialogue last said the call was
    (a status check, a referral to the emergency number), or abandoned."""
    if had_ticket:
        return "ticket_filed"
    if conversation.outcome is not None:
        return conversation.outcome.value  # type: ignore[return-value]
    return "abandoned"
