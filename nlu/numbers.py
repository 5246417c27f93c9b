"""Spoken English numbers as speech recognition writes them, to digits.

House numbers are read in pieces ("one twenty three" is 123, "fourteen oh
two" is 1402), so consecutive number phrases are joined digit-wise, while
"hundred" and "thousand" multiply as usual ("twenty two hundred" is 2200).
"""

from __future__ import annotations

import re

# The word tables are the place reader's (nlu may import dispatch; not the reverse).
from dispatch.places.numbers import MULTIPLIERS, ORDINALS, TEENS, TENS, UNITS

NUMBER_WORDS = {*UNITS, *TEENS, *TENS, *MULTIPLIERS} - {"o"}


def _suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


class _Chunk:
    """One ordinary cardinal ("one thousand two hundred five"), built word by word."""

    def __init__(self) -> None:
        self.thousands = 0  # the part already multiplied by a thousand
        self.small = 0  # the part below a thousand
        self.last = ""  # kind of the last word: unit, teen, tens, mult
        self.words = 0

    @property
    def value(self) -> int:
        return self.thousands + self.small

    def extend(self, kind: str, value: int) -> bool:
        if self.words == 0:
            ok = kind != "mult"
        elif kind == "unit":
            ok = self.last == "tens" or (self.last == "mult" and value > 0)
        elif kind in ("teen", "tens"):
            ok = self.last == "mult" and self.small % 100 == 0
        elif value == 100:
            ok = self.last != "mult" and 0 < self.small < 100
        else:  # thousand
            ok = self.last != "mult" and self.thousands == 0 and 0 < self.small < 1000
        if not ok:
            return False
        if kind == "mult" and value == 1000:
            self.thousands, self.small = self.small * 1000, 0
        elif kind == "mult":
            self.small *= value
        else:
            self.small += value
        self.last = kind
        self.words += 1
        return True


def _classify(word: str) -> tuple[str, int] | None:
    if word in UNITS:
        return "unit", UNITS[word]
    if word in TEENS:
        return "teen", TEENS[word]
    if word in TENS:
        return "tens", TENS[word]
    if word in MULTIPLIERS:
        return "mult", MULTIPLIERS[word]
    return None


def _chunks(words: list[str]) -> list[int]:
    chunks: list[_Chunk] = []
    for word in words:
        kind, value = _classify(word)  # type: ignore[misc]
        if kind == "mult" and chunks:
            if not chunks[-1].extend(kind, value):
                chunks.append(_Chunk())
                chunks[-1].extend("unit", value)  # a lone "hundred": keep the number
            continue
        if not chunks or not chunks[-1].extend(kind, value):
            chunks.append(_Chunk())
            chunks[-1].extend(kind, value)
    return [c.value for c in chunks]


def _group_to_digits(words: list[str]) -> str:
    # Pieces are read one after another: "fourteen oh two" is 1402.
    return "".join(str(v) for v in _chunks(words))


def words_to_digits(text: str, *, lone_one: bool = False) -> str:
    """Replace runs of number words by digits; ordinals become 1st, 2nd, 42nd.

    A lone "one" stays a word ("the one by the school") unless lone_one is set.
    """
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        run: list[str] = []
        j = i
        while j < len(words):
            w = words[j].lower()
            if (w in NUMBER_WORDS and (run or w not in MULTIPLIERS)) or (w in ("oh", "o") and run):
                run.append(w)
                j += 1
                continue
            break
        # "oh" only counts inside a run, never trailing it ("two oh" -> "2 oh")
        while run and run[-1] in ("oh", "o"):
            run.pop()
            j -= 1
        ordinal = words[j].lower() if j < len(words) else ""
        if ordinal in ORDINALS and (not run or run[-1] in TENS or run[-1] in MULTIPLIERS):
            values = _chunks(run) if run else [0]
            values[-1] += ORDINALS[ordinal]
            number = int("".join(str(v) for v in values))
            out.append(f"{number}{_suffix(number)}")
            i = j + 1
            continue
        if run and (len(run) > 1 or run[0] != "one" or lone_one):
            out.append(_group_to_digits(run))
            i = j
            continue
        out.append(words[i])
        i += 1
    return " ".join(out)


def digits_only(text: str) -> str:
    """All digits a caller said or keyed, in order: "four two seven one" -> "4271"."""
    words = words_to_digits(text.lower(), lone_one=True).split()
    for i, word in enumerate(words):
        match = _KO_TOKEN.match(word)  # Korean: "이 육 일 일" -> 2611
        value = _korean_value(match.group(1)) if match else None
        if value is not None:
            words[i] = str(value)
    return "".join(re.findall(r"\d", " ".join(words)))


# --- Korean (Sino-Korean numerals, as Vosk writes them) --------------------------------

_KO_DIGITS = {
    "영": 0,
    "공": 0,
    "일": 1,
    "이": 2,
    "삼": 3,
    "사": 4,
    "오": 5,
    "육": 6,
    "칠": 7,
    "팔": 8,
    "구": 9,
}
_KO_UNITS = {"십": 10, "백": 100, "천": 1000}
_KO_COUNTERS = ("번지", "번길", "번", "호", "동", "길", "가")
_KO_TOKEN = re.compile(r"^([영공일이삼사오육칠팔구십백천]+)(" + "|".join(_KO_COUNTERS) + ")?$")


def _korean_value(numeral: str) -> int | None:
    if not any(ch in _KO_UNITS for ch in numeral):
        return int("".join(str(_KO_DIGITS[ch]) for ch in numeral))  # read digit by digit
    total, digit = 0, None
    for ch in numeral:
        if ch in _KO_DIGITS:
            if digit is not None:
                return None  # two digits in a row inside a unit number: not a number
            digit = _KO_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _KO_UNITS[ch]
            digit = None
    return total + (digit or 0)


def korean_to_digits(text: str) -> str:
    """ "중앙로 십이" -> "중앙로 12", "삼십오번지" -> "35번지".

    Only where a number is expected (after a road name ending in 로/길, or before a
    counter such as 번지), since many words are spelled like numerals ("사이", "이").
    """
    words = text.split()
    out: list[str] = []
    for i, word in enumerate(words):
        match = _KO_TOKEN.match(word)
        after_road = i > 0 and words[i - 1].endswith(("로", "길"))
        if match and (match.group(2) or after_road):
            value = _korean_value(match.group(1))
            if value is not None:
                out.append(f"{value}{match.group(2) or ''}")
                continue
        out.append(word)
    return " ".join(out)
