"""A Korean caller's words about a place, taken apart like spoken.py does for English.

A road-name address (도로명주소) is the road, then the building number: "경안로 123",
"경안로 백이십삼번지", "경안로12번길 5" (a 번길 side road), "경안로 12-3" (main and sub
number, said "십이 다시 삼" or "십이의 삼"). Korean glues particles to words ("경안로와",
"123에요", "앞이요"), so words are split from their particles first; numbers are read
from digits ("1 2 3" as a recognizer may write them) and from Sino-Korean numerals with
or without spaces ("백 이십 삼"), only where a number can stand (after a road, with a
counter, or run on from another numeral): many words are spelled like numerals (이, 사이).

Corners: "경안로와 중앙로 사거리", "경안로 중앙로 교차로", "경안로랑 중앙로 만나는 곳".
Relative places: "중앙로 시장 근처" (the road near a landmark), "역 앞" (the landmark).
A landmark on a road: "중앙로에 있는 시장", "중앙로 시장". "여기", "우리 집 앞", "동네"
alone are no place; an old lot address ("경안동 123-4", 지번) is none the city's data holds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from dispatch.places.korean_names import BYEONGIL, has_hangul, is_road
from dispatch.places.numbers import korean_value
from dispatch.places.spoken import Relation, SpokenPlace, parse

_NUMERALS = "영공일이삼사오육칠팔구십백천"


def _words(text: str) -> list[str]:
    return text.split()


# Particles and endings glued to a word, longest first: "경안로와", "123번이에요", "앞이요".
_ENDINGS = sorted(
    _words(
        "이에요 이예요 에요 예요 입니다 이요 에서요 에서 이고요 이고 인데요 인데 이랑 하고 "
        "쪽이요 쪽에 쪽으로 쪽 쯤 정도 에 요 와 과 랑 의 은 는 이 가 을 를"
    ),
    key=len,
    reverse=True,
)
_JOINING = ("이랑", "하고", "와", "과", "랑")  # "경안로와 중앙로": and
_NUMBER = re.compile(
    rf"^(?P<num>\d+(?:-\d+)?|[{_NUMERALS}]+)(?P<counter>번지|번길|번|호)?"
    rf"(?P<ending>{'|'.join(_ENDINGS)})?$"
)
_GLUED = re.compile(
    rf"^(?P<road>.+?(?:대로|로|길))(?P<num>\d+|[{_NUMERALS}]*[십백천][{_NUMERALS}]*)"
    rf"(?P<counter>번지|번길|번|호)?(?P<ending>{'|'.join(_ENDINGS)})?$"
)
_NOT_NUMBERS = frozenset({"사이", "이사", "오이", "이이", "구구"})
FILLERS_KO = frozenset(
    _words(
        "음 어 에 아 저 저기 저기요 그 그게 그러니까 네 예 뭐 좀 막 이제 그냥 일단 혹시 제가 "
        "지금 여보세요 주소 위치 장소 번 번지 호 거 것 데 곳 쪽 방향 있어요 있습니다 있고요 "
        "맞아요 같아요 같은데요 말씀드리면 그러니까요"
    )
)
VAGUE_KO = frozenset(
    _words("여기 거기 저기 이쪽 저쪽 우리 집 집앞 내 제 동네 골목 길 도로 밖 안 이")
)
NEAR_WORDS = frozenset(_words("근처 부근 주변 인근 앞 건너편 맞은편 건너 옆 뒤 뒤편 옆쪽 앞쪽"))
CORNER_WORDS = frozenset(_words("사거리 삼거리 오거리 네거리 교차로 교차점 갈림길"))
_MEETING = frozenset({"만나는", "교차하는", "만나는데", "마주치는"})
_ON = frozenset({"있는", "있는데"})
# "경안로와 중앙로 사이": between two roads, read as the two roads (a corner if they meet,
# else either road, unsure); kept whole, or 사이 would lose its 이 as a particle.
_WHOLE = {"사이": "between"}
_AREA = re.compile(r"^.+(?:특별시|광역시|시|도|군|구)$")  # "경기도 광주시": the city, said first
_LOT = re.compile(r"^.+(?:동|리|읍|면)$")  # 경안동: an old lot address (지번) names a 동


@dataclass
class _Word:
    text: str
    joins: bool = False  # glued to 와/과/랑/하고: a second road follows


@dataclass
class _Number:
    value: str
    sub: str | None = None  # 부번: "12-3"
    dash: bool = False  # "십이의", "12 다시": a sub number follows
    run: str = ""  # the Sino-Korean numerals read so far, a run may go on ("백 이십 삼")
    open: bool = False  # no counter or ending yet: the next numeral continues it
    singles: bool = False  # digits written one by one so far: "1 2 3"


Item = _Word | _Number | str  # a str is a relation word: "near", "corner", "meet", "on"


def parse_place(said: str) -> SpokenPlace:
    """Korean or English, by the script the recognizer wrote."""
    return parse_korean(said) if has_hangul(said) else parse(said)


def _strip_ending(word: str) -> tuple[str, str]:
    """ "경안로와" -> ("경안로", "와"); a road name keeps its 로/길."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) > len(ending):
            return word[: -len(ending)], ending
    return word, ""


