"""Helpers for the hand-over tests: city wall-clock instants, the repository's roster as
RosterShift rows without a database, tickets filed at a given instant, the messages sent."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dispatch.contract import ComplaintReport
from dispatch.models import Department, Notification, Staff
from dispatch.roster import load_roster
from dispatch.service import DispatchService
from dispatch.shift_changes import RosterShift, of_department
from dutyline.settings import ROOT
from tests.dispatch.conftest import ManualClock, city_time

NEW_YORK = "America/New_York"
CALLER = "+15185550199"
MASKED = "+1518•••••99"
GARCIA, WALKER, CONTRACTOR = "+15185550101", "+15185550102", "+13125550152"
OKAFOR, NOVAK = "+15185550111", "+15185550141"


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def city(year: int, month: int, day: int, hour: int, minute: int = 0, *, fold: int = 0) -> datetime:
    """A city wall-clock time as a UTC instant (fold=1: the second 01:30 of a fall-back)."""
    return city_time(year, month, day, hour, minute).replace(fold=fold).astimezone(UTC)


def roster() -> list[RosterShift]:
    """data/roster.yaml without a database: staff ids are their places in the staff list,
    department ids their places in the sorted list of department codes."""
    data = load_roster(ROOT / "data")
    staff = {s.username: (i, s) for i, s in enumerate(data.staff, start=1)}
    codes = sorted({s.department for s in data.staff if s.department})
    return [
        RosterShift(
            staff_id=staff[s.staff][0],
            department_id=codes.index(s.department or staff[s.staff][1].department) + 1,
            weekdays=frozenset(s.weekdays),
            start=s.start,
            end=s.end,
            timezone=s.timezone,
            supervisor=staff[s.staff][1].role == "supervisor",
        )
        for s in data.shifts
    ]


def department(code: str) -> list[RosterShift]:
    """One department's shifts of roster()."""
    codes = sorted({s.department for s in load_roster(ROOT / "data").staff if s.department})
    return of_department(roster(), codes.index(code) + 1)


def username_of(shift: RosterShift) -> str:
    return load_roster(ROOT / "data").staff[shift.staff_id - 1].username


def file_at(
    service: DispatchService, clock: ManualClock, at: datetime, kind: str | None, where: str
) -> str:
    """A ticket filed at `at` (kind None: a triage ticket); its number."""
    clock.now = at
    report = ComplaintReport(kind=kind, location=where, caller_number=CALLER)
    if kind is None:
        report = report.model_copy(update={"needs_triage": True, "triage_reason": "unclear"})
    return service.file_complaint(report).number


def numbers(tickets: list) -> list[str]:
    return [t.number for t in tickets]


def handover_rows(engine: Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Notification)
                .where(Notification.purpose == "handover")
                .order_by(col(Notification.id))
            ).all()
        )


def filed_in(email: str) -> list[str]:
    """The ticket numbers of an e-mail's "Tickets filed in the shift" section, in order."""
    section = email.split("Tickets filed in the shift:", 1)[1].split("Still waiting", 1)[0]
    return re.findall(r"^  (\S+)  ", section, flags=re.MULTILINE)


def staff_id(engine: Engine, username: str) -> int:
    with Session(engine) as session:
        return session.exec(select(Staff.id).where(Staff.username == username)).one()


def department_id(engine: Engine, code: str) -> int:
    with Session(engine) as session:
        return session.exec(select(Department.id).where(Department.code == code)).one()
