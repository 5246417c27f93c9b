"""Shift changes and hand-over windows on the repository's roster (data/roster.yaml), no
database: each department's window runs from its own last shift start or end, across
midnight, the weekend nobody covers, both DST nights, and the Chicago contractor's hours."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from dispatch.shift_changes import (
    BadWindow,
    RosterShift,
    ShiftWindow,
    boundaries_between,
    changes_between,
    ends_between,
    last_window,
    requested_window,
    starting_at,
    supervisors_shifts,
    wall_instant,
    window_at,
)
from tests.dispatch.conftest import CITY
from tests.dispatch.handover_support import (
    NEW_YORK,
    city,
    department,
    roster,
    username_of,
    utc,
)

CHICAGO = "America/Chicago"


def local(instants: list) -> list[str]:
    return [at.astimezone(CITY).strftime("%a %H:%M") for at in instants]


def test_a_time_in_the_spring_forward_gap_happens_when_the_clocks_jump() -> None:
    # 2026-03-08: New York's clocks go from 02:00 EST to 03:00 EDT; 02:30 never happens.
    at = wall_instant(date(2026, 3, 8), time(2, 30), NEW_YORK)
    assert at == utc(2026, 3, 8, 7)
    assert at.astimezone(CITY).strftime("%H:%M %Z") == "03:00 EDT"
    daily = RosterShift(1, 1, frozenset(range(1, 8)), time(2, 30), time(22, 0), NEW_YORK)
    assert changes_between([daily], utc(2026, 3, 7, 0), utc(2026, 3, 10, 0)) == [
        utc(2026, 3, 7, 7, 30),  # 02:30 EST
        utc(2026, 3, 8, 7, 0),  # the jump
        utc(2026, 3, 9, 6, 30),  # 02:30 EDT
    ]
    # An end in the gap is the same instant: a 22:00-02:30 night ends when the clocks jump.
    night = RosterShift(1, 1, frozenset({6}), time(22, 0), time(2, 30), NEW_YORK)
    assert ends_between(night, utc(2026, 3, 7, 0), utc(2026, 3, 9, 0)) == [utc(2026, 3, 8, 7)]


def test_a_time_on_the_fall_back_night_happens_the_first_time() -> None:
    # 2026-11-01: 01:00-02:00 happens twice in New York; 01:30 is the EDT one.
    at = wall_instant(date(2026, 11, 1), time(1, 30), NEW_YORK)
    assert at == utc(2026, 11, 1, 5, 30)
    assert at.astimezone(CITY).strftime("%H:%M %Z") == "01:30 EDT"
    night = RosterShift(1, 1, frozenset({6}), time(22, 0), time(1, 30), NEW_YORK)
    assert ends_between(night, utc(2026, 10, 31, 0), utc(2026, 11, 2, 0)) == [at]


def test_the_day_supervisor_at_eight_is_handed_the_whole_night() -> None:
    shifts = roster()
    # Tuesday 24 to Wednesday 25 November 2026: others start at 06:00 and 07:00 ...
    changes = changes_between(shifts, city(2026, 11, 24, 19), city(2026, 11, 25, 9))
    assert local(changes) == ["Tue 20:00", "Wed 06:00", "Wed 07:00", "Wed 08:00"]
    assert sorted(username_of(s) for s in starting_at(shifts, city(2026, 11, 25, 8))) == [
        "sup.garcia",
        "tf.ivanova",
        "wt.brennan",
    ]
    # ... but the supervisors' last boundary before 08:00 is sup.walker's start at 20:00.
    triage = department("triage")
    assert supervisors_shifts(shifts) == triage
    assert window_at(triage, city(2026, 11, 25, 8)) == ShiftWindow(
        city(2026, 11, 24, 20), city(2026, 11, 25, 8)
    )
    assert window_at(triage, city(2026, 11, 24, 20)) == ShiftWindow(
        city(2026, 11, 24, 8), city(2026, 11, 24, 20)
    )


def test_parking_on_monday_is_handed_the_weekend_nobody_covered() -> None:
    parking = department("parking")
    weekend = boundaries_between(parking, city(2026, 11, 20, 0), city(2026, 11, 24, 0))
    assert local(weekend) == [
        "Fri 07:00",
        "Fri 15:00",
        "Fri 23:00",
        "Sat 15:00",  # pk.lindqvist works Saturdays, pk.okafor does not
        "Sat 23:00",
        "Mon 07:00",
        "Mon 15:00",
        "Mon 23:00",
    ]
    assert window_at(parking, city(2026, 11, 23, 7)) == ShiftWindow(
        city(2026, 11, 21, 23), city(2026, 11, 23, 7)
    )
    assert window_at(parking, city(2026, 11, 24, 7)) == ShiftWindow(
        city(2026, 11, 23, 23), city(2026, 11, 24, 7)
    )
    assert window_at(parking, city(2026, 11, 23, 15)) == ShiftWindow(
        city(2026, 11, 23, 7), city(2026, 11, 23, 15)
    )
    # Roads come on at the same 07:00 and have their own: since rd.tanaka's 23:30 end.
    assert window_at(department("roads"), city(2026, 11, 23, 7)) == ShiftWindow(
        city(2026, 11, 22, 23, 30), city(2026, 11, 23, 7)
    )


@pytest.mark.parametrize(
    ("morning", "since", "until", "hours"),
    [
        # 20:00 EST to 08:00 EDT: the clocks skip an hour.
        (city(2026, 3, 8, 8), utc(2026, 3, 8, 1), utc(2026, 3, 8, 12), 11),
        # 20:00 EDT to 08:00 EST: 01:00-02:00 happens twice.
        (city(2026, 11, 1, 8), utc(2026, 11, 1, 0), utc(2026, 11, 1, 13), 13),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_the_supervisors_dst_nights_are_as_long_as_the_clocks_say(
    morning, since, until, hours
) -> None:
    window = window_at(department("triage"), morning)
    assert window == ShiftWindow(since, until)
    assert window.until - window.since == timedelta(hours=hours)
    assert window.since.astimezone(CITY).strftime("%H:%M") == "20:00"
    assert window.until.astimezone(CITY).strftime("%H:%M") == "08:00"


def test_the_chicago_contractors_boundaries_are_chicago_times() -> None:
    water = department("water")
    contractor = next(s for s in water if username_of(s) == "wt.contractor")
    assert contractor.timezone == CHICAGO and contractor.overnight
    # Fall-back weekend: 15:00 and 07:00 in Chicago are 16:00 and 08:00 in New York.
    weekend = boundaries_between(water, city(2026, 10, 31, 0), city(2026, 11, 2, 12))
    assert local(weekend) == ["Sat 08:00", "Sat 16:00", "Sun 08:00", "Sun 16:00", "Mon 08:00"]
    assert ends_between(contractor, utc(2026, 11, 1, 0), utc(2026, 11, 2, 0)) == [
        utc(2026, 11, 1, 13)  # 07:00 CST: Chicago fell back an hour after New York did
    ]
    # The contractor on Sunday 16:00 EST gets the day nobody of water was on ...
    assert [username_of(s) for s in starting_at(water, utc(2026, 11, 1, 21))] == ["wt.contractor"]
    assert window_at(water, utc(2026, 11, 1, 21)) == ShiftWindow(
        utc(2026, 11, 1, 13), utc(2026, 11, 1, 21)
    )
    # ... and wt.brennan on Monday 08:00 the contractor's night.
    assert window_at(water, city(2026, 11, 2, 8)) == ShiftWindow(
        utc(2026, 11, 1, 21), city(2026, 11, 2, 8)
    )
    # Spring: 07:00 CDT and 15:00 CDT are 12:00 and 20:00 UTC.
    assert window_at(water, utc(2026, 3, 8, 20)) == ShiftWindow(
        utc(2026, 3, 8, 12), utc(2026, 3, 8, 20)
    )


def test_a_round_the_clock_shift_hands_over_a_whole_day() -> None:
    desk = RosterShift(1, 1, frozenset(range(1, 8)), time(7, 0), time(7, 0), NEW_YORK)
    assert desk.overnight
    assert window_at([desk], city(2026, 11, 25, 7)) == ShiftWindow(
        city(2026, 11, 24, 7), city(2026, 11, 25, 7)
    )


def test_a_window_asked_for_is_read_in_the_citys_time_or_refused_clearly() -> None:
    supervisors = supervisors_shifts(roster())
    now = city(2026, 11, 25, 8, 30)

    def ask(since: str | None, until: str | None, shifts=supervisors) -> ShiftWindow:
        return requested_window(shifts, since=since, until=until, now=now, timezone=NEW_YORK)

    night = ShiftWindow(city(2026, 11, 24, 20), city(2026, 11, 25, 8))
    assert ask(None, None) == night == last_window(supervisors, now)
    assert ask("2026-11-24T20:00", "2026-11-25T08:00") == night
    assert ask("2026-11-25T01:00Z", "2026-11-25T08:00-05:00") == night
    assert ask(None, "2026-11-25T08:00") == night  # the window that ends then
    assert ask("2026-11-25T08:00", None) == ShiftWindow(city(2026, 11, 25, 8), now)
    # A parking officer's default is their own department's last hand-over.
    assert ask(None, None, department("parking")) == ShiftWindow(
        city(2026, 11, 24, 23), city(2026, 11, 25, 7)
    )
    # At 08:00 exactly, the hand-over of 08:00 is the last one.
    assert (
        requested_window(
            supervisors, since=None, until=None, now=city(2026, 11, 25, 8), timezone=NEW_YORK
        )
        == night
    )
    with pytest.raises(BadWindow, match="since: 'last night' is not a date and time"):
        ask("last night", None)
    with pytest.raises(BadWindow, match="since must be before until"):
        ask("2026-11-25T06:00", "2026-11-25T06:00")
    with pytest.raises(BadWindow, match="at most 31 days"):
        ask("2026-01-01T00:00", "2026-11-25T00:00")
    with pytest.raises(BadWindow, match="no shifts for your department"):
        ask(None, None, [])
