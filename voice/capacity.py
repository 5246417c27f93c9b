"""A line that knows when it is full: at most DUTYLINE_MAX_CALLS calls in the dialogue.

The incoming-call webhook (voice/routes.py) asks the `CapacityGate` for a slot. A slot is
held from the webhook until the call's Media Stream starts (a call answered but not yet
streaming counts), then the live CallRegistry counts the stream; a reservation whose
stream never comes expires after RESERVATION_SECONDS. Above capacity the caller gets
DUTYLINE_AT_CAPACITY:

    voicemail  a short fixed message on our own stream in `mode=at_capacity`, then the
               caller's message is recorded and filed as a voicemail ticket; no dialogue,
               no recognition during the call (voice/capacity_message.py)
    emergency  a short message with the emergency number and the city's alternatives
               (Twilio's <Say>: nothing on this machine's CPU), then hang up

Either way the call has a record whose outcome says so (dispatch.contract's
AT_CAPACITY_OUTCOMES), and `dutyline_calls_refused_total{reason="capacity"}` counts it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from voice.call_session import CallRegistry
from voice.transfers import prompts_for

log = logging.getLogger("dutyline.voice.capacity")

AT_CAPACITY_MODE = "at_capacity"  # the stream's `mode` parameter
# From the webhook's answer to the stream's `start`: Twilio takes a second or two.
RESERVATION_SECONDS = 15.0


class CapacityGate:
    """Counts this replica's calls in the dialogue and admits up to `max_calls`.

    Used on the event loop only (webhooks and streams), so no lock is needed."""

    def __init__(
        self,
        max_calls: int,
        *,
        hold_seconds: float = RESERVATION_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_calls = max_calls
        self.hold_seconds = hold_seconds
        self.clock = clock
        self._reserved: dict[str, float] = {}  # call sid -> when the reservation expires

    def admitted(self, registry: CallRegistry) -> set[str]:
        """The calls holding a slot: streams in the dialogue, and reservations not yet
        streaming. A reservation ends when its stream starts (the registry counts it
        from then on) or ends, or when it expires."""
        now = self.clock()
        for sid, expires in list(self._reserved.items()):
            if expires <= now or sid in registry.live or sid in registry.finished:
                del self._reserved[sid]
        streaming = {
            sid for sid, session in registry.live.items() if session.mode != AT_CAPACITY_MODE
        }
        return streaming | set(self._reserved)

    def admit(self, call_sid: str, registry: CallRegistry) -> bool:
        """Reserve a slot for this call, if one is free (a call asking again keeps its own)."""
        admitted = self.admitted(registry)
        if call_sid in admitted or len(admitted) < self.max_calls:
            self._reserved.setdefault(call_sid, self.clock() + self.hold_seconds)
            return True
        log.warning(
            "call %s: the line is full (%d of %d calls)", call_sid, len(admitted), self.max_calls
        )
        return False

    def release(self, call_sid: str) -> None:
        """The call ended before its stream started (Twilio's status callback)."""
        self._reserved.pop(call_sid, None)


def capacity_of(app: Any) -> CapacityGate:
    """The app's gate (one per app, made on first use from its settings)."""
    gate = getattr(app.state, "voice_capacity", None)
    if gate is None:
        gate = app.state.voice_capacity = CapacityGate(app.state.services.settings.max_calls)
    return gate


# --- what the caller hears --------------------------------------------------------------


@dataclass(frozen=True)
class CapacityPrompts:
    take_message: str  # {emergency_number}
    saved: str
    no_message: str
    not_saved: str
    refused: str  # {emergency_number} {alternatives}


PROMPTS = {
    "en": CapacityPrompts(
        take_message="All our lines are busy right now. If this is an emergency, hang up and "
        "dial {emergency_number}. Otherwise, please leave a message: where the problem is and "
        "what is wrong. Press the pound key or hang up when you are done.",
        saved="Thank you. Your message is saved, and a duty officer will follow it up. Goodbye.",
        no_message="I did not hear a message. Your call is noted, and a duty officer will "
        "follow it up. Goodbye.",
        not_saved="I'm sorry, I could not save your message. Please call again later. Goodbye.",
        refused="All our lines are busy right now, and we cannot take your call. If this is an "
        "emergency, hang up and dial {emergency_number}. {alternatives} Please call again "
        "later. Goodbye.",
    ),
    "ko": CapacityPrompts(
        take_message="지금은 모든 회선이 통화 중입니다. 긴급 상황이면 전화를 끊고 "
        "{emergency_number}에 전화하세요. 아니면 장소와 문제를 말씀해 주세요. 다 말씀하셨으면 "
        "우물 정자를 누르거나 전화를 끊으세요.",
        saved="감사합니다. 메시지가 저장되었습니다. 담당자가 확인하겠습니다. 안녕히 계세요.",
        no_message="메시지를 듣지 못했습니다. 통화가 기록되었고 담당자가 확인하겠습니다. "
        "안녕히 계세요.",
        not_saved="죄송합니다. 메시지를 저장하지 못했습니다. 잠시 후 다시 전화해 주세요.",
        refused="지금은 모든 회선이 통화 중이라 전화를 받을 수 없습니다. 긴급 상황이면 전화를 "
        "끊고 {emergency_number}에 전화하세요. {alternatives} 잠시 후 다시 전화해 주세요. "
        "안녕히 계세요.",
    ),
}


def capacity_prompts(locale: str, settings: Any) -> CapacityPrompts:
    """The line's words with this deployment's emergency number and alternatives filled in."""
    words = PROMPTS.get(locale, PROMPTS["en"])
    number = settings.emergency_number
    alternatives = settings.non_emergency_alternatives.strip()
    return CapacityPrompts(
        take_message=words.take_message.format(emergency_number=number),
        saved=words.saved,
        no_message=words.no_message,
        not_saved=words.not_saved,
        refused=" ".join(
            words.refused.format(emergency_number=number, alternatives=alternatives).split()
        ),
    )


def warm(prompt_cache: Any, settings: Any) -> None:
    """Synthesize the message mode's words now (blocking), as voice/prompts.py's warm()
    does: when the line is full, Piper is the busiest; none of this may wait for it."""
    words = capacity_prompts(settings.locale, settings)
    try:
        prompt_cache.warm((words.take_message, words.saved, words.no_message, words.not_saved),
                          settings.locale)  # fmt: skip
    except Exception:
        log.exception("could not cache the at-capacity prompts")


def refusal_twiml(settings: Any, locale: str | None = None) -> VoiceResponse:
    """DUTYLINE_AT_CAPACITY=emergency: the emergency number and the alternatives, then
    hang up, in the called line's language; Twilio speaks it, so a full machine does no
    work for it."""
    locale = locale or settings.locale
    voice = prompts_for(locale)
    response = VoiceResponse()
    text = capacity_prompts(locale, settings).refused
    response.say(text, language=voice.language, voice=voice.voice)
    response.hangup()
    return response
