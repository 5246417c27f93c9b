"""The fixed things the line says itself (not the dialogue), per locale; their audio is
cached, or is the city's recording of them (voice/recorded_prompts.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from voice.transfers import prompts_for
from voice.utterance_audio import PACE

log = logging.getLogger("dutyline.voice.prompts")


@dataclass(frozen=True)
class LinePrompts:
    """What the call pipeline says itself; each field's name is its prompt key."""

    not_heard: str
    still_there: str
    no_input_goodbye: str
    too_long: str
    trouble: str
    trouble_reference: str  # {spoken_number}: the apology with the triage ticket's number
    starting_up: str  # Twilio's <Say> before the models are in: never on our voice

    @property
    def fixed(self) -> tuple[str, ...]:
        """Spoken on our own voice without a number: cached (or recorded)."""
        return (self.not_heard, self.still_there, self.no_input_goodbye, self.too_long,
                self.trouble)  # fmt: skip


LINE = {
    "en": LinePrompts(
        not_heard="Sorry, I didn't catch that. Could you say it again?",
        still_there="Are you still there? Please tell me what you would like to report.",
        no_input_goodbye="I haven't heard anything, so I'll end the call now. Please call back "
        "any time. Goodbye.",
        too_long="We have reached the time limit for a call. A duty officer will review what "
        "you told me. Goodbye.",
        trouble="I'm sorry, I'm having trouble on my side. I have written down what you told "
        "me, and a duty officer will follow it up. Goodbye.",
        trouble_reference="I'm sorry, I'm having trouble on my side. I have written down what "
        "you told me, and a duty officer will follow it up. Your reference number is "
        "{spoken_number}. Goodbye.",
        starting_up="The city night line is starting up. Please call again in a minute.",
    ),
    "ko": LinePrompts(
        not_heard="죄송합니다. 잘 듣지 못했습니다. 다시 말씀해 주시겠어요?",
        still_there="아직 통화 중이신가요? 신고하실 내용을 말씀해 주세요.",
        no_input_goodbye="아무 말씀도 듣지 못해서 통화를 종료하겠습니다. 언제든지 다시 전화해 "
        "주세요. 안녕히 계세요.",
        too_long="통화 시간이 제한에 도달했습니다. 말씀하신 내용은 당직 담당자가 검토하겠습니다. "
        "안녕히 계세요.",
        trouble="죄송합니다. 시스템에 문제가 생겼습니다. 말씀하신 내용은 기록했고, 당직 "
        "담당자가 처리하겠습니다. 안녕히 계세요.",
        trouble_reference="죄송합니다. 시스템에 문제가 생겼습니다. 말씀하신 내용은 기록했고, "
        "당직 담당자가 처리하겠습니다. 접수 번호는 {spoken_number} 번입니다. 안녕히 계세요.",
        starting_up="야간 민원 전화가 준비 중입니다. 잠시 후 다시 전화해 주세요.",
    ),
}
# Korean digits as a phone reads them out, one by one (0 is 공, as in phone numbers).
_KOREAN_DIGITS = dict(zip("0123456789", "공일이삼사오육칠팔구", strict=True))


def line_prompts(locale: str) -> LinePrompts:
    """The call's words in its locale ("ko-KR" -> "ko"); English when there are none."""
    return LINE.get(locale, LINE.get(locale.split("-")[0], LINE["en"]))


def spoken_digits(number: str, locale: str = "en") -> str:
    """A reference number read digit by digit, in the call's language."""
    if line_prompts(locale) is LINE["ko"]:
        return " ".join(_KOREAN_DIGITS.get(c, c) for c in number)
    return " ".join(number)


# English, as before, for callers that have no locale at hand.
NOT_HEARD = LINE["en"].not_heard
STILL_THERE = LINE["en"].still_there
NO_INPUT_GOODBYE = LINE["en"].no_input_goodbye
TOO_LONG = LINE["en"].too_long
TROUBLE = LINE["en"].trouble
FIXED = LINE["en"].fixed


def failure_goodbye(ticket_number: str | None, locale: str = "en") -> str:
    words = line_prompts(locale)
    if not ticket_number:
        return words.trouble
    return words.trouble_reference.format(spoken_number=spoken_digits(ticket_number, locale))


def starting_up_twiml(locale: str = "en") -> VoiceResponse:
    """The webhook's answer before the models are in: Twilio says it in the line's
    language (voice/routes.py), then hangs up."""
    response = VoiceResponse()
    say = prompts_for(locale)
    response.say(line_prompts(locale).starting_up, language=say.language, voice=say.voice)
    response.hangup()
    return response


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
    return VOICEMAIL.get(locale, VOICEMAIL.get(locale.split("-")[0], VOICEMAIL["en"]))


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


def warm(
    prompt_cache: Any,
    locale: str = "en",
    *,
    replies: Iterable[str] = (),
    also: Iterable[str] = (),
) -> WarmUp:
    """Synthesize the fixed prompts now (blocking): call once after the models load.

    `replies`: the dialogue's sentences without a slot (nlu.fixed_replies), made too so
    the greeting, the questions and the goodbyes never wait for the synthesizer. Not done
    during a call: a caller waiting for a reply must not queue behind prompts nobody
    asked for yet. A locale the voice cannot speak is logged, not fatal: its sentences
    are synthesized when said, as before. `also`: more fixed prompts (the at-capacity
    words). What the city recorded is in the cache already and is not made again.
    """
    started = time.monotonic()
    made, failed = 0, False
    try:
        fixed = (*line_prompts(locale).fixed, *voicemail_prompts(locale).fixed, *also)
        made += prompt_cache.warm(fixed, locale)
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
