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
    # Korean answers too ("가로등 세 개요" -> "가로등 3개요"); English text passes unchanged.
    return korean_to_digits(" ".join(out))


def digits_only(text: str) -> str:
    """All digits a caller said or keyed, in order: "four two seven one" -> "4271"."""
    words = words_to_digits(text.lower(), lone_one=True).split()
    for i, word in enumerate(words):
        match = _KO_SPOKEN.match(word)  # Korean: "이 육 일 일이요" -> 2611
        numeral = match.group(1) if match else ""
        if numeral and not any(ch in _KO_UNITS for ch in numeral):
            words[i] = "".join(str(_KO_DIGITS[ch]) for ch in numeral)  # keeps "공일공"
            continue
        value = _korean_value(numeral) if numeral else None
        if value is None and word.rstrip("요") in _NATIVE_DIGITS:  # "하나 둘 셋"
            value = _NATIVE_DIGITS[word.rstrip("요")]
        if value is not None:
            words[i] = str(value)
    return "".join(re.findall(r"\d", " ".join(words)))


# Digits read with native names, as some callers read a phone or ticket number.
_NATIVE_DIGITS = {
    "하나": 1,
    "둘": 2,
    "셋": 3,
    "넷": 4,
    "다섯": 5,
    "여섯": 6,
    "일곱": 7,
    "여덟": 8,
    "아홉": 9,
}


