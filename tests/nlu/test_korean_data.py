"""The Korean training and held-out data: enough of it, every English intent and entity,
and a held-out set that tests roads the model never heard."""

from __future__ import annotations

import re
from collections import Counter

import yaml

from dutyline.settings import ROOT
from nlu.evaluate import Example, load_heldout, parse_example
from nlu.project import LOCALES_DIR

OSM = ROOT / "data" / "places" / "gwangju-ko.osm"
ROAD = re.compile(r"(?<![\d가-힣])[가-힣]+?(?:대로|로|길)(?=[\s\d]|와|과|$)")


def training(locale: str) -> list[Example]:
    examples: list[Example] = []
    for path in sorted((LOCALES_DIR / locale / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text("utf-8")).get("nlu") or []:
            if "intent" in block:  # not the regex patterns
                lines = [ln.strip()[2:] for ln in block["examples"].splitlines() if ln.strip()]
                examples += [parse_example(line, block["intent"]) for line in lines]
    return examples


def entity_types(examples: list[Example]) -> set[str]:
    return {kind for e in examples for _, _, kind in e.entities}


def roads_in(examples: list[Example]) -> set[str]:
    return {
        road
        for e in examples
        for start, end, kind in e.entities
        if kind == "location"
        for road in ROAD.findall(e.text[start:end])
    }


def test_forty_korean_examples_for_every_english_intent() -> None:
    en = Counter(e.intent for e in training("en"))
    ko = Counter(e.intent for e in training("ko"))
    assert set(ko) == set(en)
    short = {intent: n for intent, n in ko.items() if n < 40}
    assert short == {}


def test_korean_data_marks_every_entity_the_english_data_does() -> None:
    assert entity_types(training("ko")) == entity_types(training("en"))
    heldout = entity_types(load_heldout("ko"))
    assert {"location", "animal", "vehicle", "ticket_number"} <= heldout


def test_spans_stop_before_particles_and_are_unique_per_intent() -> None:
    seen: dict[str, str] = {}
    for example in training("ko"):
        assert seen.setdefault(example.text, example.intent) == example.intent, example.text
        for start, end, _ in example.entities:
            span = example.text[start:end]
            assert span == span.strip() and not re.search(r"\d(에서|에|으로|로|이|가)$", span), span


def test_heldout_is_big_new_and_on_roads_never_trained() -> None:
    heldout, trained = load_heldout("ko"), training("ko")
    assert len(heldout) >= 100
    assert {e.text for e in heldout} & {e.text for e in trained} == set()
    osm_roads = set(re.findall(r'k="name" v="([^"]+(?:대로|로|길))"', OSM.read_text("utf-8")))
    train_roads, test_roads = roads_in(trained), roads_in(heldout)
    assert len(test_roads) >= 8 and len(train_roads) >= 15
    assert train_roads <= osm_roads and test_roads <= osm_roads  # the test city's real roads
    assert train_roads & test_roads == set()
