"""Seeding: departments, staff contacts and roster shifts from data/, and the city's
places when the database has none yet. Idempotent: run at every start-up after the
migrations; it updates what data/ describes and leaves the rest (passwords, tokens,
manual shifts, staff added in the app, a city re-imported by hand) alone."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from sqlalchemy import Engine, delete
from sqlmodel import Session, select

from dispatch.db import session_scope
from dispatch.models import Department, DutyShift, Staff, StaffRole
from dispatch.places.importer import PlaceSource, seed_places
from dispatch.roster import load_roster, weekdays_text
from dispatch.settings import DispatchSettings

log = logging.getLogger("dutyline.dispatch.seed")


def load_departments(data_dir: Path) -> dict[str, dict]:
    path = Path(data_dir) / "departments.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    departments = raw.get("departments") or {}
    for code, entry in departments.items():
        if not entry.get("name"):
            raise ValueError(f"{path}: department {code!r} has no name")
    return departments


def seed(engine: Engine, data_dir: Path, *, places: PlaceSource | None = None) -> None:
    """`places`: the city to import when the database has none of its places; by default
    the demo city of data_dir/places (skipped when data_dir has no place files)."""
    departments = load_departments(data_dir)
    roster = load_roster(data_dir)
    roles = {r.value for r in StaffRole}
    with session_scope(engine, write=True) as session:
        by_code = _seed_departments(session, departments)
        by_username: dict[str, Staff] = {}
        for entry in roster.staff:
            if entry.role not in roles:
                raise ValueError(f"roster: {entry.username} has unknown role {entry.role!r}")
            if entry.department and entry.department not in by_code:
                raise ValueError(f"roster: {entry.username}: unknown department {entry.department}")
            staff = session.exec(select(Staff).where(Staff.username == entry.username)).first()
            if staff is None:
                staff = Staff(username=entry.username, full_name=entry.full_name)
            staff.full_name = entry.full_name
            staff.role = entry.role
            staff.phone = entry.phone
            staff.email = entry.email
            staff.department_id = by_code[entry.department].id if entry.department else None
            session.add(staff)
            by_username[entry.username] = staff
        session.flush()
        # Roster shifts are replaced as a whole; shifts entered by hand stay.
        session.exec(delete(DutyShift).where(DutyShift.source == "roster"))
        for shift in roster.shifts:
            staff = by_username[shift.staff]
            department_id = (
                by_code[shift.department].id if shift.department else staff.department_id
            )
            if department_id is None:
                raise ValueError(f"roster: shift of {shift.staff} has no department")
            session.add(
                DutyShift(
                    staff_id=staff.id,
                    department_id=department_id,
                    weekdays=weekdays_text(shift.weekdays),
                    start=shift.start,
                    end=shift.end,
                    timezone=shift.timezone,
                    source="roster",
                )
            )
        for code, entry in departments.items():
            unknown = [u for u in entry.get("escalation") or [] if u not in by_username]
            if unknown and not _known_staff(session, unknown):
                raise ValueError(f"departments: {code} escalates to unknown staff {unknown}")
    log.info(
        "seeded %d departments, %d staff, %d shifts",
        len(departments),
        len(roster.staff),
        len(roster.shifts),
    )
    _seed_places(engine, data_dir, places)


def _seed_places(engine: Engine, data_dir: Path, places: PlaceSource | None) -> None:
    if places is None:
        default = DispatchSettings.model_construct(data_dir=Path(data_dir))
        places = PlaceSource.from_settings(default)
        if not all(path.is_file() for path in places.files):
            log.warning("no place files in %s/places: the line knows no places", data_dir)
            return
    report = seed_places(engine, places)
    if report is not None:
        log.info("imported the places of %s from %s", report.city, ", ".join(report.files))


def _seed_departments(session: Session, departments: dict[str, dict]) -> dict[str, Department]:
    by_code: dict[str, Department] = {}
    for code, entry in departments.items():
        department = session.exec(select(Department).where(Department.code == code)).first()
        if department is None:
            department = Department(code=code, name=entry["name"])
        fallback = entry.get("fallback") or {}
        department.name = entry["name"]
        department.phone = str(entry["phone"]) if entry.get("phone") else None
        department.fallback_name = fallback.get("name")
        department.fallback_phone = str(fallback["phone"]) if fallback.get("phone") else None
        department.escalation_chain = list(entry.get("escalation") or [])
        department.active = bool(entry.get("active", True))
        session.add(department)
        by_code[code] = department
    session.flush()
    return by_code


def _known_staff(session: Session, usernames: list[str]) -> bool:
    found = session.exec(select(Staff.username).where(Staff.username.in_(usernames))).all()
    return len(set(found)) == len(set(usernames))
