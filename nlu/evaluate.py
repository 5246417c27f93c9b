"""How well the trained model understands callers it has never heard: the held-out set.

Each example of nlu/locales/<locale>/heldout.yml is sent to the running Rasa
server's POST /model/parse; the report gives intent accuracy, entity
precision/recall/F1 (exact span and type) and which intents were taken for which.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from nlu.project import locale_dir

TARGET_ACCURACY = 0.95
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<entity>[^)]+)\)")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: frozenset[tuple[int, int, str]]  # (start, end, entity type)


@dataclass
class Miss:
    text: str
    expected: str
    predicted: str
    confidence: float


@dataclass
class NluReport:
    locale: str
    model: str
    examples: int
    intent_accuracy: float
    entity_precision: float
    entity_recall: float
    entity_f1: float
    per_intent: dict[str, tuple[int, int]]  # intent -> (examples, correct)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (expected, predicted)
    misses: list[Miss] = field(default_factory=list)
    target: float = TARGET_ACCURACY  # the locale's intent accuracy floor

    @property
    def meets_target(self) -> bool:
        return self.intent_accuracy >= self.target

    def render(self) -> str:
        verdict = "meets" if self.meets_target else "BELOW"
        lines = [
            f"Held-out NLU report, locale {self.locale}, model {self.model}",
            f"  examples          {self.examples}",
            f"  intent accuracy   {self.intent_accuracy:.3f}"
            f"  ({verdict} the {self.target:.0%} target)",
            f"  entity precision  {self.entity_precision:.3f}",
            f"  entity recall     {self.entity_recall:.3f}",
            f"  entity F1         {self.entity_f1:.3f}",
            "",
            "  Confusion (expected intent: examples, correct, taken instead)",
        ]
        width = max((len(i) for i in self.per_intent), default=10)
        for intent, (total, correct) in sorted(self.per_intent.items()):
            instead = ", ".join(
                f"{pred} x{n}"
                for (exp, pred), n in sorted(self.confusion.items())
                if exp == intent and pred != intent
            )
            lines.append(f"    {intent:<{width}}  {total:>3}  {correct:>3}  {instead or '-'}")
        if self.misses:
            lines += ["", "  Misclassified"]
            lines += [
                f"    {m.expected} -> {m.predicted} ({m.confidence:.2f}): {m.text}"
                for m in self.misses
            ]
        return "\n".join(lines)


def parse_example(line: str, intent: str) -> Example:
    """'a [van](vehicle) on [main street](location)' -> text and entity spans."""
    text, spans, last = "", set(), 0
    for match in _ANNOTATION.finditer(line):
        text += line[last : match.start()]
        start = len(text)
        text += match.group("text")
        spans.add((start, len(text), match.group("entity")))
        last = match.end()
    text += line[last:]
    return Example(text=text, intent=intent, entities=frozenset(spans))


def load_examples(path: Path) -> list[Example]:
    content = yaml.safe_load(path.read_text("utf-8"))
    return [
        parse_example(raw.strip().removeprefix("- ").strip(), block["intent"])
        for block in content.get("nlu") or []
        for raw in block["examples"].splitlines()
        if raw.strip()
    ]


def load_heldout(locale: str) -> list[Example]:
    return load_examples(locale_dir(locale) / "heldout.yml")


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def evaluate(
    rasa_url: str,
    locale: str,
    *,
    heldout: Path | None = None,
    target: float = TARGET_ACCURACY,
) -> NluReport:
    examples = load_heldout(locale) if heldout is None else load_examples(heldout)
    per_intent: dict[str, list[int]] = {}
    confusion: Counter[tuple[str, str]] = Counter()
    misses: list[Miss] = []
    true_pos = predicted_total = gold_total = 0
    with httpx.Client(base_url=rasa_url.rstrip("/"), timeout=30) as http:
        status = http.get("/status")
        status.raise_for_status()
        model = Path(status.json().get("model_file") or "?").name
        for example in examples:
            response = http.post("/model/parse", json={"text": example.text})
            response.raise_for_status()
            parsed = response.json()
            intent = parsed.get("intent") or {}
            predicted = intent.get("name") or "none"
            counts = per_intent.setdefault(example.intent, [0, 0])
            counts[0] += 1
            confusion[(example.intent, predicted)] += 1
            if predicted == example.intent:
                counts[1] += 1
            else:
                misses.append(
                    Miss(
                        example.text,
                        example.intent,
                        predicted,
                        float(intent.get("confidence") or 0),
                    )
                )
            found = {(e["start"], e["end"], e["entity"]) for e in parsed.get("entities") or []}
            true_pos += len(found & example.entities)
            predicted_total += len(found)
            gold_total += len(example.entities)
    precision, recall = _ratio(true_pos, predicted_total), _ratio(true_pos, gold_total)
    correct = sum(c for _, c in per_intent.values())
    return NluReport(
        locale=locale,
        model=model,
        examples=len(examples),
        intent_accuracy=_ratio(correct, len(examples)),
        entity_precision=precision,
        entity_recall=recall,
        entity_f1=_ratio(2 * precision * recall, precision + recall),
        per_intent={k: (v[0], v[1]) for k, v in per_intent.items()},
        confusion=confusion,
        misses=misses,
        target=target,
    )
