"""Voicemail: after a transfer nobody answered, the bot takes the caller's message itself.

`<Dial>`'s callback (voice/routes.py) connects the call back to our own Media Stream with
`mode=voicemail`; the pipeline (voice/pipeline.py) then puts a `Voicemail` where the
conversation would be. No dialogue: a fixed prompt, then the caller's words are recorded
and recognized like any call's (on the city's machines; Twilio keeps nothing), and filed
as one voicemail ticket through the dispatch contract, in the shape nlu's
`file_voicemail` files (nlu/actions/calls.py).

    prompt -> CallerTurn... -> caller hangs up ---------------> ticket (at teardown)
                            -> '#', a long silence, max length -> ticket, thanks, hang up
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from dispatch.contract import ComplaintReport, Dispatch, FilingDeferred
from nlu.contract import Outcome
from voice.call_ending import CallEnding
from voice.call_line import BackgroundWork, CallLine
from voice.call_session import CallSession
from voice.conversation import Conversation
from voice.frames import BotSays, CallerTurn
from voice.prompts import spoken_digits, voicemail_prompts

log = logging.getLogger("dutyline.voice.pipeline")

VOICEMAIL_MODE = "voicemail"  # the stream's `mode` parameter
LISTENER_WAIT_SECONDS = 10.0  # at the end, for words still being recognized


class Voicemail:
    """Answers the caller in voicemail mode; offers what the pipeline's parts need of the
    conversation (`heard`, `keyed`, `event`, `waiting`, `run`; and for the end of the call
    `outcome`, `keep_unanswered`, `tell_hangup`)."""

    def __init__(
        self,
        session: CallSession,
        dispatch: Dispatch,
        line: CallLine,
        work: BackgroundWork,
        record: Conversation,
        ending: CallEnding,
        *,
        dial_status: str,
        max_seconds: float,
        listening: Callable[[], bool],
    ) -> None:
        self.session = session
        self._dispatch = dispatch
        self._line = line
        self._work = work
        self._record = record  # keeps both sides' turns on the call's record; never asked
        self._ending = ending
        self._dial_status = dial_status or "unknown"
        self._max_seconds = max_seconds
        self._listening = listening  # the caller is mid-turn or a turn is being recognized
        self._filing: asyncio.Task[str | None] | None = None
        self._words = voicemail_prompts(session.locale)
        self.outcome: Outcome | None = Outcome.VOICEMAIL
        self.waiting = False  # nothing is ever waiting for a dialogue

    # --- the caller ----------------------------------------------------------------------

    def event(self, name: str) -> None:
        if name == "start":
            self._line.speaker.say(BotSays(self._words.leave_message, fixed=True))
        elif name == "no_input" and self.session.active:
            self._work.spawn(self.finish("a long silence ended the message"), shielded=True)

    def heard(self, turn: CallerTurn) -> None:
        if turn.text:  # words or not, the audio is in the recording
            self.session.no_input_count = 0
            self._record.record_caller_turn(turn)

    def keyed(self, turn: CallerTurn) -> None:
        self._record.record_caller_turn(turn)
        if "#" in turn.text and self.session.active:
            self._work.spawn(self.finish("the caller pressed the pound key"), shielded=True)

    async def run(self) -> None:
        await asyncio.sleep(self._max_seconds)
        if self.session.active:
            self._work.spawn(self.finish("the message's maximum length"), shielded=True)

    # --- the end -----------------------------------------------------------------------

    async def finish(self, reason: str) -> None:
        """We end the message: file it, thank the caller, hang up."""
        deadline = time.monotonic() + LISTENER_WAIT_SECONDS
        while self._listening() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not self.session.active:
            return
        number, deferred = await self.file()
        words = self._words
        if number:
            template = words.saved if self._message() else words.no_message
            goodbye = template.format(spoken_number=spoken_digits(number, self.session.locale))
        else:
            goodbye = words.saved_for_later if deferred else words.not_saved
        await self._ending.end("voicemail", reason, goodbye=goodbye, fixed=number is None)

    def keep_unanswered(self) -> None:
        """Nothing waits for a dialogue: every turn is on the record as it is heard."""

    async def tell_hangup(self) -> None:
        """The caller hung up (their last words recognized): file the message."""
        await self.file()

    async def file(self) -> tuple[str | None, bool]:
        """File the message once, however many ask; (its ticket number, kept for later)."""
        if self._filing is None:
            self._filing = asyncio.ensure_future(self._file())
        try:
            return await asyncio.shield(self._filing), False
        except FilingDeferred:
            return None, True
        except Exception:
            return None, False

    def _message(self) -> str:
        """What the caller said (keys pressed aside)."""
        turns = self.session.turns
        return " ".join(
            t.text.strip() for t in turns if t.speaker == "caller" and t.via == "speech"
        ).strip()

    async def _file(self) -> str | None:
        session = self.session
        message = self._message()
        # As nlu/actions/calls.py `file_voicemail` files one: kind unknown, for triage.
        report = ComplaintReport(
            description=f"Voicemail: {message}"
            if message
            else "Voicemail: no message was left; call the caller back.",
            caller_number=session.caller_number,  # the record's wins (dispatch)
            call_sid=session.call_sid,
            channel="phone",
            transcript=session.caller_transcript() or None,
            needs_triage=True,
            triage_reason="voicemail: the transfer to a person was not answered "
            f"({self._dial_status})",
        )
        try:
            filed = await asyncio.to_thread(self._dispatch.file_complaint, report)
        except FilingDeferred:
            log.warning("call %s: voicemail kept on disk, filed later", session.call_sid)
            raise
        except Exception:
            log.exception("call %s: COULD NOT FILE the voicemail", session.call_sid)
            raise
        session.ticket_number = filed.number
        log.info("call %s: voicemail filed as ticket %s", session.call_sid, filed.number)
        return filed.number
