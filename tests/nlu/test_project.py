"""Building a locale's trainable Rasa project from its folder and data/."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dutyline.settings import ROOT
from nlu.evaluate import load_heldout, parse_example
from nlu.project import LOCALES_DIR, kinds_domain, load_kinds, prepare, training_inputs

DATA = ROOT / "data"


def examples_by_intent(build: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in (build / "data").rglob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu") or []:
            lines = [ln.strip()[2:] for ln in block["examples"].splitlines() if ln.strip()]
            found.setdefault(block["intent"], []).extend(lines)
    return found


def test_english_has_forty_examples_per_complaint_kind(tmp_path: Path) -> None:
    build = prepare("en", tmp_path / "en", DATA)
    examples = examples_by_intent(build)
    for kind in load_kinds("en", DATA):
        assert len(examples[kind]) >= 40, kind


def test_heldout_is_never_trained_on(tmp_path: Path) -> None:
    build = prepare("en", tmp_path / "en", DATA)
    trained = {
        parse_example(line, intent).text
        for intent, lines in examples_by_intent(build).items()
        for line in lines
    }
    heldout = load_heldout("en")
    assert len(heldout) >= 100
    assert not {e.text for e in heldout} & trained
    assert not list(build.rglob("heldout.yml"))
    assert LOCALES_DIR / "en" / "heldout.yml" not in training_inputs("en", DATA)
    assert DATA / "complaint_kinds.yaml" in training_inputs("en", DATA)


def test_training_data_reads_like_speech_recognition(tmp_path: Path) -> None:
    build = prepare("en", tmp_path / "en", DATA)
    for intent, lines in examples_by_intent(build).items():
        for line in lines:
            plain = parse_example(line, intent).text
            assert plain == plain.lower(), line
            assert not any(ch in plain for ch in ",.?!;:"), line
            assert not any(ch.isdigit() for ch in plain), line


@pytest.mark.parametrize("locale", sorted(p.name for p in LOCALES_DIR.iterdir() if p.is_dir()))
def test_every_locale_builds_a_complete_project(tmp_path: Path, locale: str) -> None:
    build = prepare(locale, tmp_path / locale, DATA)
    domain = yaml.safe_load((build / "domain.yml").read_text())
    en = yaml.safe_load(prepare("en", tmp_path / "en", DATA).joinpath("domain.yml").read_text())
    assert set(domain["responses"]) == set(en["responses"])
    assert set(domain["forms"]) == set(en["forms"])
    assert (build / "config.yml").is_file()
    assert (build / "data" / "rules_kinds.yml").is_file()


def test_a_locale_overlays_only_the_wording_of_kinds() -> None:
    ko = load_kinds("ko", DATA)
    en = load_kinds("en", DATA)
    assert ko.keys() == en.keys()
    for code in en:
        assert ko[code]["department"] == en[code]["department"]
        assert ko[code]["slots"].keys() == en[code]["slots"].keys()
        assert ko[code]["name"] != en[code]["name"]


def test_a_kind_says_which_slots_the_first_sentence_may_fill() -> None:
    """`entity: true` in data/ (not a list in code) lets a slot be taken from the caller's
    first sentence; the place always can be."""
    kinds = load_kinds("en", ROOT / "data")
    kinds["new_kind"] = {
        "name": "New kind",
        "slots": {
            "colour": {"question": "What colour?", "label": "Colour", "entity": True},
            "size": {"question": "How big?", "label": "Size"},
        },
    }
    slots = kinds_domain(kinds)["slots"]

    def from_entity(slot: str) -> bool:
        return any(m["type"] == "from_entity" for m in slots[slot]["mappings"])

    assert from_entity("location") and from_entity("vehicle") and from_entity("animal")
    assert from_entity("colour") and not from_entity("size") and not from_entity("blocking")


def test_a_question_tells_what_answer_it_expects() -> None:
    """`expect:` in data/ rides on the generated question, for the recognizer (voice/)."""
    responses = kinds_domain(load_kinds("en", DATA))["responses"]
    assert responses["utter_ask_noise_form_ongoing"][0]["custom"] == {"expect": "yes_no"}
    assert responses["utter_ask_dead_animal_form_animal"][0]["custom"] == {"expect": "animal"}
    assert "custom" not in responses["utter_ask_noise_form_source"][0]
    ko = kinds_domain(load_kinds("ko", DATA))["responses"]
    assert ko["utter_ask_noise_form_ongoing"][0]["custom"] == {"expect": "yes_no"}


def test_an_unknown_expect_is_refused_with_the_known_ones() -> None:
    kinds = load_kinds("en", DATA)
    kinds["noise"]["slots"]["ongoing"]["expect"] = "maybe"
    with pytest.raises(ValueError, match=r"noise.*ongoing.*'maybe'.*yes_no"):
        kinds_domain(kinds)


def test_a_kind_is_started_by_an_action_that_may_make_it_a_note(tmp_path: Path) -> None:
    """After filing, "the car is a red truck" is not a new report (after_filing.py)."""
    build = prepare("en", tmp_path / "en", DATA)
    rules = yaml.safe_load((build / "data" / "rules_kinds.yml").read_text())["rules"]
    [started] = [r for r in rules if r["rule"] == "report pothole"]
    assert started["steps"] == [{"intent": "pothole"}, {"action": "action_new_report"}]
    domain = yaml.safe_load((build / "domain.yml").read_text())
    assert "action_new_report" in domain["actions"]
    assert domain["responses"]["utter_words_kind_pothole"][0]["text"].startswith("pothole")
