"""Shift changes and the window each hand-over covers, department by department.

A DutyShift is weekly and in wall-clock time of its own time zone (dispatch/roster.py),
so its instants are computed day by day with zoneinfo, never by adding hours:

- a time that does not exist (02:30 on a spring-forward night) happens at the first
  valid instant after it: the moment the clocks jump (03:00 local);
- a time that happens twice (01:30 on a fall-back night) happens at the first one.

Starts and ends follow the same rules; an overnight shift (end not after start) ends
the next day, so the Chicago contractor's 15:00-07:00 ends at 07:00 Chicago time.

- A *shift change* is an instant at which at least one shift starts.
- A department's *boundaries* are every start and every end of its shifts.
- At a change T, whoever starts a shift of department D at T is handed over
  [the last boundary of D strictly before T, T): the night supervisor's 20:00-08:00 for
  the day supervisor at 08:00, and for the parking officer on Monday 07:00 everything
  since the last parking shift ended on Saturday 23:00 (the weekend nobody of parking
  was on). Another department's shift starting in between changes nothing for D.
- The page's and the API's default is the window handed over at the latest start of the
  reader's department at or before now; a supervisor's is the duty supervisors'
  department's (the department of the supervisors' shifts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from dispatch.models import DutyShift, Staff, StaffRole
from dispatch.roster import weekdays_of

# A weekly roster repeats after 7 days: looking back 8 always finds a boundary if any exists.
LOOK_BACK = timedelta(days=8)
INSTANT = timedelta(microseconds=1)  # "at or before now" is "strictly before now + this"
SUPERVISOR_ROLES = frozenset({StaffRole.SUPERVISOR, StaffRole.ADMIN})


@dataclass(frozen=True)
class ShiftWindow:
    """[since, until): timezone-aware instants, since inclusive, until exclusive."""

    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("naive datetime: pass timezone-aware ones")
        if self.since >= self.until:
            raise ValueError("since must be before until")

    def holds(self, at: datetime) -> bool:
        return self.since <= at < self.until


@dataclass(frozen=True)
class RosterShift:
    """A roster shift (a DutyShift row of an active staff member, detached)."""

    staff_id: int
    department_id: int
    weekdays: frozenset[int]
    start: time
    end: time
    timezone: str
    supervisor: bool = False  # held by a supervisor (or admin): a duty supervisor's shift

    @property
    def overnight(self) -> bool:
        return self.end <= self.start  # equal: a full 24 hours


def wall_instant(day: date, at: time, timezone: str) -> datetime:
    """The UTC instant of a wall-clock time on a day in a zone (rules in the module doc)."""
    tz = ZoneInfo(timezone)
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)  # exists (fold=0: the first of two on fall-back)
    # In the gap: fold=1 reads it with the offset after the jump (the earlier instant),
    # fold=0 with the one before (the later). The jump lies between; find its second.
    low = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    high = int(first.timestamp())
    before = datetime.fromtimestamp(low, tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _days(shift: RosterShift, since: datetime, until: datetime) -> Iterable[date]:
    """The days the shift starts on that can start or end an instant in [since, until)."""
    tz = ZoneInfo(shift.timezone)
    day = since.astimezone(tz).date() - timedelta(days=2)  # an overnight shift's start day
    last = until.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        if day.isoweekday() in shift.weekdays:
            yield day
        day += timedelta(days=1)


def starts_between(shift: RosterShift, since: datetime, until: datetime) -> list[datetime]:
    """The shift's start instants in [since, until), in order."""
    found = (wall_instant(day, shift.start, shift.timezone) for day in _days(shift, since, until))
    return [at for at in found if since <= at < until]


def ends_between(shift: RosterShift, since: datetime, until: datetime) -> list[datetime]:
    """The shift's end instants in [since, until), in order (overnight: the next day)."""
    later = timedelta(days=1 if shift.overnight else 0)
    found = (
        wall_instant(day + later, shift.end, shift.timezone) for day in _days(shift, since, until)
    )
    return [at for at in found if since <= at < until]


def changes_between(
    shifts: Iterable[RosterShift], since: datetime, until: datetime
) -> list[datetime]:
    """Every shift change (an instant some shift starts) in [since, until), each once."""
    return sorted({at for shift in shifts for at in starts_between(shift, since, until)})


def boundaries_between(
    shifts: Iterable[RosterShift], since: datetime, until: datetime
) -> list[datetime]:
    """Every start and end of these shifts in [since, until), in order, each once."""
    found: set[datetime] = set()
    for shift in shifts:
        found.update(starts_between(shift, since, until))
        found.update(ends_between(shift, since, until))
    return sorted(found)


def previous_boundary(shifts: Sequence[RosterShift], before: datetime) -> datetime | None:
    """The last start or end of these shifts strictly before `before`; None: no shifts."""
    found = boundaries_between(shifts, before - LOOK_BACK, before)
    return found[-1] if found else None


