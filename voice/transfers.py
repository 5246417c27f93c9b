"""Transfers that land: the `<Dial>` TwiML, and what happens when nobody answers.

A transfer rings for a limited time, shows the officer the caller's number, and tells us
how it ended (Dial's signed `action` callback). Unanswered, busy or failed, the call goes
back to our own Media Stream in voicemail mode: the bot takes the message itself, on the
city's machines (voice/voicemail.py), and files it as a voicemail ticket. Twilio records
nothing. An unanswered emergency transfer takes no message: the caller is told to dial the
emergency number themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.twiml.voice_response import Connect, VoiceResponse

DIAL_PATH = "/twilio/dial"
# Twilio's DialCallStatus values: the officer took the call...
ANSWERED = frozenset({"completed", "answered"})
# ...or did not (anything unknown is treated the same way: the caller is never dropped).
UNANSWERED = frozenset({"no-answer", "busy", "failed", "canceled"})
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


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
    emergency_unanswered: str  # {emergency_number}


PROMPTS = {
    "en": Prompts(
        language="en-US",
        voice=None,
        emergency_unanswered="The emergency line did not answer. Please hang up and dial "
        "{emergency_number} now.",
    ),
    "ko": Prompts(
        language="ko-KR",
        voice="Polly.Seoyeon",
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
    voicemail: Connect,
    locale: str,
    emergency_number: str,
) -> VoiceResponse:
    """Dial's action callback: answered ends the call; otherwise the caller goes back to our
    own Media Stream (`voicemail`: its <Connect><Stream> in voicemail mode) to leave a message."""
    response = VoiceResponse()
    if status in ANSWERED:
        response.hangup()
        return response
    if emergency:
        words = prompts_for(locale)
        text = words.emergency_unanswered.format(emergency_number=emergency_number)
        response.say(text, language=words.language, voice=words.voice)
        response.hangup()
        return response
    response.append(voicemail)
    return response
