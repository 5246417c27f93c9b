"""A street keyed on the phone's letters (nlu/keyed_letters.py), on look-alike names and on
the demo city's own streets."""

from __future__ import annotations

from nlu.keyed_letters import keyed_streets, name_keys, ways_to_key
from tests.dispatch.place_support import riverton

STREETS = ["Lark Street", "Lark Avenue", "Larkin Street", "Linden Way", "10th Street", "Broadway"]


def test_letters_and_digits_on_the_keys() -> None:
    assert name_keys("Lark") == "5275" and name_keys("O'Brien") == "627436"
    assert ways_to_key("10th Street") == {"1084", "1084787338", "10"}
    assert name_keys("광주대로") == ""  # Korean names are not keyed on these letters


def test_the_whole_name_keyed_names_its_streets_and_no_longer_one() -> None:
    assert keyed_streets("5275", STREETS, 3) == ["Lark Avenue", "Lark Street"]
    assert keyed_streets("527546", STREETS, 3) == ["Larkin Street"]
    assert keyed_streets("10", STREETS, 3) == ["10th Street"]
    assert keyed_streets("5275787338", STREETS, 3) == ["Lark Street"]  # type keyed too


def test_a_start_of_a_name_names_the_streets_it_begins() -> None:
    assert keyed_streets("2762", STREETS, 3) == ["Broadway"]
    assert keyed_streets("527", STREETS, 3) == ["Lark Avenue", "Lark Street", "Larkin Street"]
    assert keyed_streets("5", STREETS, 3) == []  # one key names too many
    assert keyed_streets("52", STREETS, 2) == []  # more streets than may be offered
    assert keyed_streets("9999", STREETS, 3) == [] and keyed_streets("#", STREETS, 3) == []


def test_each_of_rivertons_streets_keyed_by_name_is_found_among_at_most_three() -> None:
    streets = sorted({s.name for s in riverton().streets})
    assert len(streets) > 250
    found = 0
    for street in streets:
        words = street.split()
        stem = " ".join(words[:-1]) if len(words) > 1 else street
        offered = keyed_streets(name_keys(stem), streets, 3)
        found += street in offered
    # Riverton's look-alikes (Linden Way, Linden Terrace...) make some names two or three;
    # four names with four or more look-alikes are not offered at all.
    print(f"keyed by name: {found} of {len(streets)} streets found among at most three")
    assert found >= 0.97 * len(streets)
