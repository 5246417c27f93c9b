"""The dialogue's sentences without a slot, which the line synthesizes once at start-up."""

from __future__ import annotations

import pytest

from dutyline.settings import ROOT
from nlu.fixed_replies import fixed_sentences, response_texts, split_sentences

DATA = ROOT / "data"


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_every_locale_lists_its_fixed_sentences(locale: str) -> None:
    found = fixed_sentences(locale, DATA)
    assert len(found) > 40 and len(set(found)) == len(found)
    assert not [s for s in found if "{" in s or "}" in s]
    assert all(s == s.strip() and s[-1] in ".!?" for s in found)


def test_the_greeting_questions_and_goodbyes_are_there() -> None:
    found = set(fixed_sentences("en", DATA))
    responses = response_texts("en", DATA)
    greeting = responses["utter_greet"][0]
    assert set(split_sentences(greeting)) <= found
    assert {"Thank you for calling.", "Goodbye.", "Where is it?"} <= found
    # the complaint kinds' questions, generated from data/complaint_kinds.yaml
    assert "What is making the noise?" in found
    # words for matching and values put into other responses are never spoken alone
    assert "first 1st former" not in found and "or" not in found
    assert not any(s in found for s in responses["utter_label_noise_source"])


def test_a_slotted_reply_keeps_its_fixed_sentences() -> None:
    """A read-back as the dialogue fills it: the sentences around the slots are cached;
    the voice side splits the filled text by the same rule."""
    found = set(fixed_sentences("en", DATA))
    template = response_texts("en", DATA)["utter_read_back"][0]
    filled = template.format(
        kind_name="Noise complaint",
        location="Oak Street and Fifth Avenue",
        details="Source: a dog barking. Ongoing: yes.",
    )
    parts = split_sentences(filled)
    assert [p in found for p in parts] == [True, False, False, False, True]
    assert parts[0] == "Let me read that back." and parts[-1] == "Is that right?"
    korean = set(fixed_sentences("ko", DATA))
    assert {"확인하겠습니다.", "맞습니까?"} <= korean


def test_fragments_after_a_slot_inside_a_sentence_are_not_listed() -> None:
    # "... and {department_name} is on it." must not give "is on it."
    assert not [s for s in fixed_sentences("en", DATA) if s[0].islower()]