# --- Korean: Sino-Korean (일 이 삼) and native (하나 둘 셋) numerals, as Vosk writes them --

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
# What a caller puts after a number: "일이요" is 1 (일 + 이요), "일이" is 12.
_KO_ENDINGS = ("이에요", "예요", "이요", "요", "입니다", "이고요", "이고", "인데요", "이죠")
_ENDING = "(?:" + "|".join(_KO_ENDINGS) + ")?"
_KO_TOKEN = re.compile(r"^([영공일이삼사오육칠팔구십백천]+)(" + "|".join(_KO_COUNTERS) + ")?$")
_KO_SPOKEN = re.compile(
    r"^([영공일이삼사오육칠팔구십백천]+?)(" + "|".join(_KO_COUNTERS) + ")?" + _ENDING + "$"
)
# Native numbers count things: "세 개", "두 마리", "한 대", "열두 개", "스물다섯".
_NATIVE_TENS = {
    "열": 10,
    "스물": 20,
    "스무": 20,
    "서른": 30,
    "마흔": 40,
    "쉰": 50,
    "예순": 60,
    "일흔": 70,
    "여든": 80,
    "아흔": 90,
}
# The forms said alone ("하나요", "셋") and the forms said before a counter ("한 대").
_NATIVE_ALONE = {"하나": 1, "둘": 2, "셋": 3, "넷": 4}
_NATIVE_BEFORE = {"한": 1, "두": 2, "세": 3, "석": 3, "네": 4, "넉": 4}
_NATIVE_BOTH = {"다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9}
_COUNT_WORDS = ("마리", "군데", "그루", "시간", "개", "대", "명", "곳", "채", "살")
_UNIT_WORDS = "|".join(sorted({**_NATIVE_ALONE, **_NATIVE_BEFORE, **_NATIVE_BOTH}, key=len)[::-1])
# After a counter: "두 마리가", "세 개째요", "한 대 정도".
_AFTER_COUNTER = "(?:째|씩)?(?:가|이|는|은|를|을|도|만|나|랑|이랑|정도|쯤|밖에)?" + _ENDING
_COUNTER = re.compile(rf"^(?:{'|'.join(_COUNT_WORDS)}){_AFTER_COUNTER}$")
_NATIVE = re.compile(
    rf"^(?P<tens>{'|'.join(_NATIVE_TENS)})?(?P<unit>{_UNIT_WORDS})?"
    rf"(?:(?P<counter>(?:{'|'.join(_COUNT_WORDS)}){_AFTER_COUNTER})|(?P<end>{_ENDING}))$"
)
_PLATE_LETTERS = set(
    "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주바사아자배하허호"
)
_HANGUL = re.compile(r"[가-힣]")


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


def _native(word: str, next_word: str = "") -> tuple[int, str, bool] | None:
    """A native number word: (value, counter glued to it, whether the next word is its
    counter). Forms that are also other words (네 "yes", 한 "one/a", 세) need a counter."""
    match = _NATIVE.match(word)
    if not match or not (match.group("tens") or match.group("unit")):
        return None
    unit = match.group("unit") or ""
    counter = match.group("counter") or ""
    takes_next = not counter and not match.group("end") and bool(_COUNTER.match(next_word))
    if unit in _NATIVE_BEFORE and not (counter or takes_next):
        return None
    if unit in _NATIVE_ALONE and (counter or takes_next):
        return None  # "하나 개" is not said; leave it as it is
    value = _NATIVE_TENS.get(match.group("tens") or "", 0)
    value += {**_NATIVE_ALONE, **_NATIVE_BEFORE, **_NATIVE_BOTH}.get(unit, 0)
    return value, counter, takes_next


def korean_count(text: str) -> int | None:
    """The first count a caller said: "가로등 세 개요" -> 3, "두 마리" -> 2, "열두 개" -> 12,
    "3개" -> 3, "삼 개" -> 3. None when no number was said."""
    converted = korean_to_digits(text)
    match = re.search(r"\d+", converted)
    return int(match.group()) if match else None


def _plate(words: list[str], i: int) -> tuple[str, int] | None:
    """A number plate read aloud from words[i]: "십이 가 삼사오육" -> ("12가 3456", words used)."""
    for j in range(i + 1, min(i + 4, len(words))):
        if len(words[j]) != 1 or words[j] not in _PLATE_LETTERS:
            continue
        front = "".join(_digits_of(w) or "x" for w in words[i:j])
        for k in range(j + 1, min(j + 5, len(words)) + 1):
            back = "".join(_digits_of(w) or "x" for w in words[j + 1 : k])
            if front.isdigit() and len(front) in (2, 3) and back.isdigit() and len(back) == 4:
                return f"{front}{words[j]} {back}", k - i
    return None


def _digits_of(word: str) -> str | None:
    if word.isdigit():
        return word
    match = _KO_TOKEN.match(word)
    value = _korean_value(match.group(1)) if match and not match.group(2) else None
    return None if value is None else str(value)


def korean_to_digits(text: str) -> str:
    """ "중앙로 십이" -> "중앙로 12", "삼십오번지" -> "35번지", "세 개" -> "3개",
    "스물다섯 마리" -> "25마리", "하나요" -> "1", "십이 가 삼사오육" -> "12가 3456".

    Sino-Korean numerals only where a number is expected (after a road name ending in 로/길,
    before a counter such as 번지, or in a plate), since many words are spelled like
    numerals ("사이", "이"); native numerals alone or before a counter.
    """
    if not _HANGUL.search(text):
        return text
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        plate = _plate(words, i)
        if plate:
            out.append(plate[0])
            i += plate[1]
            continue
        match = _KO_TOKEN.match(word)
        after_road = i > 0 and words[i - 1].endswith(("로", "길"))
        if match and (match.group(2) or after_road):
            value = _korean_value(match.group(1))
            if value is not None:
                out.append(f"{value}{match.group(2) or ''}")
                i += 1
                continue
        if match and not match.group(2) and i + 1 < len(words) and _COUNTER.match(words[i + 1]):
            value = _korean_value(match.group(1))  # "삼 개": Sino-Korean before a counter
            if value is not None:
                out.append(f"{value}{words[i + 1]}")
                i += 2
                continue
        native = None
        if word in _NATIVE_TENS and i + 1 < len(words):
            # "열 두 개": the tens and the unit said apart
            native = _native(word + words[i + 1], words[i + 2] if i + 2 < len(words) else "")
            i += 1 if native else 0
        native = native or _native(word, words[i + 1] if i + 1 < len(words) else "")
        if native:
            value, counter, takes_next = native
            out.append(f"{value}{counter or (words[i + 1] if takes_next else '')}")
            i += 2 if takes_next else 1
            continue
        out.append(word)
        i += 1
    return " ".join(out)


def korean_digits(number: str) -> str:
    """Digits as a Korean voice reads a ticket number: "2611" -> "이 육 일 일"."""
    names = "공일이삼사오육칠팔구"
    return " ".join(names[int(ch)] for ch in number if ch.isdigit())
