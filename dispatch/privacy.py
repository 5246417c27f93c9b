"""Caller numbers out of text meant for people other than the caller (logs, files).

`mask_phone` (dispatch.contract) masks one number we know is a number; `mask_numbers`
is the safety net for free text: any E.164-looking number in it is masked, so a log
call that forgot to mask still prints no caller's number. dispatch/ is the bottom
layer, so voice/, nlu/ and dutyline/ may all import this.
"""

from __future__ import annotations

import re

from dispatch.contract import mask_phone

# "+15185550142", "+1 518-555-0142", "+821012345678" and the URL-encoded "%2B1518...".
# A leading "+" (or %2B) is required: ticket numbers (2611230042) and times stay readable.
_E164 = re.compile(r"(?<!\d)(\+|%2[Bb])([1-9](?:[ .-]?\d){6,14})(?!\d)")


def _mask(match: re.Match[str]) -> str:
    plus, digits = match.group(1), match.group(2)
    return plus + mask_phone("+" + digits)[1:]


def mask_numbers(text: str) -> str:
    """Every E.164-looking number in `text` masked as `mask_phone` does."""
    return _E164.sub(_mask, text) if ("+" in text or "%2" in text) else text
