"""What the bot's question expects, told to the recognizer and used to put misheard words
right (voice/expectations.py), built from the real demo city and the real complaint kinds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dispatch.contract import PlaceVocabulary
from dispatch.kinds import load_kinds
from dispatch.settings import DATA_DIR
from dutyline.app import recognition_vocabulary
from nlu.contract import Expect
from voice.expectations import (
    NO_EXPECTATIONS,
    Expectations,
    RecognitionVocabulary,
    Snap,
    place_hints,
    place_prompt,
)


@pytest.fixture(scope="module")
def riverton(tmp_path_factory: pytest.TempPathFactory) -> PlaceVocabulary:
    """The demo city's names, as its geocoder gives them."""
    from callbench.place_bench import load_city
    from dispatch.places.geocoder import Geocoder
    from tests.conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("places"))
    return Geocoder(load_city(settings)).vocabulary()


@pytest.fixture(scope="module")
def expectations(riverton: PlaceVocabulary) -> Expectations:
    """As the app factory builds them: places, kinds' keywords, the dialogue's words."""
    kinds = load_kinds(DATA_DIR)
    dispatch = SimpleNamespace(
        place_vocabulary=lambda city=None: riverton,
        kinds=kinds,
        lines=SimpleNamespace(city_of_locale=lambda locale: "Riverton"),
    )
    return Expectations(recognition_vocabulary(SimpleNamespace(dispatch=dispatch)))


# --- the place prompt ------------------------------------------------------------------


def test_the_place_prompt_names_each_street_once_without_its_type(
    riverton: PlaceVocabulary,
) -> None:
    prompt = place_prompt(riverton)
    words = prompt.split()
    # Ridgewood Avenue, Court and Lane: one "Ridgewood"; no street types at all.
    assert words.count("Ridgewood") == 1 and words.count("Lark") == 1
    assert not {"Street", "Avenue", "Lane", "Court", "Drive"} & set(words)
    assert "12th" not in words  # numbered streets Whisper writes unaided
    assert "Harbor View" in prompt and "Forest Hill" in prompt  # two-word names, whole
    assert "Station" not in words  # landmarks: plain words, and they made Whisper invent


def test_place_hints_come_from_a_geocoder_or_its_vocabulary(riverton: PlaceVocabulary) -> None:
    from_vocabulary = place_hints(riverton)
    from_geocoder = place_hints(SimpleNamespace(vocabulary=lambda: riverton))
    assert from_vocabulary == from_geocoder
    assert from_vocabulary.expect == "place"
    assert "Lark Street" in from_vocabulary.phrases


def test_hints_are_given_per_expected_answer_and_only_in_english(
    expectations: Expectations,
) -> None:
    assert expectations.hints_for(None) is None
    assert expectations.hints_for(Expect.PLACE, "ko") is None  # Vosk, Korean names
    complaint = expectations.hints_for(Expect.COMPLAINT, "en-US")
    assert complaint is not None and "pothole" in complaint.phrases
    # Measured: a prompt of short answers makes Whisper write them over noise; places only.
    assert [e for e, h in expectations.hints.items() if h.prompt] == [Expect.PLACE]
    assert "Sycamore" in expectations.hints_for(Expect.PLACE).prompt  # type: ignore[union-attr]
    animal = expectations.hints_for(Expect.ANIMAL)
    assert animal is not None and "raccoon" in animal.phrases
    # Without a city nothing is listed for places, and nothing is passed.
    assert NO_EXPECTATIONS.hints_for(Expect.PLACE) is None


# --- snapping ---------------------------------------------------------------------------


def test_a_misheard_complaint_word_is_put_right_when_the_opening_is_expected(
    expectations: Expectations,
) -> None:
    text, snaps = expectations.snap("I need to report a huge portal", Expect.COMPLAINT)
    assert text == "I need to report a huge pothole"
    assert snaps == [Snap("portal", "pothole")]


@pytest.mark.parametrize(
    "expect", [None, Expect.PLACE, Expect.YES_NO, Expect.ANIMAL, Expect.VEHICLE, Expect.NUMBER]
)
def test_the_same_words_are_kept_when_another_answer_is_expected(
    expectations: Expectations, expect: Expect | None
) -> None:
    said = "I need to report a huge portal"
    assert expectations.snap(said, expect) == (said, [])


def test_words_callers_commonly_say_are_never_snapped(expectations: Expectations) -> None:
    # "barking" sounds like "parking" (an expected word), but callers say it: a dog barking.
    for said in (
        "my neighbour's dog is barking all night",
        "the light has been broken since the morning",
        "someone parked on the sidewalk",
    ):
        assert expectations.snap(said, Expect.COMPLAINT) == (said, [])


def test_close_mishearings_of_other_expected_answers(expectations: Expectations) -> None:
    assert expectations.snap("a dead racoon", Expect.ANIMAL)[0] == "a dead raccoon"
    assert expectations.snap("a silva Toyoda", Expect.VEHICLE)[0] == "a silver Toyota"
    assert expectations.snap("somebody is dumpling trash", Expect.COMPLAINT)[0] == (
        "somebody is dumping trash"
    )
    # A word not close enough to any expected one stays as heard.
    assert expectations.snap("a dead hedgehog", Expect.ANIMAL) == ("a dead hedgehog", [])


def test_yes_and_no_stay_yes_and_no(expectations: Expectations) -> None:
    for said in ("Yes.", "Yeah, that's right.", "No, it's on Lark Street.", "Nope"):
        assert expectations.snap(said, Expect.YES_NO) == (said, [])
    hints = expectations.hints_for(Expect.YES_NO)
    assert hints is not None and {"yes", "no"} <= set(hints.phrases)


def test_places_and_street_names_are_never_snapped(expectations: Expectations) -> None:
    # The geocoder snaps streets with the city's data; here "Lark" must not become "lamp".
    said = "it's at 42 Larch Street"
    assert expectations.snap(said, Expect.PLACE) == (said, [])
    # A city's street word said in another answer stays too: "Taylor" sounds like
    # "trailer" (a vehicle), but Taylor Way is a Riverton street.
    said = "a white van parked on Taylor Way"
    assert expectations.snap(said, Expect.VEHICLE) == (said, [])


def test_another_language_is_left_alone(expectations: Expectations) -> None:
    said = "I need to report a huge portal"
    assert expectations.snap(said, Expect.COMPLAINT, "ko") == (said, [])


def test_an_empty_vocabulary_snaps_nothing() -> None:
    bare = Expectations(RecognitionVocabulary())
    assert bare.snap("a huge portal", Expect.COMPLAINT) == ("a huge portal", [])
