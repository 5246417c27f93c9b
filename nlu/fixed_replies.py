"""The sentences the dialogue always says the same way: what voice/ can synthesize once.

A reply from Rasa is a domain response filled with slots ("Let me read that back.
{kind_name}, at {location}. {details} Is that right?"). Its sentences without a
`{slot}` are the same on every call, so the voice side makes their audio at start-up
and speaks them without waiting for the synthesizer. The voice side splits a reply
into sentences with `split_sentences`, the same rule used here, so the texts match.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from nlu.project import kinds_domain, load_kinds, locale_dir

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# A slot that opens a sentence may hold whole sentences ("{details} Is that right?", where
# details is "Label: value." sentences): what follows it is then a sentence of its own.
_AFTER_SLOTS = re.compile(r"^(?:\{\w+\}\s+)+(?P<tail>[^{}]+[.!?])$")
# Responses that are never spoken as they are: words for matching, or values put into
# other responses (a kind's name, a detail's label).
_NOT_SPOKEN = (
    "utter_words_",
    "utter_word_",
    "utter_kind_",
    "utter_label_",
    "utter_value_",
    "utter_keypad_kind_",  # a key of the keypad's list, and one item of it
)


def split_sentences(text: str) -> list[str]:
    """A reply's sentences, as the voice side speaks them one by one."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def _fixed_parts(template: str) -> list[str]:
    found = []
    for sentence in split_sentences(template):
        if "{" not in sentence:
            found.append(sentence)
            continue
        after = _AFTER_SLOTS.match(sentence)
        if after is None:
            continue
        tail = after["tail"]
        if tail[0].lower() == tail[0].upper() or tail[0].isupper():  # no case, or a capital
            found.append(tail)
    return found


def response_texts(locale: str, data_dir: Path) -> dict[str, list[str]]:
    """Every response of the locale's domain (the hand-written part and the generated
    complaint forms): its name and its texts."""
    domain: dict[str, list[dict[str, object]]] = {}
    for part in sorted((locale_dir(locale) / "domain").glob("*.yml")):
        domain.update((yaml.safe_load(part.read_text("utf-8")) or {}).get("responses") or {})
    domain.update(kinds_domain(load_kinds(locale, data_dir))["responses"])
    return {
        name: [str(v["text"]) for v in variants if v.get("text")]
        for name, variants in domain.items()
    }


def fixed_sentences(locale: str, data_dir: Path) -> tuple[str, ...]:
    """The spoken sentences without a slot of every response, each once, in domain order."""
    found: dict[str, None] = {}
    for name, texts in response_texts(locale, data_dir).items():
        if name.startswith(_NOT_SPOKEN):
            continue
        for text in texts:
            found.update(dict.fromkeys(_fixed_parts(" ".join(text.split()))))
    return tuple(found)
