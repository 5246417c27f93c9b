"""The completeness check that lets a turn end at its first pause (voice/turn_completion.py)."""

from __future__ import annotations

import pytest

from dispatch.contract import PlaceVocabulary
from nlu.contract import Expect
from voice.expectations import Expectations, RecognitionVocabulary
from voice.turn_completion import TurnCompletion

STREETS = ["Oak Street", "Main Street", "2nd Street", "Birch Court", "Maple Avenue"]
LANDMARKS = ["Riverside Park", "City Hall"]
KEYWORDS = ("parking", "car", "driveway", "pothole", "street light", "tree", "dead animal")


@pytest.fixture(scope="module")
def check() -> TurnCompletion:
    vocabulary = RecognitionVocabulary(
        places=PlaceVocabulary(streets=STREETS, landmarks=LANDMARKS, aliases=["the station"]),
        complaint_words=KEYWORDS,
    )
    return TurnCompletion.from_expectations(Expectations(vocabulary))


@pytest.mark.parametrize(
    ("text", "expect", "complete"),
    [
        ("Yes.", Expect.YES_NO, True),
        ("Yeah, that's right.", Expect.YES_NO, True),
        ("No, that's wrong.", Expect.YES_NO, True),
        ("No.", Expect.YES_NO, True),  # "Is it still going on?"
        ("No, the address is", Expect.YES_NO, False),
        ("Yes, but", Expect.YES_NO, False),
        ("Maple", Expect.YES_NO, False),
        # "Is that right?" after the read-back: a no goes on to what is wrong.
        ("Yes, that's right.", Expect.READ_BACK, True),
        ("No.", Expect.READ_BACK, False),
        ("No, that's wrong.", Expect.READ_BACK, False),
        ("No, it's on Elm Street.", Expect.READ_BACK, False),  # what is there? it may go on
        ("No, there's a pothole on Main Street.", Expect.READ_BACK, True),  # a whole correction
        # "Is there anything else?": a no closes the call, a yes brings another report.
        ("No, that's all, thank you.", Expect.MORE, True),
        ("Nothing else, I'm good.", Expect.MORE, True),
        ("No, that's all for now", Expect.MORE, True),
        ("Nope.", Expect.MORE, True),
        ("No, that's all but", Expect.MORE, False),
        ("Yes.", Expect.MORE, False),  # the report follows
        ("Yes, there's also a pothole", Expect.MORE, False),  # where?
        ("There's also a pothole on Main Street.", Expect.MORE, True),
        ("Yes, a tree fell down on Maple Avenue.", Expect.MORE, True),
        ("3", Expect.NUMBER, True),
        ("About twelve.", Expect.NUMBER, True),
        ("two hundred and", Expect.NUMBER, False),
        ("I think there were", Expect.NUMBER, False),
        ("12 Oak Street.", Expect.PLACE, True),
        ("12 oak st", Expect.PLACE, True),
        ("Riverside Park", Expect.PLACE, True),
        ("River Side Park.", Expect.PLACE, True),
        ("12 Oakstreet", Expect.PLACE, True),
        ("It's at the station.", Expect.PLACE, True),
        ("The corner of Main Street and Second Street.", Expect.PLACE, True),
        ("The corner of Main Street", Expect.PLACE, False),
        ("The quarter of Main Street", Expect.PLACE, False),  # misheard "corner"
        ("12 Oak Street, apartment", Expect.PLACE, False),
        ("Maple Avenue near the school", Expect.PLACE, False),
        ("45 River Road", Expect.PLACE, False),  # not a street of this city
        ("12 Oak Street and", Expect.PLACE, False),
        ("There is a car blocking my driveway on 12 Oak Street.", Expect.COMPLAINT, True),
        ("There is a car blocking my driveway.", Expect.COMPLAINT, False),  # where?
        ("I live on Main Street.", Expect.COMPLAINT, False),  # "street" names no trouble
        ("A tree fell down on Maple Avenue and", Expect.COMPLAINT, False),
        ("a dead deer", Expect.ANIMAL, True),
        ("it's a", Expect.ANIMAL, False),
        ("A red Ford pickup truck.", Expect.VEHICLE, True),
        ("It's a red pickup truck.", Expect.VEHICLE, False),  # often goes on: "a Ford"
        ("one two three", Expect.DIGITS, False),
        ("R I V", Expect.SPELLING, False),
        ("Yes.", None, False),
        ("", Expect.YES_NO, False),
        ("Yes,", Expect.YES_NO, False),
        ("No...", Expect.YES_NO, False),
    ],
)
def test_complete_answers_and_the_rest(
    check: TurnCompletion, text: str, expect: Expect | None, complete: bool
) -> None:
    verdict = check.check(text, expect, "en")
    assert bool(verdict) is complete, verdict.reason
    assert verdict.reason


def test_another_language_is_never_early(check: TurnCompletion) -> None:
    for text in ("네", "네, 맞아요.", "오크 스트리트 12번지", "yes"):
        verdict = check.check(text, Expect.YES_NO, "ko")
        assert not verdict and verdict.reason == "locale"
    assert check.check("Yes.", Expect.YES_NO, "en-US")  # a region of the same language is fine


def test_without_the_city_no_place_or_opening_is_complete() -> None:
    bare = TurnCompletion()
    assert not bare.check("12 Oak Street", Expect.PLACE)
    assert not bare.check("There is a car blocking my driveway on 12 Oak Street", Expect.COMPLAINT)
    assert bare.check("yes", Expect.YES_NO)


def test_one_check_per_expectations(check: TurnCompletion) -> None:
    expectations = Expectations(RecognitionVocabulary())
    assert TurnCompletion.from_expectations(expectations) is TurnCompletion.from_expectations(
        expectations
    )
