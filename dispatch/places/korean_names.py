"""Korean place names compared as they sound: Hangul split into jamo.

A Hangul syllable is two or three sounds (경 = ㄱ + ㅕ + ㅇ). A recognizer mishears one
sound, not a whole syllable ("경안로" -> "경안노", "중앙로" -> "중앙노"), so comparing
syllables would count a one-sound slip in a three-syllable road as a third of the name
lost. The names are compared on their jamo, from `unicodedata.normalize("NFD")`: the
Unicode standard decomposes every precomposed syllable algorithmically into conjoining
jamo (leading consonant, vowel, trailing consonant), the standard library ships it and
updates it with Unicode, and no package from the registry does more for this (`jamo` was
last released in 2017, `hangul-jamo` maps the same table). Conjoining jamo keep a
leading and a trailing consonant apart (ᄋ silent vs ᆼ "ng"), which a comparison wants.

As the English matcher pairs spelling with Metaphone, a second key folds the sounds a
phone line confuses into one class (plain/aspirated/tense stops, ㄹ/ㄴ after
nasalization, ㅓ/ㅗ, ㅐ/ㅔ, the seven trailing sounds, the silent ᄋ dropped): sound can
lift a close spelling, never replace it.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from rapidfuzz import fuzz, process

HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3131-\u318e]")
ROAD_ENDINGS = ("대로", "로", "길")  # 광주대로, 중앙로, 탄벌길
BYEONGIL = re.compile(r"^(.+?(?:대로|로|길))\s*(\d+)번길$")  # 경안로12번길: a side road
TYPE_MISSING = 0.95  # "경안" for 경안로, as "Lark" for Lark Street

# Korean words for a kind of place (OSM's amenity/railway/leisure/shop value).
KOREAN_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "townhall": ("시청", "구청", "군청", "청사", "시청사", "동사무소", "주민센터"),
    "station": ("역", "기차역", "전철역", "지하철역", "기차 역"),
    "marketplace": ("시장", "전통시장", "재래시장"),
    "school": ("학교", "초등학교", "중학교", "고등학교"),
    "hospital": ("병원", "종합병원", "응급실"),
    "park": ("공원",),
    "fuel": ("주유소",),
    "convenience": ("편의점",),
    "police": ("경찰서", "파출소", "지구대"),
    "fire_station": ("소방서",),
    "library": ("도서관",),
    "pharmacy": ("약국",),
    "post_office": ("우체국",),
}


def _fold_table() -> dict[int, str | None]:
    folds = {
        # leading consonants: tense and aspirated to plain, ㄹ to ㄴ, silent ᄋ away
        "ᄁᄏ": "ᄀ", "ᄄᄐ": "ᄃ", "ᄈᄑ": "ᄇ", "ᄊ": "ᄉ", "ᄍᄎ": "ᄌ", "ᄅ": "ᄂ",
        # vowels a line blurs
        "ᅢ": "ᅦ", "ᅤ": "ᅨ", "ᅫᅬ": "ᅰ", "ᅥ": "ᅩ", "ᅧ": "ᅭ", "ᅳ": "ᅮ", "ᅴ": "ᅵ",
        # trailing consonants: the seven sounds they are said as, nasals together
        "ᆩᆪᆿ": "ᆨ", "ᆬᆭᆷᆼ": "ᆫ", "ᆺᆻᆽᆾᇀᇂ": "ᆮ", "ᆰᆱᆲᆳᆴᆵᆶ": "ᆯ", "ᆹᇁ": "ᆸ",
    }  # fmt: skip
    table: dict[int, str | None] = {ord(ch): to for chars, to in folds.items() for ch in chars}
    table[ord("ᄋ")] = None
    return table


_FOLD = _fold_table()


def has_hangul(text: str) -> bool:
    return HANGUL.search(text or "") is not None


def jamo(text: str) -> str:
    """ "경안로" -> "경안로" (spaces dropped: "광주 역" is 광주역)."""
    return unicodedata.normalize("NFD", "".join(text.split()))


def sound(text: str) -> str:
    return jamo(text).translate(_FOLD)


def is_road(word: str) -> bool:
    return word.endswith(ROAD_ENDINGS)


def byeongil_parent(name: str) -> str | None:
    """ "경안로12번길" -> "경안로": the road a 번길 side road branches from."""
    found = BYEONGIL.match(name.strip())
    return found.group(1) if found else None


def korean_similarity(heard: str, name: str) -> float:
    """0..1, spelling (jamo) and sound together, as matching.similarity does for English."""
    text = fuzz.ratio(jamo(heard), jamo(name))
    return max(text, (text + fuzz.ratio(sound(heard), sound(name))) / 2) / 100


def _ratios(query: str, choices: list[str]) -> np.ndarray:
    if not query or not choices:
        return np.zeros(len(choices), dtype=np.float32)
    return process.cdist([query], choices, scorer=fuzz.ratio, dtype=np.float32)[0] / 100


class KoreanNames:
    """Raw similarity of a heard Korean name to each of the city's Hangul street names
    (matching.StreetMatcher calibrates it). A 번길 road's number compares as a number:
    경안로12번길 is never 경안로13번길, however alike they look written down."""

    def __init__(self, names: list[str]) -> None:
        self.names = [n for n in names if has_hangul(n)]
        self._digits = [re.sub(r"\D", "", n) for n in self.names]
        self._jamo = [jamo(n) for n in self.names]
        self._sound = [sound(n) for n in self.names]
        self._road = np.array([is_road(n) for n in self.names])

    def raws(self, heard: str) -> tuple[list[str], np.ndarray]:
        heard = "".join(heard.split())
        if not heard or not self.names:
            return [], np.zeros(0, dtype=np.float32)
        digits = re.sub(r"\D", "", heard)
        keep = [i for i, d in enumerate(self._digits) if d == digits]
        if not keep:
            return [], np.zeros(0, dtype=np.float32)
        text = _ratios(jamo(heard), [self._jamo[i] for i in keep])
        said = _ratios(sound(heard), [self._sound[i] for i in keep])
        raw = np.maximum(text, (text + said) / 2)
        if not is_road(heard):  # "경안" for 경안로: the road type left unsaid
            raw = np.where(self._road[keep], raw * TYPE_MISSING, raw)
        return [self.names[i] for i in keep], raw


def with_particle(word: str, vowel_form: str, consonant_form: str) -> str:
    """ "경안로" + 와/과 -> "경안로와"; "탄벌길" -> "탄벌길과" (by the last syllable's ending)."""
    last = word[-1:] if word else ""
    if "\uac00" <= last <= "\ud7a3" and (ord(last) - 0xAC00) % 28:
        return word + consonant_form
    return word + vowel_form


def corner_label(one: str, other: str) -> str:
    """A corner as the city's language says it: "Lark Street and 12th Street",
    "경안로와 중앙로 교차로"."""
    if has_hangul(one) and has_hangul(other):
        return f"{with_particle(one, '와', '과')} {other} 교차로"
    return f"{one} and {other}"


def near_label(street: str, landmark: str) -> str:
    """ "Broadway near Union Station", "경안시장 근처 중앙로"."""
    if has_hangul(street) and has_hangul(landmark):
        return f"{landmark} 근처 {street}"
    return f"{street} near {landmark}"


_CORNER_KO = re.compile(r"^(.+?)[와과] (.+) 교차로$")
_NEAR_KO = re.compile(r"^(.+) 근처 (.+)$")


def label_parts(label: str) -> tuple[str, str] | None:
    """The two names of a corner or near label, in either language (tests, the map)."""
    corner = _CORNER_KO.match(label)
    if corner:
        return corner.group(1), corner.group(2)
    near = _NEAR_KO.match(label)
    if near:
        return near.group(2), near.group(1)
    for joint in (" and ", " near "):
        if joint in label:
            one, other = label.split(joint, 1)
            return one, other
    return None
