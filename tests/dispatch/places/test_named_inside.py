"""A street the city has, named exactly amid words that make no place (the recognizer's
noise on a poor line: transcripts seen in `dutyline bench places`), is found, read back
as unsure, and always a real place; a look-alike amid noise is still not guessed."""

from __future__ import annotations

import pytest

from dispatch.contract import CONFIDENT_PLACE, PlaceKind
from dispatch.places.inside import StreetsInside
from tests.dispatch.places.place_facts import assert_real


@pytest.mark.parametrize(
    ("heard", "label", "kind"),
    [
        ("2008 848 40th Street", "848 40th Street", PlaceKind.ADDRESS),  # number heard as two
        ("Lincoln Avenue 23rd Street", "Lincoln Avenue and 23rd Street", PlaceKind.INTERSECTION),
        ("In front of 1,100 hunting Clinton Avenue", "Clinton Avenue", PlaceKind.STREET),
    ],
)
def test_an_exact_street_amid_noise_is_found(geocoder, riverton, heard, label, kind) -> None:
    match = geocoder.locate(heard)
    assert match.best is not None and (match.best.label, match.best.kind) == (label, kind)
    assert_real(match, riverton)
    # Read back for the caller to confirm: sure enough to say, less sure than a clean reading.
    assert CONFIDENT_PLACE <= match.best.confidence < geocoder.locate(label).best.confidence


def test_two_exact_streets_that_never_meet_are_asked_about(geocoder, riverton) -> None:
    match = geocoder.locate("um Pearl Street hmm State Street")  # side by side in Riverton
    assert match.ambiguous and not match.confident
    assert {c.label for c in match.candidates} == {"Pearl Street", "State Street"}
    assert_real(match, riverton)


@pytest.mark.parametrize(
    "heard", ["It's at 578 Dent Street", "2008 848 Dent Street", "free hundred packs an avenue"]
)
def test_a_look_alike_amid_noise_is_not_guessed(geocoder, heard) -> None:
    assert geocoder.locate(heard).candidates == []


def test_a_sentence_read_before_keeps_its_reading(geocoder) -> None:
    match = geocoder.locate("42 lark street")
    assert match.best is not None and match.best.label == "42 Lark Street"
    assert match.best.confidence > 0.95


def test_names_are_found_whole_left_to_right_each_once() -> None:
    inside = StreetsInside(["Lark Street", "Lark Avenue", "Martin Luther King Boulevard"])
    found = inside.find("12 lark street 9 martin luther king boulevard lark street 0 lark avenue")
    assert [(f.street, f.number) for f in found] == [
        ("Lark Street", "12"), ("Martin Luther King Boulevard", "9"), ("Lark Avenue", None)
    ]  # fmt: skip
    assert inside.find("lark") == [] and inside.find("") == []