def _clean(said: str) -> list[str]:
    text = unicodedata.normalize("NFC", said).lower()
    text = re.sub(r"(\d)\s*[-‐–~]\s*(\d)", r"\1-\2", text)  # "12 - 3": main and sub number
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"[^\w\s-]+", " ", text).replace("_", " ")
    return text.split()


def _number_item(token: str, before: list[Item]) -> _Number | _Word | None:
    """A number if the token is one here; a _Word for "12번길" glued to the road before."""
    found = _NUMBER.match(token)
    if not found:
        return None
    num, counter, ending = found.group("num", "counter", "ending")
    last = before[-1] if before else None
    digits = num[0].isdigit()
    run_on = isinstance(last, _Number) and (last.open or last.dash)
    road_before = isinstance(last, _Word) and is_road(last.text)
    if not digits and token in _NOT_NUMBERS:
        return None
    if not (digits or counter or run_on or road_before or len(num) >= 2 or num in "십백"):
        return None  # "이", "오" alone after a word: a particle or a word, not a number
    if not digits and len(num) == 1 and ending and not (counter or run_on):
        return None  # "경안로 이에요" is 경안로이에요 ("it is 경안로"), not 경안로 2
    if run_on and isinstance(last, _Number):
        continued = _continue(last, num, digits, counter, ending)
        if continued is not None:
            return continued
    value = num if digits else str(korean_value(num) or "")
    if not value:
        return None
    if counter == "번길" and isinstance(last, _Word):  # "경안로 십이번길": the side road
        last.text = f"{last.text}{value}번길"
        return last
    main, _, sub = value.partition("-")
    return _Number(main, sub or None, dash=ending == "의", run="" if digits else num,
                   open=not (counter or ending), singles=digits and len(num) == 1)  # fmt: skip


def _continue(
    last: _Number, num: str, digits: bool, counter: str | None, ending: str | None
) -> _Number | None:
    """The next piece of a number: "백 이십 삼", "1 2 3", or a sub number "12 다시 3"."""
    closed = bool(counter or ending)
    if last.dash:
        value = num if digits else str(korean_value(num) or "")
        last.sub, last.dash, last.open = value or None, False, not closed
        return last
    if digits and last.singles and len(num) == 1 and not last.sub:
        last.value += num  # "1 2 3": digits a recognizer wrote one by one
        last.open = not closed
        return last
    if not digits and last.run:
        joined = korean_value(last.run + num)
        if joined is not None:
            last.value, last.run, last.open = str(joined), last.run + num, not closed
            return last
    return None