def previous_start(shifts: Sequence[RosterShift], before: datetime) -> datetime | None:
    """The last start of these shifts strictly before `before`."""
    found = changes_between(shifts, before - LOOK_BACK, before)
    return found[-1] if found else None


def next_start(shifts: Sequence[RosterShift], after: datetime) -> datetime | None:
    """The first start of these shifts strictly after `after`."""
    found = changes_between(shifts, after + INSTANT, after + LOOK_BACK)
    return found[0] if found else None


def of_department(shifts: Iterable[RosterShift], department_id: int) -> list[RosterShift]:
    return [shift for shift in shifts if shift.department_id == department_id]


def supervisors_shifts(shifts: Sequence[RosterShift]) -> list[RosterShift]:
    """The duty supervisors' department's shifts (every department a supervisor works)."""
    departments = {shift.department_id for shift in shifts if shift.supervisor}
    return [shift for shift in shifts if shift.department_id in departments]


def window_at(shifts: Sequence[RosterShift], change: datetime) -> ShiftWindow | None:
    """What a hand-over at `change` covers for these shifts' department (pass one
    department's shifts): [its last boundary before the change, the change)."""
    since = previous_boundary(shifts, change)
    return ShiftWindow(since, change) if since is not None else None


def last_window(shifts: Sequence[RosterShift], now: datetime) -> ShiftWindow | None:
    """The window handed over at the latest start of these shifts at or before `now`."""
    latest = previous_start(shifts, now + INSTANT)
    return window_at(shifts, latest) if latest is not None else None


def starting_at(shifts: Iterable[RosterShift], change: datetime) -> list[RosterShift]:
    """The shifts that start at this instant (whose staff are the incoming ones)."""
    return [shift for shift in shifts if starts_between(shift, change, change + INSTANT)]


def roster_shifts(session: Session) -> list[RosterShift]:
    """Shifts of active staff, in roster order (as dispatch.routing.on_shift reads them)."""
    rows = session.exec(
        select(DutyShift, Staff.role)
        .join(Staff, col(Staff.id) == DutyShift.staff_id)
        .where(Staff.active == True)  # noqa: E712  (SQL comparison)
        .order_by(col(DutyShift.id))
    ).all()
    return [
        RosterShift(
            staff_id=row.staff_id,
            department_id=row.department_id,
            weekdays=weekdays_of(row.weekdays),
            start=row.start,
            end=row.end,
            timezone=row.timezone,
            supervisor=role in SUPERVISOR_ROLES,
        )
        for row, role in rows
        if weekdays_of(row.weekdays)
    ]


# --- a window asked for (the page's and the API's since/until) ---------------------------

MAX_WINDOW = timedelta(days=31)


class BadWindow(ValueError):
    """A since/until that cannot be read, or that is no window; the message says why."""


def parse_instant(raw: str, timezone: str, name: str) -> datetime:
    """An ISO 8601 date and time; without an offset it is the city's wall-clock time."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadWindow(
            f"{name}: {raw!r} is not a date and time; use ISO 8601, e.g. 2026-11-21T08:00 "
            "(the city's time) or 2026-11-21T08:00-05:00"
        ) from None
    if value.tzinfo is None:
        return wall_instant(value.date(), value.time(), timezone)
    return value.astimezone(UTC)


def home_shifts(shifts: Sequence[RosterShift], department_id: int | None) -> list[RosterShift]:
    """The shifts whose boundaries a reader's hand-overs follow: their department's;
    None (a supervisor): the duty supervisors' department's."""
    if department_id is None:
        return supervisors_shifts(shifts)
    return of_department(shifts, department_id)


def requested_window(
    shifts: Sequence[RosterShift],
    *,
    since: str | None,
    until: str | None,
    now: datetime,
    timezone: str,
) -> ShiftWindow:
    """The window since/until name, `shifts` being the reader's department's (home_shifts):
    without either, the last one handed over (last_window); without since, the one
    that ends at until; without until, from since up to now."""
    start = parse_instant(since, timezone, "since") if since and since.strip() else None
    end = parse_instant(until, timezone, "until") if until and until.strip() else None
    if start is None and end is None:
        window = last_window(shifts, now)
        if window is None:
            raise BadWindow("the roster has no shifts for your department: give since and until")
        return window
    if end is None:
        end = now
    if start is None:
        start = previous_boundary(shifts, end)
        if start is None:
            raise BadWindow("the roster has no shifts for your department: give since too")
    if start >= end:
        raise BadWindow("since must be before until")
    if end - start > MAX_WINDOW:
        raise BadWindow(f"at most {MAX_WINDOW.days} days at once")
    return ShiftWindow(start, end)
