"""Where a phone report is, said in public: the block, never the house.

A caller's location is their words, often their own address. Open311 publishes
phone (and staff-filed) reports at block level: a named public place (landmark,
park, intersection, a street near a landmark) as the city's place data names it;
an address as "400 block of Linden Street" (the house number rounded down to its
hundred, US block numbering); a street as its name. When the city's data matched
nothing, the same is read from the caller's words: a street with the number said
before it as its block, a Korean road address as the road's name alone; anything
else not at all, rather than the caller's words.

Coordinates are rounded to 3 decimals: 0.001° (about 111 m north-south, 82 m
east-west at this latitude) is about one city block, so every house on it gets the
same point, while a map still shows the right neighbourhood.
"""

from __future__ import annotations

import re

from dispatch.contract import PlaceKind
from dispatch.ticket_place import normalize

COORDINATE_DECIMALS = 3
BLOCK = 100

# fmt: off
# "place" is left out: "my mum's place" is not a street.
STREET_TYPES = frozenset({
    "street", "avenue", "road", "drive", "boulevard", "lane", "court", "parkway", "highway",
    "way", "terrace",
})
# Words that end a street's name, walking back from its type ("my house on | Linden Street").
_NOT_A_NAME = frozenset({
    "on", "at", "of", "the", "near", "by", "in", "and", "&", "from", "to", "off", "behind",
    "outside", "opposite", "front", "across", "next", "corner", "between", "beside", "past",
    "my", "his", "her", "their", "our", "your", "a", "an", "house", "home", "apartment", "apt",
    "flat", "building", "number", "no",
})
# A house number the recognizer left in words ("twelve Linden Street") is a number too.
_NUMBER_WORDS = frozenset({
    "zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand",
})
# fmt: on
_ENDS_A_NAME = _NOT_A_NAME | _NUMBER_WORDS
_HOUSE_NUMBER = re.compile(r"(\d+)[a-z]?")
_LABELLED_ADDRESS = re.compile(r"(\d+)[A-Za-z]?\s+(.+)")
# 도로명주소: the road (…로, …대로, …길, "경안로12번길" too) comes before the building number.
_KOREAN_ROAD = re.compile(r"([가-힣0-9]*[가-힣](?:대로|로|길))(?:\s|\d|$)")


def public_address(
    said: str | None,
    normalized: str | None,
    place_name: str | None,
    place_kind: str | None = None,
) -> str | None:
    """The published `address` of a report the caller did not publish themselves."""
    if place_name and place_kind == PlaceKind.ADDRESS:
        house = _LABELLED_ADDRESS.match(place_name)  # the geocoder's "42 Lark Street"
        return _block(int(house.group(1)), house.group(2)) if house else None
    if place_name and place_kind is not None:
        # A block, street, corner, landmark or "Broadway near Union Station": no house.
        return place_name
    if place_name and not _is_street(place_name):
        return place_name  # a landmark, park or intersection: a public place, named
    text = normalized or normalize(said)
    streets = _streets(text)
    if place_name:
        key = normalize(place_name)
        number = next((n for n, name in streets if normalize(name) == key), None)
        return _block(number, place_name)
    if streets:
        if " & " in text and len(streets) >= 2:
            return " & ".join(name for _, name in streets[:2])
        return _block(*streets[0])
    korean = _KOREAN_ROAD.search(said or "")
    return korean.group(1) if korean else None


def public_point(lat: float | None, long: float | None) -> tuple[float | None, float | None]:
    if lat is None or long is None:
        return None, None
    return round(lat, COORDINATE_DECIMALS), round(long, COORDINATE_DECIMALS)


def _is_street(name: str) -> bool:
    words = normalize(name).split()
    return "&" not in words and bool(words) and words[-1] in STREET_TYPES


def _streets(text: str) -> list[tuple[int | None, str]]:
    """Each street named in normalized `text`, with the house number said just before it."""
    words = text.split()
    found: list[tuple[int | None, str]] = []
    for index, word in enumerate(words):
        if word not in STREET_TYPES:
            continue
        name: list[str] = []
        at = index - 1
        while at >= 0 and len(name) < 3:
            candidate = words[at]
            if candidate in _ENDS_A_NAME or _HOUSE_NUMBER.fullmatch(candidate):
                break
            name.insert(0, candidate)
            at -= 1
        # "john smith's court": a person's, not a street's name.
        if not name or any("'" in part for part in name):
            continue
        number_word = _HOUSE_NUMBER.fullmatch(words[at]) if at >= 0 else None
        number = int(number_word.group(1)) if number_word else None
        found.append((number, " ".join(_capital(part) for part in [*name, word])))
    return found


def _block(number: int | None, street: str) -> str:
    return f"{number // BLOCK * BLOCK} block of {street}" if number is not None else street


def _capital(word: str) -> str:
    return word[:1].upper() + word[1:]  # "5th", not str.title()'s "5Th"
