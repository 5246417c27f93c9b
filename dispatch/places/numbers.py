"""Spoken numbers in a place, to digits: house numbers as callers read them ("forty two",
"four two", "one twenty three", "fourteen oh two"), ordinals of numbered streets
("twelfth" -> 12th), and Sino-Korean numerals after a road name ("중앙로 십이" -> 12).

nlu/numbers.py reads numbers for the dialogue's other answers; dispatch must not import
nlu (dependencies point voice -> nlu -> dispatch), so the part a place needs is here.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

UNITS = {
    "zero": 0,
    "oh": 0,
    "o": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
    "fortieth": 40,
    "fiftieth": 50,
}
MULTIPLIERS = {"hundred": 100, "thousand": 1000}
NUMBER_WORDS = frozenset({*UNITS, *TEENS, *TENS, *MULTIPLIERS})
_NEVER_FIRST = frozenset({"oh", "o", "hundred", "thousand"})  # "oh" alone is a word


def suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


class _Cardinal:
    """One ordinary cardinal ("three thousand four hundred twenty eight"), word by word."""

    def __init__(self) -> None:
        self.thousands = 0  # the part already multiplied by a thousand
        self.small = 0  # the part below a thousand
        self.last = ""  # the kind of the last word: unit, teen, tens, mult
        self.words = 0

    @property
    def value(self) -> int:
        return self.thousands + self.small

    def extend(self, kind: str, value: int) -> bool:
        """Take the next word if it continues this number; False when it starts another."""
        if self.words == 0:
            fits = kind != "mult"
        elif kind == "unit":
            fits = self.last == "tens" or (self.last == "mult" and value > 0)
        elif kind in ("teen", "tens"):
            fits = self.last == "mult" and self.small % 100 == 0
        elif value == 100:
            fits = self.last != "mult" and 0 < self.small < 100
        else:  # thousand
            fits = self.last != "mult" and self.thousands == 0 and 0 < self.small < 1000
        if not fits:
            return False
        if kind == "mult" and value == 1000:
            self.thousands, self.small = self.small * 1000, 0
        elif kind == "mult":
            self.small *= value
        else:
            self.small += value
        self.last, self.words = kind, self.words + 1
        return True


def _kind(word: str) -> tuple[str, int]:
    if word in UNITS:
        return "unit", UNITS[word]
    if word in TEENS:
        return "teen", TEENS[word]
    if word in TENS:
        return "tens", TENS[word]
    return "mult", MULTIPLIERS[word]


def _number_run(words: list[str]) -> str:
    """House numbers are read in pieces ("one twenty three" is 123, "four two" is 42,
    "fourteen oh two" is 1402) while hundred and thousand multiply ("three thousand four
    hundred twenty eight" is 3428): each piece is a cardinal, the pieces are joined."""
    pieces: list[_Cardinal] = []
    for word in words:
        kind, value = _kind(word)
        if pieces and pieces[-1].extend(kind, value):
            continue
        pieces.append(_Cardinal())
        if not pieces[-1].extend(kind, value):  # a lone "hundred" after a piece: keep it
            pieces[-1].extend("unit", value)
    return "".join(str(p.value) for p in pieces)


_ORDINAL_WORDS = {value: word for word, value in ORDINALS.items()}


def ordinal_words(n: int) -> str | None:
    """12 -> "twelfth", 23 -> "twenty third"; None past the words ORDINALS has."""
    if n in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[n]
    tens, unit = divmod(n, 10)
    tens_word = next((w for w, v in TENS.items() if v == tens * 10), None)
    return f"{tens_word} {_ORDINAL_WORDS[unit]}" if tens_word and unit else None


def _misspelled_ordinal(word: str) -> int | None:
    """ "nineth", "forteeth": ordinals as recognizers misspell them (never "teeth")."""
    if len(word) < 5 or not word.endswith("th"):
        return None
    found = process.extract(word, ORDINALS.keys(), scorer=fuzz.ratio, limit=2, score_cutoff=85)
    if not found or (len(found) > 1 and found[1][1] > found[0][1] - 5):
        return None  # "forteeth": fortieth or fourteenth? Not a guess to make
    return ORDINALS[found[0][0]]


def spoken_numbers(text: str) -> str:
    """ "forty two linden street" -> "42 linden street", "lark and twelfth" -> "lark and 12th"."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word not in NUMBER_WORDS or word in _NEVER_FIRST:
            ordinal = ORDINALS.get(word) or _misspelled_ordinal(word)
            out.append(f"{ordinal}{suffix(ordinal)}" if ordinal else word)
            i += 1
            continue
        j = i
        while j < len(words) and words[j] in NUMBER_WORDS:
            j += 1
        while words[j - 1] in ("oh", "o"):  # "two oh" at the end is not 20
            j -= 1
        run = words[i:j]
        after = words[j] if j < len(words) else ""
        if after in ORDINALS and run[-1] in TENS:  # "twenty first" -> 21st
            value = TENS[run.pop()] + ORDINALS[after]
            if run:
                out.append(_number_run(run))
            out.append(f"{value}{suffix(value)}")
            i = j + 1
        elif run == ["one"] and out and out[-1] in ("the", "this", "that"):
            out.append("one")  # "the one on the corner": not a number
            i = j
        else:
            out.append(_number_run(run))
            i = j
    return " ".join(out)


# --- Korean (Sino-Korean numerals, as Vosk writes them) ----------------------------------

_KO_DIGITS = {"영": 0, "공": 0, "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7,
              "팔": 8, "구": 9}  # fmt: skip
_KO_UNITS = {"십": 10, "백": 100, "천": 1000}
_KO_NUMERAL = re.compile(r"^([영공일이삼사오육칠팔구십백천]+)(번지|번길|번|호)?$")


def korean_value(numeral: str) -> int | None:
    """ "백이십삼" -> 123, "일이삼" -> 123 (read digit by digit); None if no number."""
    if not numeral or any(ch not in _KO_DIGITS and ch not in _KO_UNITS for ch in numeral):
        return None
    if not any(ch in _KO_UNITS for ch in numeral):  # read digit by digit: 일이 -> 12
        return int("".join(str(_KO_DIGITS[ch]) for ch in numeral))
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


def korean_numbers(text: str) -> str:
    """ "중앙로 십이" -> "중앙로 12": only right after a road name (…로, …길) or before a
    counter (번지), since many words are spelled like numerals ("사이", "이")."""
    words = text.split()
    for i, word in enumerate(words):
        match = _KO_NUMERAL.match(word)
        if match and (match.group(2) or (i > 0 and words[i - 1].endswith(("로", "길")))):
            value = korean_value(match.group(1))
            if value is not None:
                words[i] = str(value)
    return " ".join(words)
