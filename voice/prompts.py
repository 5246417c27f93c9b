"""The fixed things the line says itself (not the dialogue); their audio is cached."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from voice.utterance_audio import PACE

log = logging.getLogger("dutyline.voice.prompts")

NOT_HEARD = "Sorry, I didn't catch that. Could you say it again?"
STILL_THERE = "Are you still there? Please tell me what you would like to report."
NO_INPUT_GOODBYE = (
    "I haven't heard anything, so I'll end the call now. Please call back any time. Goodbye."
)
TOO_LONG = (
    "We have reached the time limit for a call. A duty officer will review what you told me. "
    "Goodbye."
)
TROUBLE = (
    "I'm sorry, I'm having trouble on my side. I have written down what you told me, "
    "and a duty officer will follow it up. Goodbye."
)
FIXED = (NOT_HEARD, STILL_THERE, NO_INPUT_GOODBYE, TOO_LONG, TROUBLE)


def failure_goodbye(ticket_number: str | None) -> str:
    if not ticket_number:
        return TROUBLE
    spoken = " ".join(ticket_number)  # read the reference digit by digit
    return (
        "I'm sorry, I'm having trouble on my side. I have written down what you told me, "
        f"and a duty officer will follow it up. Your reference number is {spoken}. Goodbye."
    )


@dataclass(frozen=True)
class VoicemailPrompts:
    """What the line says when it takes a message after a transfer nobody answered."""

    leave_message: str
    saved: str  # {spoken_number}
    no_message: str  # {spoken_number}
    saved_for_later: str  # the database is away: kept on disk, no number yet
    not_saved: str

    @property
    def fixed(self) -> tuple[str, ...]:
        """The ones without a ticket number: cached."""
        return (self.leave_message, self.saved_for_later, self.not_saved)


VOICEMAIL = {
    "en": VoicemailPrompts(
        leave_message="Nobody could take your call just now. Please leave a message: where "
        "the problem is and what is wrong. Hang up when you are done.",
        saved="Thank you. Your message is saved as ticket {spoken_number}. A duty officer "
        "will follow it up. Goodbye.",
        no_message="I did not hear a message. Your call is noted as ticket {spoken_number}. "
        "Goodbye.",
        saved_for_later="Thank you. Your message is saved, and a duty officer will follow it "
        "up. Goodbye.",
        not_saved="I'm sorry, I could not save your message. Please call again later. Goodbye.",
    ),
    "ko": VoicemailPrompts(
        leave_message="지금은 담당자가 전화를 받을 수 없습니다. 장소와 문제를 말씀해 주세요. "
        "다 말씀하셨으면 전화를 끊으세요.",
        saved="감사합니다. 메시지가 접수 번호 {spoken_number} 번으로 저장되었습니다. "
        "안녕히 계세요.",
        no_message="메시지를 듣지 못했습니다. 통화가 접수 번호 {spoken_number} 번으로 "
        "기록되었습니다. 안녕히 계세요.",
        saved_for_later="감사합니다. 메시지가 저장되었습니다. 안녕히 계세요.",
        not_saved="죄송합니다. 메시지를 저장하지 못했습니다. 잠시 후 다시 전화해 주세요.",
    ),
}


def voicemail_prompts(locale: str) -> VoicemailPrompts:
    return VOICEMAIL.get(locale, VOICEMAIL["en"])


def _pace(text: str, audio_seconds: float, making_seconds: float) -> None:
    """The warm-up's sentences teach the Speaker how fast Piper is on this machine."""
    PACE.observe(len(text), audio_seconds, making_seconds)


@dataclass(frozen=True)
class WarmUp:
    """What the start-up synthesis cost."""

    prompts: int  # made now
    seconds: float
    audio_bytes: int  # the whole cache's 8 kHz PCM afterwards
    failed: bool = False


def warm(prompt_cache: Any, locale: str = "en", *, replies: Iterable[str] = ()) -> WarmUp:
    """Synthesize the fixed prompts now (blocking): call once after the models load.

    `replies`: the dialogue's sentences without a slot (nlu.fixed_replies), made too so
    the greeting, the questions and the goodbyes never wait for the synthesizer. Not done
    during a call: a caller waiting for a reply must not queue behind prompts nobody
    asked for yet. A locale the voice cannot speak is logged, not fatal: its sentences
    are synthesized when said, as before.
    """
    started = time.monotonic()
    made, failed = 0, False
    try:
        made += prompt_cache.warm((*FIXED, *voicemail_prompts(locale).fixed), locale)
        made += prompt_cache.warm(replies, locale, timed=_pace)
    except Exception:
        log.exception("could not cache the fixed prompts for locale %s", locale)
        failed = True
    result = WarmUp(made, round(time.monotonic() - started, 1), prompt_cache.audio_bytes, failed)
    log.info(
        "fixed prompts for %s: %d made in %.1f s, %.1f MB of audio cached",
        locale,
        result.prompts,
        result.seconds,
        result.audio_bytes / 1e6,
    )
    return result
