"""Complaint kinds from data/complaint_kinds.yaml: the department each goes to and
the questions asked. Read once at start-up; shared read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

TRIAGE_KIND_NAME = "Needs triage"


@dataclass(frozen=True)
class Slot:
    code: str
    question: str
    label: str


@dataclass(frozen=True)
class ComplaintKind:
    code: str
    name: str
    department: str  # department code (departments.yaml)
    description: str = ""
    keywords: tuple[str, ...] = ()
    slots: tuple[Slot, ...] = field(default_factory=tuple)

    def label(self, slot_code: str) -> str:
        """The officer-facing label of a detail; unknown details keep their code."""
        for slot in self.slots:
            if slot.code == slot_code:
                return slot.label
        return slot_code.replace("_", " ").capitalize()


def load_kinds(data_dir: Path) -> dict[str, ComplaintKind]:
    path = Path(data_dir) / "complaint_kinds.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    kinds: dict[str, ComplaintKind] = {}
    for code, entry in (raw.get("kinds") or {}).items():
        if not entry.get("department"):
            raise ValueError(f"{path}: kind {code!r} has no department")
        slots = tuple(
            Slot(code=slot_code, question=spec["question"], label=spec.get("label", slot_code))
            for slot_code, spec in (entry.get("slots") or {}).items()
        )
        kinds[code] = ComplaintKind(
            code=code,
            name=entry.get("name", code),
            department=entry["department"],
            description=entry.get("description", ""),
            keywords=tuple(entry.get("keywords") or ()),
            slots=slots,
        )
    return kinds
