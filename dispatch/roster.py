"""The duty roster: who is on shift at a given instant.

Shifts are weekly, in wall-clock time of their own time zone, and may run
overnight (end not after start: the shift ends the next day). Start is
inclusive, end exclusive, so at a hand-over instant exactly one shift is on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

DAY_NUMBERS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
DAY_GROUPS = {
    "daily": (1, 2, 3, 4, 5, 6, 7),
    "weekdays": (1, 2, 3, 4, 5),
    "weekends": (6, 7),
}


def parse_days(value: str | Iterable[str]) -> tuple[int, ...]:
    """'daily' | 'weekdays' | ['mon', 'fri'] | 'mon,fri' -> ISO weekday numbers."""
    items = value.split(",") if isinstance(value, str) else list(value)
    days: set[int] = set()
    for item in items:
        key = str(item).strip().lower()
        if key in DAY_GROUPS:
            days.update(DAY_GROUPS[key])
        elif key[:3] in DAY_NUMBERS:
            days.add(DAY_NUMBERS[key[:3]])
        elif key.isdigit() and 1 <= int(key) <= 7:
            days.add(int(key))
        else:
            raise ValueError(f"unknown day {item!r} (use mon..sun, daily, weekdays, weekends)")
    return tuple(sorted(days))


def weekdays_text(days: Iterable[int]) -> str:
    return ",".join(str(d) for d in sorted(set(days)))


def weekdays_of(text: str) -> frozenset[int]:
    return frozenset(int(d) for d in text.split(",") if d.strip())


def parse_time(value: str | time) -> time:
    if isinstance(value, time):
        return value
    hours, minutes = str(value).strip().split(":")[:2]
    return time(int(hours), int(minutes))


def covers(weekdays: frozenset[int], start: time, end: time, timezone: str, at: datetime) -> bool:
    """Is a shift with these hours on at the instant `at` (timezone-aware)?"""
    if at.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware one")
    local = at.astimezone(ZoneInfo(timezone))
    now = local.time().replace(tzinfo=None)
    if start < end:
        return local.isoweekday() in weekdays and start <= now < end
    # Overnight (or a full 24 h when end == start): on from `start` on its day ...
    if local.isoweekday() in weekdays and now >= start:
        return True
    # ... until `end` on the next day.
    started_on = (local.date() - timedelta(days=1)).isoweekday()
    return started_on in weekdays and now < end


@dataclass(frozen=True)
class StaffEntry:
    username: str
    full_name: str
    role: str
    department: str | None
    phone: str | None
    email: str | None = None  # staff notices come by e-mail too


@dataclass(frozen=True)
class ShiftEntry:
    staff: str  # username
    department: str | None  # default: the staff member's department
    weekdays: tuple[int, ...]
    start: time
    end: time
    timezone: str


@dataclass(frozen=True)
class Roster:
    timezone: str
    staff: tuple[StaffEntry, ...]
    shifts: tuple[ShiftEntry, ...]


def email_address(value: object) -> str | None:
    """A staff member's optional address (roster, admin page); something that is not one
    is refused rather than kept and never delivered."""
    address = "" if value is None else str(value).strip()
    if not address:
        return None
    local, at, domain = address.partition("@")
    odd = any(c.isspace() or c in "<>,;" for c in address) or "@" in domain
    if odd or not (local and at and "." in domain.strip(".")):
        raise ValueError(f"{address!r} is not an e-mail address")
    return address


def _email_of(entry: dict, path: Path) -> str | None:
    try:
        return email_address(entry.get("email"))
    except ValueError as problem:
        raise ValueError(f"{path}: {entry['username']}: {problem}") from None


def load_roster(data_dir: Path) -> Roster:
    path = Path(data_dir) / "roster.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    default_tz = raw.get("timezone", "UTC")
    ZoneInfo(default_tz)  # fail early on a misspelt zone
    staff = tuple(
        StaffEntry(
            username=entry["username"],
            full_name=entry.get("full_name", entry["username"]),
            role=entry.get("role", "officer"),
            department=entry.get("department"),
            phone=str(entry["phone"]) if entry.get("phone") else None,
            email=_email_of(entry, path),
        )
        for entry in raw.get("staff") or []
    )
    known = {s.username for s in staff}
    shifts = []
    for entry in raw.get("shifts") or []:
        if entry["staff"] not in known:
            raise ValueError(f"{path}: shift for unknown staff {entry['staff']!r}")
        timezone = entry.get("timezone", default_tz)
        ZoneInfo(timezone)
        shifts.append(
            ShiftEntry(
                staff=entry["staff"],
                department=entry.get("department"),
                weekdays=parse_days(entry.get("days", "daily")),
                start=parse_time(entry["start"]),
                end=parse_time(entry["end"]),
                timezone=timezone,
            )
        )
    return Roster(timezone=default_tz, staff=staff, shifts=tuple(shifts))
