"""Builds the trainable Rasa project of one locale.

Each locale is a folder, nlu/locales/<locale>/, holding the hand-written part
(config, shared prompts, training data, rules). The complaint forms are
generated here from data/complaint_kinds.yaml, so a kind's questions, name and
department live in data/ only. A locale other than English overlays the
kinds' wording from its own complaint_kinds.yaml (names, questions, labels).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from nlu.contract import Expect

LOCALES_DIR = Path(__file__).resolve().parent / "locales"

# Intents that interrupt a form instead of answering its question.
INTERRUPTS = [
    "emergency",
    "talk_to_human",
    "repeat",
    "goodbye",
    "no_input",
    "hangup",
    "keypad",
    "call_started",
]
# What each interrupting intent does while a form is active (the form resumes by
# a followup from the action, or ends).
INTERRUPT_ACTIONS = {
    "emergency": "action_emergency",
    "talk_to_human": "action_transfer",
    "repeat": "action_repeat",
    "goodbye": "action_goodbye",
    "no_input": "action_no_input",
    "hangup": "action_hangup",
    "keypad": "action_keypad",
}
# The place can always be said in the caller's first sentence; other slots can when the kind
# says so (`entity: true` in data/complaint_kinds.yaml), so a new kind is data, not code.
ALWAYS_ENTITY_SLOTS = {"location"}


def locale_dir(locale: str) -> Path:
    path = LOCALES_DIR / locale
    if not (path / "config.yml").is_file():
        raise FileNotFoundError(f"No Rasa project for locale {locale!r} in {path}")
    return path


def load_kinds(locale: str, data_dir: Path) -> dict[str, dict[str, Any]]:
    """Complaint kinds from data/, with the locale's wording laid over them."""
    kinds = yaml.safe_load((data_dir / "complaint_kinds.yaml").read_text("utf-8"))["kinds"]
    overlay_path = locale_dir(locale) / "complaint_kinds.yaml"
    if overlay_path.is_file():
        overlay = yaml.safe_load(overlay_path.read_text("utf-8"))["kinds"]
        for code, words in overlay.items():
            kind = kinds[code]  # a KeyError here means the overlay names a kind data/ lacks
            kind["name"] = words.get("name", kind["name"])
            kind["keywords"] = words.get("keywords", kind.get("keywords") or [])
            for slot, slot_words in (words.get("slots") or {}).items():
                kind["slots"][slot].update(slot_words)
    return kinds


