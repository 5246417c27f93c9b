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


# Words that point at a place without naming one: "here", "my street", "outside" alone
# are never a place, however close a street name sounds ("here" ~ "Heron Way").
VAGUE_WORDS = {
    *("here", "there", "my", "our", "the", "this", "that", "his", "her", "their", "your"),
    *("street", "road", "house", "home", "place", "block", "corner", "area", "spot"),
    *("outside", "out", "front", "in", "around", "nearby", "near", "by", "right", "just"),
    *("over", "down", "up", "of", "me", "us", "it", "is", "neighborhood", "neighbourhood"),
    *("on", "at", "a", "an", "to", "across", "behind", "next", "opposite"),
    *("여기", "거기", "저기", "우리", "집", "앞", "근처", "동네", "이", "그"),
}


def is_vague(words: str) -> bool:
    """Nothing but pointing words ("right here", "outside my house"): no place named."""
    tokens = re.findall(r"[\w']+", words.lower())
    return not any(t not in VAGUE_WORDS and t not in FILLERS for t in tokens)


# How recognizers write a spelled letter ("el", "kay"); a lone letter is itself.
LETTER_NAMES = {
    **dict.fromkeys(("ay", "eh"), "a"),
    **dict.fromkeys(("bee", "be"), "b"),
    **dict.fromkeys(("see", "sea", "cee"), "c"),
    "dee": "d",
    **dict.fromkeys(("ef", "eff"), "f"),
    "gee": "g",
    "aitch": "h",
    "eye": "i",
    "jay": "j",
    "kay": "k",
    **dict.fromkeys(("el", "ell"), "l"),
    "em": "m",
    "en": "n",
    "oh": "o",
    **dict.fromkeys(("pee", "pea"), "p"),
    **dict.fromkeys(("queue", "cue"), "q"),
    **dict.fromkeys(("are", "ar"), "r"),
    **dict.fromkeys(("ess", "es"), "s"),
    **dict.fromkeys(("tee", "tea"), "t"),
    "you": "u",
    "vee": "v",
    "ex": "x",
    **dict.fromkeys(("why", "wye"), "y"),
    **dict.fromkeys(("zee", "zed"), "z"),
}


def spelled_word(spoken: str) -> str:
    """A street spelled letter by letter, as a word: "L. A. R. K. street" -> "lark street".

    Words that are not letters ("street") follow the spelled ones; an answer with fewer
    than two letters was not spelled and is returned as a place ("lark street").
    """
    tokens = re.findall(r"[^\W\d_]+", re.sub(r"(\w)[.-]", r"\1 ", spoken.lower()))
    tokens = [t for t in tokens if t not in FILLERS]
    letters: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "double" and i + 1 < len(tokens) and tokens[i + 1] in ("you", "u"):
            letters.append("w")
            i += 2
            continue
        letter = token if len(token) == 1 else LETTER_NAMES.get(token)
        (letters if letter and not rest else rest).append(letter or token)
        i += 1
    if len(letters) < 2:
        return normalize_location(spoken)
    return " ".join(["".join(letters), *rest])
