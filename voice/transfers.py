"""Transfers that land: the `<Dial>` TwiML, and what happens when nobody answers.

A transfer rings for a limited time, shows the officer the caller's number, and tells us
how it ended (Dial's signed `action` callback). Unanswered, busy or failed, the caller
hears a prompt and leaves a message (`<Record>`), filed as a voicemail ticket through the
dispatch contract. An unanswered emergency transfer takes no message: the caller is told
to dial the emergency number themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from dispatch.contract import ComplaintReport

DIAL_PATH = "/twilio/dial"
VOICEMAIL_PATH = "/twilio/voicemail"
# Twilio's DialCallStatus values: the officer took the call...
ANSWERED = frozenset({"completed", "answered"})
# ...or did not (anything unknown is treated the same way: the caller is never dropped).
UNANSWERED = frozenset({"no-answer", "busy", "failed", "canceled"})
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SILENCE_SECONDS = 5  # a message ends after this much silence


@dataclass(frozen=True)
class DialOptions:
    """How every transfer dials; built once from the settings."""

    ring_seconds: int = 25
    action_url: str | None = None  # the public address of DIAL_PATH; None: no callback
    fallback_caller_id: str | None = None  # the city's own number (TWILIO_FROM_NUMBER)
    emergency_number: str = "911"


@dataclass(frozen=True)
class Prompts:
    language: str  # Twilio <Say> language
    voice: str | None  # a <Say> voice that speaks it (Twilio's default speaks English only)
    leave_message: str
    saved: str  # {spoken_number}
    no_message: str  # {spoken_number}
    saved_for_later: str  # the database is away: kept on disk, no number yet
    not_saved: str
    emergency_unanswered: str  # {emergency_number}


PROMPTS = {
    "en": Prompts(
        language="en-US",
        voice=None,
        leave_message="Nobody could take your call just now. Please leave a message after "
        "the tone: where the problem is and what is wrong. Press the pound key or hang up "
        "when you are done.",
        saved="Thank you. Your message is saved as ticket {spoken_number}. A duty officer "
        "will follow it up. Goodbye.",
        no_message="I did not hear a message. Your call is noted as ticket {spoken_number}. "
        "Goodbye.",
        saved_for_later="Thank you. Your message is saved, and a duty officer will follow it "
        "up. Goodbye.",
        not_saved="I'm sorry, I could not save your message. Please call again later. Goodbye.",
        emergency_unanswered="The emergency line did not answer. Please hang up and dial "
        "{emergency_number} now.",
    ),
    "ko": Prompts(
        language="ko-KR",
        voice="Polly.Seoyeon",
        leave_message="지금은 담당자가 전화를 받을 수 없습니다. 삐 소리가 나면 장소와 "
        "문제를 말씀해 주세요. 다 말씀하셨으면 우물 정 버튼을 누르거나 전화를 끊으세요.",
        saved="감사합니다. 메시지가 접수 번호 {spoken_number} 번으로 저장되었습니다. "
        "안녕히 계세요.",
        no_message="메시지를 듣지 못했습니다. 통화가 접수 번호 {spoken_number} 번으로 "
        "기록되었습니다. 안녕히 계세요.",
        saved_for_later="감사합니다. 메시지가 저장되었습니다. 안녕히 계세요.",
        not_saved="죄송합니다. 메시지를 저장하지 못했습니다. 잠시 후 다시 전화해 주세요.",
        emergency_unanswered="긴급 전화가 연결되지 않았습니다. 지금 끊고 {emergency_number}에 "
        "직접 전화하세요.",
    ),
}


def prompts_for(locale: str) -> Prompts:
    return PROMPTS.get(locale, PROMPTS["en"])


def caller_id_for(caller: str | None, fallback: str | None) -> str | None:
    """The caller's own number when it is one (Twilio allows the calling number on a
    forwarded call); withheld or malformed ones ("anonymous", "266696687") make the
    officer's carrier refuse the call, so the city's number stands in for them."""
    if caller and E164.match(caller.strip()):
        return caller.strip()
    return fallback


def dial_twiml(to: str, caller: str | None, options: DialOptions) -> str:
    response = VoiceResponse()
    action = options.action_url
    if action and to == options.emergency_number:
        action += "?" + urlencode({"emergency": "1"})
    response.dial(
        to,
        action=action,
        method="POST" if action else None,
        timeout=options.ring_seconds,
        caller_id=caller_id_for(caller, options.fallback_caller_id),
    )
    return str(response)


def after_dial(
    status: str,
    *,
    emergency: bool,
    voicemail_url: str,
    locale: str,
    max_seconds: int,
    emergency_number: str,
) -> VoiceResponse:
    """Dial's action callback: answered ends the call; otherwise the caller leaves a message."""
    response = VoiceResponse()
    if status in ANSWERED:
        response.hangup()
        return response
    words = prompts_for(locale)
    if emergency:
        text = words.emergency_unanswered.format(emergency_number=emergency_number)
        response.say(text, language=words.language, voice=words.voice)
        response.hangup()
        return response
    url = f"{voicemail_url}?{urlencode({'dial': status or 'unknown'})}"
    response.say(words.leave_message, language=words.language, voice=words.voice)
    response.record(
        action=url,
        method="POST",
        max_length=max_seconds,
        timeout=SILENCE_SECONDS,
        finish_on_key="#",
        play_beep=True,
    )
    # Reached only when nothing was recorded (Twilio skips the action then): still a ticket.
    response.redirect(url, method="POST")
    return response


def voicemail_report(
    *,
    call_sid: str,
    caller: str | None,
    dial_status: str,
    recording_sid: str | None,
    recording_seconds: int | None,
) -> ComplaintReport:
    if recording_sid:
        length = f"{recording_seconds} s" if recording_seconds is not None else "a"
        what = f"a {length} recorded message (Twilio recording {recording_sid})"
    else:
        what = "no message was left; call the caller back"
    return ComplaintReport(
        needs_triage=True,
        triage_reason=f"voicemail: the transfer to a person was not answered ({dial_status})",
        description=f"Voicemail after an unanswered transfer: {what}.",
        caller_number=caller if caller and E164.match(caller) else None,
        call_sid=call_sid,
        channel="phone",
    )


def voicemail_saved(
    number: str | None, *, recorded: bool, locale: str, deferred: bool = False
) -> VoiceResponse:
    words = prompts_for(locale)
    response = VoiceResponse()
    if deferred:
        response.say(words.saved_for_later, language=words.language, voice=words.voice)
    elif number is None:
        response.say(words.not_saved, language=words.language, voice=words.voice)
    else:
        template = words.saved if recorded else words.no_message
        response.say(
            template.format(spoken_number=" ".join(number)),
            language=words.language,
            voice=words.voice,
        )
    response.hangup()
    return response