def _question(code: str, slot: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A slot's question; with `expect:`, what answer the recognizer should expect."""
    question: dict[str, Any] = {"text": spec["question"]}
    expect = spec.get("expect")
    if expect is not None:
        if expect not in {e.value for e in Expect}:
            known = ", ".join(e.value for e in Expect)
            raise ValueError(
                f"kind {code!r}, slot {slot!r}: expect {expect!r} is not one of {known}"
            )
        question["custom"] = {"expect": expect}
    return question


def _from_text(conditions: list[dict[str, str]]) -> dict[str, Any]:
    return {"type": "from_text", "not_intent": INTERRUPTS, "conditions": conditions}


def kinds_domain(kinds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Intents, slots, forms, questions and names of the complaint kinds."""
    forms: dict[str, Any] = {}
    responses: dict[str, Any] = {}
    asked_in: dict[str, list[str]] = {"location": []}
    entity_slots = set(ALWAYS_ENTITY_SLOTS)
    keys = [str(kind["keypad"]) for kind in kinds.values() if kind.get("keypad") is not None]
    if any(k not in "123456789" or len(k) != 1 for k in keys) or len(set(keys)) != len(keys):
        raise ValueError(f"complaint kinds' keypad keys must be distinct digits 1-9, not {keys}")
    for code, kind in kinds.items():
        form = f"{code}_form"
        forms[form] = {"required_slots": ["location", *kind["slots"]]}
        asked_in["location"].append(form)
        responses[f"utter_kind_{code}"] = [{"text": kind["name"]}]
        # Not spoken: the kind's own words, by which a caller names a new problem after filing.
        responses[f"utter_words_kind_{code}"] = [{"text": ", ".join(kind.get("keywords") or [])}]
        if kind.get("keypad") is not None:
            # Not spoken: the key that picks this kind in the keypad's list of problems.
            responses[f"utter_keypad_kind_{code}"] = [{"text": str(kind["keypad"])}]
        for slot, spec in kind["slots"].items():
            asked_in.setdefault(slot, []).append(form)
            if spec.get("entity"):
                entity_slots.add(slot)
            responses[f"utter_ask_{form}_{slot}"] = [_question(code, slot, spec)]
            responses[f"utter_label_{code}_{slot}"] = [{"text": spec["label"]}]

    slots: dict[str, Any] = {
        "kind": {
            "type": "text",
            "influence_conversation": False,
            "mappings": [
                {
                    "type": "from_intent",
                    "intent": code,
                    "value": code,
                    "conditions": [{"active_loop": None}],
                }
                for code in kinds
            ],
        }
    }
    for slot, slot_forms in asked_in.items():
        mappings: list[dict[str, Any]] = []
        if slot in entity_slots:
            # Said before any question (e.g. "a dead deer on route nine"): not asked again.
            mappings.append(
                {"type": "from_entity", "entity": slot, "conditions": [{"active_loop": None}]}
            )
        # When asked, the whole answer is the value; validation normalizes it.
        mappings.append(
            _from_text([{"active_loop": f, "requested_slot": slot} for f in slot_forms])
        )
        slots[slot] = {"type": "text", "influence_conversation": False, "mappings": mappings}

    return {
        "intents": list(kinds),
        "slots": slots,
        "forms": forms,
        "responses": responses,
        "actions": [f"validate_{code}_form" for code in kinds],
    }


def interruption_rules(forms: list[str]) -> list[dict[str, Any]]:
    """While any form is active, these intents are handled, not taken as an answer."""
    return [
        {
            "rule": f"{intent} during {form}",
            "condition": [{"active_loop": form}],
            "steps": [{"intent": intent}, {"action": action}],
        }
        for form in forms
        for intent, action in INTERRUPT_ACTIONS.items()
    ]


def kinds_rules(kinds: dict[str, dict[str, Any]], forms: list[str]) -> dict[str, Any]:
    rules = interruption_rules(forms)
    for code in kinds:
        form = f"{code}_form"
        # The action starts the form, unless the words only add to a ticket just filed.
        rules.append(
            {
                "rule": f"report {code}",
                "steps": [{"intent": code}, {"action": "action_new_report"}],
            }
        )
        rules.append(
            {
                "rule": f"{code} complete",
                "condition": [{"active_loop": form}],
                "steps": [
                    {"action": form},
                    {"active_loop": None},
                    {"slot_was_set": [{"requested_slot": None}]},
                    {"action": "action_read_back"},
                ],
            }
        )
    return {"version": "3.1", "rules": rules}


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict):
            into.setdefault(key, {}).update(value)
        elif isinstance(value, list):
            into.setdefault(key, []).extend(v for v in value if v not in into[key])
        else:
            into[key] = value


def _dump(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=1000), "utf-8"
    )


def prepare(locale: str, build_dir: Path, data_dir: Path) -> Path:
    """Write the complete trainable project (config.yml, domain.yml, data/) into build_dir."""
    source = locale_dir(locale)
    kinds = load_kinds(locale, data_dir)
    build_dir = Path(build_dir)
    if (build_dir / "data").exists():
        shutil.rmtree(build_dir / "data")
    build_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "config.yml", build_dir / "config.yml")

    domain: dict[str, Any] = {}
    for part in sorted((source / "domain").glob("*.yml")):
        _merge(domain, yaml.safe_load(part.read_text("utf-8")))
    _merge(domain, kinds_domain(kinds))
    _dump(build_dir / "domain.yml", domain)

    shutil.copytree(source / "data", build_dir / "data")
    _dump(build_dir / "data" / "rules_kinds.yml", kinds_rules(kinds, list(domain["forms"])))
    return build_dir


def training_inputs(locale: str, data_dir: Path) -> list[Path]:
    """Every file whose change must trigger retraining (the held-out set is not one)."""
    source = locale_dir(locale)
    files = [p for p in source.rglob("*") if p.is_file() and p.name != "heldout.yml"]
    # The custom Rasa components the configs name (the Korean tokenizer) are inputs too.
    components = sorted((Path(__file__).resolve().parent / "rasa_components").glob("*.py"))
    return sorted(
        [*files, *components, data_dir / "complaint_kinds.yaml", Path(__file__).resolve()]
    )
