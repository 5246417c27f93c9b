"""The place a caller names, as an officer wants to read it.

When the bot asks "where is it?", the caller's whole answer is the location:
fillers and lead-ins ("um it's at") go, spoken numbers become digits, the
ways of naming a corner become "corner of X and Y", and landmarks are kept as
said ("behind the Walmart on Route 9").
"""

from __future__ import annotations

import re

from nlu.numbers import korean_to_digits, words_to_digits

FILLERS = {"um", "uh", "uhm", "umm", "er", "erm", "hmm", "mm", "ah", "음", "어", "저기", "저기요"}
# Lead-ins that carry no place: removed from the start, longest first.
LEAD_INS = sorted(
    [
        "yeah",
        "yes",
        "okay",
        "ok",
        "so",
        "well",
        "like",
        "alright",
        "sure",
        "it's",
        "it is",
        "its",
        "that's",
        "that is",
        "this is",
        "i'm",
        "i am",
        "we're",
        "we are",
        "i live",
        "we live",
        "the address is",
        "my address is",
        "address is",
        "the location is",
        "location is",
        "the place is",
        "it's located",
        "located",
        "i'm calling from",
        "calling from",
        "i'm calling about",
        "right",
        "at",
        "on",
        "over",
        "just",
        "um",
        "it happened",
        "it's happening",
        "happening",
    ],
    key=len,
    reverse=True,
)
TRAILERS = ["please", "thank you", "thanks", "i think", "i guess", "okay", "ok"]
# Words kept in lower case when the place is capitalized.
SMALL_WORDS = {
    "a",
    "an",
    "the",
    "of",
    "and",
    "on",
    "at",
    "by",
    "near",
    "in",
    "front",
    "across",
    "from",
    "behind",
    "outside",
    "next",
    "to",
    "corner",
    "between",
    "off",
    "right",
    "just",
    "past",
    "before",
    "after",
    "opposite",
    "inside",
    "around",
    "close",
    "with",
}
_CORNER = re.compile(
    r"^(?:(?:on|at)\s+)?(?:the\s+)?(?:corner|intersection|crossing)\s+of\s+(.+?)\s+(?:and|&)\s+(.+)$"
)
_BARE_CORNER = re.compile(
    r"^([\w'.]+(?:\s+[\w'.]+){0,2})\s+(?:and|&)\s+([\w'.]+(?:\s+[\w'.]+){0,2})$"
)


def _strip_lead_ins(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for lead in LEAD_INS:
            if text == lead:
                return ""
            if text.startswith(lead + " "):
                text = text[len(lead) + 1 :]
                changed = True
                break
    return text


def _strip_trailers(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for trail in TRAILERS:
            if text.endswith(" " + trail):
                text = text[: -len(trail) - 1]
                changed = True
    return text


def _capitalize(text: str) -> str:
    return " ".join(
        w if w in SMALL_WORDS or w[:1].isdigit() else w[:1].upper() + w[1:] for w in text.split()
    )


def normalize_location(spoken: str) -> str:
    """The caller's answer as a place: "um it's at twelve main street" -> "12 Main Street".

    Returns "" when nothing of a place is left (e.g. the answer was only "um").
    """
    text = re.sub(r"[^\w\s'&-]", " ", spoken.lower())
    text = " ".join(w for w in text.split() if w not in FILLERS)
    text = _strip_trailers(_strip_lead_ins(text)).strip()
    if not text:
        return ""
    text = korean_to_digits(words_to_digits(text))
    corner = _CORNER.match(text)
    bare = None if corner else _BARE_CORNER.match(text)
    if bare and not any(part.split()[0] in SMALL_WORDS for part in bare.groups()):
        corner = bare
    if corner:
        first, second = (_capitalize(part.strip()) for part in corner.groups())
        return f"corner of {first} and {second}"
    return _capitalize(text)
