"""The Korean prompts say everything the English ones do, with the same slots filled in."""

from __future__ import annotations

import re
import string
from typing import Any

import yaml

from dutyline.settings import ROOT
from nlu.project import LOCALES_DIR, kinds_domain, load_kinds

DATA = ROOT / "data"
HANGUL = re.compile(r"[가-힣]")
# Prompts that only join or label other words, where no Korean word is needed.
NO_WORDS = {"utter_read_back_detail"}


def responses(locale: str) -> dict[str, Any]:
    domain = yaml.safe_load((LOCALES_DIR / locale / "domain" / "base.yml").read_text("utf-8"))
    return {**domain["responses"], **kinds_domain(load_kinds(locale, DATA))["responses"]}


def slots_of(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def test_both_locales_have_the_same_response_keys() -> None:
    en, ko = responses("en"), responses("ko")
    assert sorted(set(en) - set(ko)) == []
    assert sorted(set(ko) - set(en)) == []


def test_every_korean_response_fills_the_same_slots_and_controls() -> None:
    en, ko = responses("en"), responses("ko")
    for key in en:
        assert len(ko[key]) == len(en[key]), key
        for en_variant, ko_variant in zip(en[key], ko[key], strict=True):
            assert slots_of(ko_variant["text"]) == slots_of(en_variant["text"]), key
            assert ko_variant.get("custom") == en_variant.get("custom"), key


def test_every_korean_response_is_korean() -> None:
    for key, variants in responses("ko").items():
        if key in NO_WORDS:
            continue
        for variant in variants:
            words = re.sub(r"\{\w+\}", "", variant["text"])
            if not re.search(r"[^\W\d_]", words):
                continue  # digits or slots only (e.g. a keypad key)
            assert HANGUL.search(words), f"{key}: {variant['text']!r} has no Korean words"
            assert not re.search(r"[A-Za-z]{2,}", words), f"{key}: English left in {words!r}"


def test_korean_kinds_overlay_every_name_question_label_and_keyword() -> None:
    overlay = yaml.safe_load((LOCALES_DIR / "ko" / "complaint_kinds.yaml").read_text("utf-8"))
    data = yaml.safe_load((DATA / "complaint_kinds.yaml").read_text("utf-8"))["kinds"]
    assert overlay["kinds"].keys() == data.keys()
    for code, kind in data.items():
        words = overlay["kinds"][code]
        assert HANGUL.search(words["name"]), code
        assert words["keywords"] and all(HANGUL.search(k) for k in words["keywords"]), code
        assert words["slots"].keys() == kind["slots"].keys(), code
        for slot, spec in words["slots"].items():
            assert HANGUL.search(spec["question"]) and HANGUL.search(spec["label"]), (code, slot)