def _items(said: str) -> tuple[list[Item], bool]:
    """The words, numbers and relation words, fillers and particles gone; and whether
    anything at all was said."""
    items: list[Item] = []
    tokens = _clean(said)
    for token in tokens:
        glued = _GLUED.match(token)
        if glued and not _NUMBER.match(token):  # "경안로123", "경안로백이십삼번지"
            items.append(_Word(glued.group("road")))
            token = glued.group("num") + (glued.group("counter") or "")
        number = _number_item(token, items)
        if isinstance(number, _Number):
            if not items or items[-1] is not number:
                items.append(number)
            continue
        if number is not None:  # the road before took a 번길 number
            continue
        if token == "다시" and items and isinstance(items[-1], _Number):
            items[-1].dash = True
            continue
        word, ending = (token, "") if token in _WHOLE else _strip_ending(token)
        if isinstance(items[-1] if items else None, _Number):
            items[-1].open = False  # a word ends a number's run
        if word in FILLERS_KO or token in FILLERS_KO:
            continue
        if word in NEAR_WORDS:
            items.append("near")
        elif word in CORNER_WORDS:
            items.append("corner")
        elif word in _MEETING or token in _MEETING:
            items.append("meet")
        elif word in _ON or token in _ON:
            items.append("on")
        elif word in _WHOLE:
            items.append(_WHOLE[word])
        else:
            items.append(_Word(word, joins=ending in _JOINING))
    return items, bool(tokens)


def parse_korean(said: str) -> SpokenPlace:
    """The parts of a Korean place answer; see the module's docstring."""
    items, anything = _items(said or "")
    words = [i for i in items if isinstance(i, _Word)]
    while len(words) > 1 and _AREA.match(words[0].text) and not is_road(words[0].text):
        items.remove(words.pop(0))  # "경기도 광주시 경안로 12": the city itself
    text = " ".join(i.text if isinstance(i, _Word) else i if isinstance(i, str) else
                    _number_text(i) for i in items)  # fmt: skip
    if not anything:
        return SpokenPlace(said=said or "", text="", problem="empty")
    numbers = [i for i in items if isinstance(i, _Number)]
    if (
        numbers
        and any(_LOT.match(w.text) for w in words)
        and not any(is_road(w.text) for w in words)
    ):
        # "경안동 123-4": a lot number (지번); the city's data has road-name addresses only
        return SpokenPlace(said=said, text=text, problem="no_street")
    content = [w for w in words if w.text not in VAGUE_KO]
    at = {id(item): n for n, item in enumerate(items)}
    if not content:
        number = _number_text(numbers[0]) if numbers else None
        return SpokenPlace(said=said, text=text, number=number, problem="vague")
    relations = {i for i in items if isinstance(i, str)}
    names = [w.text for w in content]
    joined = next((n for n, w in enumerate(content[:-1]) if w.joins), None)
    if joined is not None or ((relations & {"corner", "meet", "between"}) and len(names) > 1):
        cut = (joined if joined is not None else 0) + 1
        first, second = " ".join(names[:cut]), " ".join(names[cut:])
        return SpokenPlace(said, text, first, None, second=second, relation=Relation.CROSS)
    if "on" in relations and not numbers:
        on = items.index("on")
        road = [w.text for w in content if at[id(w)] < on]
        mark = [w.text for w in content if at[id(w)] > on]
        if road and mark:
            return SpokenPlace(said, text, " ".join(mark), None, second=" ".join(road),
                               relation=Relation.ON)  # fmt: skip
    if numbers:
        before = [w.text for w in content if at[id(w)] < at[id(numbers[0])]]
        first = " ".join(before or names)
        return SpokenPlace(said=said, text=text, first=first, number=_number_text(numbers[0]))
    if "near" in relations and len(names) > 1:
        near = items.index("near")
        marks = [w for w in content if at[id(w)] < near][-1:] or content[-1:]
        road = " ".join(w.text for w in content if w is not marks[0])
        return SpokenPlace(said, text, road, None, second=marks[0].text, relation=Relation.NEAR)
    roads = [n for n in names if is_road(n) or BYEONGIL.match(n)]
    if len(names) == 2 and len(roads) == 2:  # "경안로 중앙로": two roads, a corner
        return SpokenPlace(said, text, names[0], None, second=names[1], relation=Relation.CROSS)
    if len(names) >= 2 and len(roads) == 1:  # "중앙로 시장": a kind of place on the road
        mark = " ".join(n for n in names if n != roads[0])
        return SpokenPlace(said, text, mark, None, second=roads[0], relation=Relation.ON)
    return SpokenPlace(said=said, text=text, first=" ".join(names))


def _number_text(number: _Number) -> str:
    """ "12-3"; "012" (digits read one by one from a zero) is building 12."""
    main, sub = number.value.lstrip("0") or "0", (number.sub or "").lstrip("0")
    return f"{main}-{sub}" if sub else main
