"""The data files: kinds, departments and roster load and agree (the city's places:
tests/dispatch/places/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.kinds import load_kinds
from dispatch.roster import load_roster
from dispatch.seed import load_departments, seed
from dutyline.settings import ROOT

DATA = ROOT / "data"


def test_every_kind_goes_to_a_department_with_someone_to_escalate_to() -> None:
    kinds = load_kinds(DATA)
    departments = load_departments(DATA)
    roster = load_roster(DATA)
    usernames = {s.username for s in roster.staff}
    assert len(kinds) == 10
    for kind in kinds.values():
        assert kind.department in departments, kind.code
    assert "triage" in departments
    for code, department in departments.items():
        assert set(department.get("escalation") or []) <= usernames, code
    assert any(s.end <= s.start for s in roster.shifts)  # an overnight shift
    assert {s.timezone for s in roster.shifts} > {roster.timezone}  # more than one zone
    assert kinds["noise"].label("source") == "Source"
    assert kinds["noise"].label("made_up") == "Made up"


def test_bad_roster_is_refused(tmp_path: Path, engine) -> None:
    for name in ("complaint_kinds.yaml", "departments.yaml"):
        (tmp_path / name).write_text((DATA / name).read_text())
    (tmp_path / "roster.yaml").write_text(
        "timezone: America/New_York\nstaff: []\n"
        "shifts:\n  - {staff: ghost, days: daily, start: '08:00', end: '16:00'}\n"
    )
    with pytest.raises(ValueError, match="unknown staff 'ghost'"):
        seed(engine, tmp_path)
    (tmp_path / "roster.yaml").write_text("timezone: Mars/Olympus\nstaff: []\n")
    with pytest.raises(Exception, match="Mars"):
        seed(engine, tmp_path)
