"""Who gets a ticket: the department of its kind, the officer on shift there at
the moment of the call; when nobody is, the department's fallback contact, then
the duty supervisor, then the triage desk's phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from dispatch.models import Department, DutyShift, Staff, StaffRole
from dispatch.roster import covers, weekdays_of

TRIAGE_DEPARTMENT = "triage"


class RoutingError(LookupError):
    """The department to route to does not exist (data/ and the database disagree)."""


@dataclass(frozen=True)
class Target:
    """Someone to notify: a staff member, or a contact that is only a name and phone."""

    staff_id: int | None
    name: str | None
    phone: str | None
    reason: str  # on_shift | fallback_contact | duty_supervisor | department_desk | chain


@dataclass(frozen=True)
class Route:
    department: Department
    target: Target


def department_by_code(session: Session, code: str) -> Department:
    department = session.exec(select(Department).where(Department.code == code)).first()
    if department is None or not department.active:
        raise RoutingError(f"no active department {code!r}")
    return department


def on_shift(
    session: Session, at: datetime, *, department_id: int | None = None, role: str | None = None
) -> list[Staff]:
    """Active staff on shift at `at`, in roster order (shift id)."""
    query = select(DutyShift, Staff).join(Staff, Staff.id == DutyShift.staff_id)
    query = query.where(Staff.active == True)  # noqa: E712  (SQL comparison)
    if department_id is not None:
        query = query.where(DutyShift.department_id == department_id)
    if role is not None:
        query = query.where(Staff.role == role)
    found: list[Staff] = []
    for shift, staff in session.exec(query.order_by(DutyShift.id)).all():
        on = covers(weekdays_of(shift.weekdays), shift.start, shift.end, shift.timezone, at)
        if on and staff not in found:
            found.append(staff)
    return found


def duty_supervisor(session: Session, at: datetime) -> Target | None:
    """The supervisor on shift (the triage department's first); else the triage desk."""
    supervisors = on_shift(session, at, role=StaffRole.SUPERVISOR)
    triage = session.exec(select(Department).where(Department.code == TRIAGE_DEPARTMENT)).first()
    if supervisors:
        if triage is not None:
            supervisors.sort(key=lambda s: s.department_id != triage.id)
        chosen = supervisors[0]
        return Target(chosen.id, chosen.full_name, chosen.phone, "duty_supervisor")
    if triage is not None and triage.phone:
        return Target(None, triage.name, triage.phone, "department_desk")
    return None


def route(session: Session, department_code: str, at: datetime) -> Route:
    department = department_by_code(session, department_code)
    officers = on_shift(session, at, department_id=department.id)
    if officers:
        officer = officers[0]
        return Route(department, Target(officer.id, officer.full_name, officer.phone, "on_shift"))
    if department.fallback_phone:
        name = department.fallback_name or f"{department.name} fallback"
        return Route(department, Target(None, name, department.fallback_phone, "fallback_contact"))
    supervisor = duty_supervisor(session, at)
    if supervisor is not None:
        return Route(department, supervisor)
    return Route(department, Target(None, department.name, department.phone, "department_desk"))
