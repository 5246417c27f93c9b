"""A caller's words about a place, taken apart: house number, street words, a second
street or a landmark, and how they relate.

Speech recognition writes places as people say them: "um it's at forty two linden
street", "corner of Pearl and State", "the 300 block of Lark", "Broadway near Union
Station", "the high school on Madison Avenue". This module only reads the shape of the
sentence; which street or landmark the words mean is the matcher's job (matching.py),
so nothing here knows the city.

Spoken numbers become digits first (numbers.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from dispatch.places.numbers import korean_numbers, spoken_numbers, suffix

# Street-type words as written or abbreviated, to the word the matcher compares.
STREET_TYPES = {
    "street": "street",
    "st": "street",
    "str": "street",
    "avenue": "avenue",
    "ave": "avenue",
    "av": "avenue",
    "road": "road",
    "rd": "road",
    "drive": "drive",
    "dr": "drive",
    "lane": "lane",
    "ln": "lane",
    "court": "court",
    "ct": "court",
    "place": "place",
    "pl": "place",
    "terrace": "terrace",
    "ter": "terrace",
    "terr": "terrace",
    "way": "way",
    "wy": "way",
    "circle": "circle",
    "cir": "circle",
    "boulevard": "boulevard",
    "blvd": "boulevard",
    "path": "path",
    "parkway": "parkway",
    "pkwy": "parkway",
    "highway": "highway",
    "hwy": "highway",
}
STREET_TYPES |= {f"{kind}s": kind for kind in set(STREET_TYPES.values())}  # "Hamilton streets"
FILLERS = {"um", "uh", "uhm", "umm", "er", "erm", "hmm", "mm", "ah", "like", "so", "well",
           "음", "어", "저기", "저기요"}  # fmt: skip
# Lead-ins that carry no place, removed from the start (longest first).
LEAD_INS = sorted(
    (
        "yeah|yes|okay|ok|alright|sure|it's|it is|its|that's|that is|this is|there's|"
        "there is|i'm|i am|we're|we are|i live|we live|i live at|the address is|"
        "my address is|address is|the address|the location is|location is|the place is|"
        "it's located|located|i'm calling from|calling from|right|just|over|it happened|"
        "happening|at|on|in|somewhere|somewhere on|number|outside|outside of|in front of|"
        "across from|next to|near|by|behind|opposite|close to"
    )
    .replace("'", "")  # normalize() drops apostrophes: "it's" is "its" by then
    .split("|"),
    key=len,
    reverse=True,
)
TRAILERS = ("please", "thank you", "thanks", "i think", "i guess", "okay", "ok", "right")
# Words that alone never make a place: "here", "my street", "outside my house".
_VAGUE_WORDS = (
    "here there my our your his her their the a this that it its is i am we me us "
    "street road avenue lane way house home place outside inside in front of at on by "
    "near right out address corner block building apartment area neighborhood "
    "neighbourhood nearby around same usual down up over you know just where live "
    "side across from next to back yard driveway garage "
    "여기 거기 우리 집 집앞 앞 동네 근처 밖"  # here, our house, in front, the neighbourhood
)
VAGUE = frozenset(_VAGUE_WORDS.split())
# "Broadway near Union Station": what follows is a landmark (or a street) to be near.
_NEAR = re.compile(
    r"^(.+?)\s+(?:near|close to|next to|by|across from|opposite|behind|in front of|beside|"
    r"outside|outside of|around|past)\s+(.+)$"
)
# "quarter of": how a phone line's recognizer often hears "corner of".
_CORNER = re.compile(
    r"^(?:the\s+)?(?:corner|intersection|junction|crossing|quarter)\s+(?:of\s+)?(.+)$"
)
_BETWEEN = re.compile(r"^(.+?)\s+between\s+(.+?)\s+and\s+(.+)$")
# "and" is often heard as "in" or "an" ("Lincoln Avenue in 23rd Street"); "in front of" is
# no corner.
_CROSS = re.compile(r"^(.+?)\s+(?:and|at|in|an|n)\s+(?!front\b)(.+)$")
_ON = re.compile(r"^(.+?)\s+(?:on|off)\s+(.+)$")
_BLOCK = re.compile(
    r"^(?:the\s+)?(\d+)\s+(?:hundred\s+)?(?:blocks?\s+(?:of\s+)?|(?:black|lock)\s+(?:of|on)\s+)(.+)$"
)
# ("it has 2814 12th street": the street may be a numbered one)
_INNER_NUMBER = re.compile(r"^(?:.*\s)?(\d+)([a-z])?\s+((?:[^\d\s]|\d+(?:st|nd|rd|th)\b).*)$")
_LEADING_NUMBER = re.compile(r"^(\d+)([a-z])?\s+(.+)$")
_TRAILING_NUMBER = re.compile(r"^(.+?)\s+(?:number\s+)?(\d+)([a-z])?$")
KOREAN_ROADS = ("로", "길")  # Korean road names end so: 중앙로, 탄벌길, 광주대로
_ORDINAL_DIGITS = re.compile(r"^\d+(?:st|nd|rd|th)$")


class Relation(StrEnum):
    CROSS = "cross"  # first and second are streets that meet
    NEAR = "near"  # second is a landmark (or street) near a point of the first street
    ON = "on"  # first is a landmark (or a kind of one) on the street second
    BETWEEN = "between"  # first is a street, second "A and B" the two streets around


@dataclass(frozen=True)
class SpokenPlace:
    said: str
    text: str  # normalized: lower case, numbers as digits, abbreviations spelled out
    first: str = ""  # the street or landmark words
    number: str | None = None  # house number ("42", "42A") or a block's first number
    block: bool = False
    second: str | None = None
    relation: Relation | None = None
    problem: str | None = None  # "empty" or "vague"


def normalize(said: str) -> str:
    """Lower case, digits for spoken numbers, street types spelled out, no fillers."""
    text = said.lower().replace("&", " and ").replace("@", " at ")
    # "42-44 Lark Street" is a range: its first number; "12-3" (a Korean building's
    # main and sub number) is building 12.
    text = re.sub(r"(\d+)\s*-\s*\d+", r"\1", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # "1,718" is 1718
    text = re.sub(r"\b[a-z](\d+(?:st|nd|rd|th))\b", r"\1", text)  # "a8th": a letter run in
    text = re.sub(r"[^\w\s']+", " ", text).replace("'s ", "s ").replace("'", "")
    words = [w for w in text.split() if w not in FILLERS]
    words = [STREET_TYPES.get(w, w) if i > 0 else w for i, w in enumerate(words)]
    text = korean_numbers(spoken_numbers(" ".join(words)))
    # "219th 15th street": the house number written as an ordinal too, before the street's.
    text = re.sub(r"\b(\d+)(?:st|nd|rd|th) (?=\d+(?:st|nd|rd|th)\b)", r"\1 ", text)
    # "22 13 32nd street": a house number read in pairs and written as two numbers.
    return re.sub(r"\b([1-9]\d?) (\d{2})(?= (?:\d+(?:st|nd|rd|th)\b|[^\d\s]))", r"\1\2", text)


def _strip(text: str) -> str:
    changed = True
    while changed and text:
        changed = False
        for lead in LEAD_INS:
            if text == lead:
                return ""
            if text.startswith(lead + " "):
                text, changed = text[len(lead) + 1 :], True
                break
        for trail in TRAILERS:
            if text.endswith(" " + trail):
                text, changed = text[: -len(trail) - 1], True
    return re.sub(r"^(?:the|a)\s+", "", text).strip()


def _part(text: str) -> str:
    return _strip(text.strip())


def _is_vague(text: str) -> bool:
    return not any(ch.isdigit() for ch in text) and all(w in VAGUE for w in text.split())


def _number_and_street(text: str) -> tuple[str | None, str]:
    """ "42 linden street" -> ("42", "linden street"); "12 street" is 12th Street."""
    lead = _LEADING_NUMBER.match(text)
    if lead:
        number, letter, rest = lead.groups()
        if rest in STREET_TYPES.values():  # "12 street": a numbered street, no house number
            value = int(number)
            return None, f"{value}{suffix(value)} {rest}"
        return number + (letter or "").upper(), _part(rest)
    trail = _TRAILING_NUMBER.match(text)
    if trail and not _ORDINAL_DIGITS.match(trail.group(2)):
        rest, number, letter = trail.groups()
        # "Lark Street 42", "중앙로 12"; not "Route 9", a name with a number in it.
        last = rest.split()[-1]
        if last in STREET_TYPES.values() or len(rest.split()) > 1 or last.endswith(KOREAN_ROADS):
            return number + (letter or "").upper(), _part(rest)
    return None, text


def parse(said: str) -> SpokenPlace:
    """The parts of a place in what a caller said; see the module's docstring."""
    if not said or not said.strip():
        return SpokenPlace(said=said or "", text="", problem="empty")
    normalized = normalize(said)
    if not normalized:
        return SpokenPlace(said=said, text="", problem="empty")
    text = _strip(normalized)
    if not text:  # only lead-ins: "outside", "right here"
        return SpokenPlace(said=said, text=normalized, problem="vague")
    if _is_vague(text):
        return SpokenPlace(said=said, text=text, problem="vague")
    block = _BLOCK.match(text)
    if block:
        value = int(block.group(1))
        number = value * 100 if value < 100 and "hundred" in text.split() else value
        return SpokenPlace(said, text, _part(block.group(2)), str(number), block=True)
    between = _BETWEEN.match(text)
    if between:
        first, one, other = (_part(g) for g in between.groups())
        if first and one and other:
            second = f"{one} and {other}"
            return SpokenPlace(said, text, first, None, second=second, relation=Relation.BETWEEN)
    corner = _CORNER.match(text)
    body = corner.group(1) if corner else text
    cross = _CROSS.match(body)
    if cross:
        first, second = _part(cross.group(1)), _part(cross.group(2))
        if first and second:
            return SpokenPlace(said, text, first, None, second=second, relation=Relation.CROSS)
    near = _NEAR.match(body)
    if near:
        number, first = _number_and_street(_part(near.group(1)))
        second = _part(near.group(2))
        if first and second and not _is_vague(second):
            return SpokenPlace(said, text, first, number, second=second, relation=Relation.NEAR)
        body = _part(near.group(1)) or body
    on = _ON.match(body)
    if on and not _LEADING_NUMBER.match(body):
        first, second = _part(on.group(1)), _part(on.group(2))
        if first and second:
            return SpokenPlace(said, text, first, None, second=second, relation=Relation.ON)
    number, first = _number_and_street(body)
    inner = _INNER_NUMBER.match(body) if number is None else None
    if inner and not _ORDINAL_DIGITS.match(inner.group(1) + (inner.group(2) or "")):
        # "infrared of 1119 plinton avenue": the recognizer's noise before a number
        number, first = inner.group(1) + (inner.group(2) or "").upper(), _part(inner.group(3))
    if not first or _is_vague(first):
        return SpokenPlace(said=said, text=text, number=number, problem="vague")
    return SpokenPlace(said=said, text=text, first=first, number=number)
