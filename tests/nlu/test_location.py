"""The place a caller says, as an officer reads it."""

import pytest

from nlu.location import is_vague, normalize_location, spelled_word
from nlu.numbers import digits_only, words_to_digits


@pytest.mark.parametrize(
    ("spoken", "place"),
    [
        ("um it's at twelve main street", "12 Main Street"),
        ("one twenty three oak avenue", "123 Oak Avenue"),
        ("fourteen oh two high street", "1402 High Street"),
        ("twenty two hundred park road", "2200 Park Road"),
        ("the address is three thirty three pine street please", "333 Pine Street"),
        ("uh the corner of fifth and main", "corner of 5th and Main"),
        (
            "at the intersection of church street and high street",
            "corner of Church Street and High Street",
        ),
        ("main and forty second", "corner of Main and 42nd"),
        ("behind the walmart on route nine", "behind the Walmart on Route 9"),
        ("yeah it's on oak avenue near the high school i think", "Oak Avenue near the High School"),
        ("Corner of Elm & 2nd.", "corner of Elm and 2nd"),
        ("in front of eighty eight washington boulevard", "in front of 88 Washington Boulevard"),
    ],
)
def test_spoken_places_are_normalized(spoken: str, place: str) -> None:
    assert normalize_location(spoken) == place


def test_landmarks_joined_by_and_are_not_made_a_corner() -> None:
    assert (
        normalize_location("between the park and the school") == "between the Park and the School"
    )


@pytest.mark.parametrize("spoken", ["um", "uh okay", "it's at", ""])
def test_nothing_of_a_place_is_empty(spoken: str) -> None:
    assert normalize_location(spoken) == ""


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("route nine", "route 9"),
        ("highway thirty one", "highway 31"),
        ("twenty first street", "21st street"),
        ("one hundred first street", "101st street"),
        ("one thousand two hundred main", "1200 main"),
        ("the one by the school", "the one by the school"),
        ("oh my god", "oh my god"),
        ("hundred main", "hundred main"),
    ],
)
def test_spoken_numbers(spoken: str, written: str) -> None:
    assert words_to_digits(spoken) == written


def test_ticket_numbers_said_or_keyed_become_digits() -> None:
    assert digits_only("two six one one two three zero zero four two") == "2611230042"
    assert digits_only("ticket 26 1123-0042") == "2611230042"
    assert digits_only("one") == "1"
    assert digits_only("i don't have it") == ""


@pytest.mark.parametrize(
    ("spoken", "place"),
    [
        ("음 중앙로 십이", "중앙로 12"),
        ("행복로 삼십", "행복로 30"),
        ("백이십삼번지 앞", "123번지 앞"),
        ("을지로 삼가", "을지로 3가"),
        ("중앙로 일이삼", "중앙로 123"),
        ("이 근처 사이", "이 근처 사이"),  # words spelled like numerals stay words
        ("시청 앞", "시청 앞"),
    ],
)
def test_korean_places(spoken: str, place: str) -> None:
    assert normalize_location(spoken) == place


def test_korean_ticket_numbers() -> None:
    assert digits_only("이 육 일 일 이 삼 공 공 사 이") == "2611230042"


@pytest.mark.parametrize(
    ("said", "vague"),
    [
        ("here", True),
        ("right here", True),
        ("on my street", True),
        ("outside", True),
        ("outside my house", True),
        ("우리 집 앞", True),
        ("lark street", False),
        ("outside city hall", False),
        ("the corner of pearl and state", False),
    ],
)
def test_pointing_words_alone_name_no_place(said: str, vague: bool) -> None:
    assert is_vague(said) is vague


@pytest.mark.parametrize(
    ("said", "word"),
    [
        ("L A R K", "lark"),
        ("l. a. r. k.", "lark"),
        ("P-E-A-R-L", "pearl"),
        ("um el ay are kay street", "lark street"),
        ("double you a t e r", "water"),
        ("lark street", "Lark Street"),  # not spelled: the place as said
    ],
)
def test_a_spelled_street_becomes_a_word(said: str, word: str) -> None:
    assert spelled_word(said) == word
