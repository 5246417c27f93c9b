"""The fixed things the line says itself (not the dialogue); their audio is cached."""

from __future__ import annotations

import logging
from typing import Any

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


def warm(prompt_cache: Any, locale: str = "en") -> None:
    """Synthesize the fixed prompts now (blocking): call once after the models load.

    Not done during a call: Piper serves one synthesis at a time, and a caller
    waiting for a reply must not queue behind prompts nobody asked for yet.
    """
    try:
        prompt_cache.warm(FIXED, locale)
    except Exception:
        log.exception("could not cache the fixed prompts")
