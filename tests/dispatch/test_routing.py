"""Routing by the roster at shift boundaries, overnight, across time zones, and
the fallbacks when nobody is on shift."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from sqlmodel import select

from dispatch.db import session_scope
from dispatch.models import Staff
from dispatch.roster import covers, parse_days
from tests.dispatch.conftest import city_time

NIGHT = frozenset(parse_days(["thu", "fri", "sat"]))


def ny(*args: int) -> datetime:
    return city_time(*args)


# --- the rule itself (no database) -------------------------------------------------


def test_day_shift_start_is_inclusive_end_exclusive() -> None:
    weekdays = frozenset(parse_days("weekdays"))
    tz = "America/New_York"
    monday = (2026, 11, 23)
    assert covers(weekdays, time(7), time(15), tz, ny(*monday, 7, 0))
    assert not covers(weekdays, time(7), time(15), tz, ny(*monday, 6, 59))
    assert covers(weekdays, time(7), time(15), tz, ny(*monday, 14, 59))
    assert not covers(weekdays, time(7), time(15), tz, ny(*monday, 15, 0))
    assert not covers(weekdays, time(7), time(15), tz, ny(2026, 11, 22, 10, 0))  # Sunday


def test_overnight_shift_runs_into_the_next_day() -> None:
    tz = "America/New_York"
    # Thu, Fri, Sat nights 22:00-04:00.
    assert covers(NIGHT, time(22), time(4), tz, ny(2026, 11, 21, 22, 0))  # Sat 22:00 start
    assert covers(NIGHT, time(22), time(4), tz, ny(2026, 11, 22, 0, 0))  # midnight into Sun
    assert covers(NIGHT, time(22), time(4), tz, ny(2026, 11, 22, 3, 59))
    assert not covers(NIGHT, time(22), time(4), tz, ny(2026, 11, 22, 4, 0))  # end instant
    assert not covers(NIGHT, time(22), time(4), tz, ny(2026, 11, 22, 22, 0))  # Sun: not a day
    assert not covers(NIGHT, time(22), time(4), tz, ny(2026, 11, 23, 1, 0))  # Sun night
    assert covers(NIGHT, time(22), time(4), tz, ny(2026, 11, 20, 2, 0))  # Thu night -> Fri


def test_shift_hours_are_in_the_shifts_own_time_zone() -> None:
    daily = frozenset(parse_days("daily"))
    chicago = "America/Chicago"
    # 15:00-07:00 Chicago is 16:00-08:00 New York.
    assert covers(daily, time(15), time(7), chicago, ny(2026, 11, 21, 16, 0))
    assert not covers(daily, time(15), time(7), chicago, ny(2026, 11, 21, 15, 59))
    assert covers(daily, time(15), time(7), chicago, ny(2026, 11, 21, 7, 59))
    assert not covers(daily, time(15), time(7), chicago, ny(2026, 11, 21, 8, 0))
    # The same instant in UTC gives the same answer.
    at = ny(2026, 11, 21, 16, 0).astimezone(UTC)
    assert covers(daily, time(15), time(7), chicago, at)


def test_overnight_shift_over_the_end_of_daylight_saving() -> None:
    saturdays = frozenset(parse_days(["sat"]))
    # Sat 31 Oct 2026 20:00 to Sun 1 Nov 08:00 (clocks go back at 02:00 that night).
    assert covers(saturdays, time(20), time(8), "America/New_York", ny(2026, 11, 1, 7, 30))
    assert not covers(saturdays, time(20), time(8), "America/New_York", ny(2026, 11, 1, 8, 0))


def test_days_are_parsed_strictly() -> None:
    assert parse_days("weekends") == (6, 7)
    assert parse_days(["Mon", "friday"]) == (1, 5)
    with pytest.raises(ValueError, match="unknown day"):
        parse_days(["funday"])
    with pytest.raises(ValueError, match="naive"):
        covers(NIGHT, time(22), time(4), "UTC", datetime(2026, 11, 21, 23, 0))


# --- routing on the seeded roster (both databases) -----------------------------------


def routed(service, kind: str, at: datetime) -> tuple[str | None, str]:
    target = service.route_for(kind, at).target
    return target.name, target.reason


def test_noise_at_the_boundaries_of_the_overnight_shift(service) -> None:
    # Sat 03:00: Fri night's shift (22:00-04:00) is still on.
    assert routed(service, "noise", ny(2026, 11, 21, 3, 59)) == ("Sami Haddad", "on_shift")
    # Its end instant: nobody of code enforcement; no fallback contact -> duty supervisor.
    assert routed(service, "noise", ny(2026, 11, 21, 4, 0)) == ("Tom Walker", "duty_supervisor")
    # Sat 21:59 not yet, 22:00 the start instant, Sun 00:30 across midnight.
    assert routed(service, "noise", ny(2026, 11, 21, 21, 59))[1] == "duty_supervisor"
    assert routed(service, "noise", ny(2026, 11, 21, 22, 0)) == ("Sami Haddad", "on_shift")
    assert routed(service, "noise", ny(2026, 11, 22, 0, 30)) == ("Sami Haddad", "on_shift")
    # Sunday night has no noise shift.
    assert routed(service, "noise", ny(2026, 11, 22, 23, 0))[1] == "duty_supervisor"


def test_duty_supervisor_hand_over(service) -> None:
    # Animal control has no night cover and no fallback: the supervisor on duty gets it.
    assert routed(service, "stray_animal", ny(2026, 11, 21, 7, 59)) == (
        "Tom Walker",
        "duty_supervisor",
    )
    assert routed(service, "stray_animal", ny(2026, 11, 21, 8, 0)) == (
        "Ana Garcia",
        "duty_supervisor",
    )
    assert routed(service, "stray_animal", ny(2026, 11, 21, 20, 0)) == (
        "Tom Walker",
        "duty_supervisor",
    )
    # Monday 10:00 its own officer is on.
    assert routed(service, "stray_animal", ny(2026, 11, 23, 10, 0)) == ("Joana Mendes", "on_shift")


def test_contractor_shift_in_another_time_zone(service) -> None:
    assert routed(service, "water_leak", ny(2026, 11, 21, 16, 0)) == (
        "Lakeside Utility Services",
        "on_shift",
    )
    assert routed(service, "water_leak", ny(2026, 11, 21, 15, 59)) == (
        "Water emergency contractor",
        "fallback_contact",
    )
    assert routed(service, "water_leak", ny(2026, 11, 21, 8, 0))[1] == "fallback_contact"
    assert routed(service, "water_leak", ny(2026, 11, 21, 7, 59))[1] == "on_shift"


def test_nobody_on_shift_goes_to_the_fallback_contact(service, clock) -> None:
    # Parking at 03:00 on a Saturday: nobody; the department's night desk.
    assert routed(service, "illegal_parking", ny(2026, 11, 21, 3, 0)) == (
        "Parking night desk",
        "fallback_contact",
    )
    assert service.on_duty_phone("illegal_parking") == "+15185550119"  # clock: Sat 03:00
    # An unknown kind goes to the duty supervisor (triage).
    assert service.on_duty_phone("unheard_of") == "+15185550102"
    assert service.on_duty_phone(None) == "+15185550102"


def test_no_supervisor_on_shift_leaves_the_triage_desk(service, engine) -> None:
    with session_scope(engine, write=True) as session:
        for staff in session.exec(select(Staff).where(Staff.role == "supervisor")).all():
            staff.active = False
            session.add(staff)
    try:
        name, reason = routed(service, "stray_animal", ny(2026, 11, 21, 3, 0))
        assert (name, reason) == ("Duty Supervisor (triage)", "department_desk")
        assert service.on_duty_phone("stray_animal") == "+15185550100"
    finally:
        with session_scope(engine, write=True) as session:
            for staff in session.exec(select(Staff).where(Staff.role == "supervisor")).all():
                staff.active = True
                session.add(staff)
