"""Ticket numbers: digits only, per-day sequence, unique under concurrent filing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC

from dispatch.contract import ComplaintReport
from dispatch.numbering import clean_number
from tests.dispatch.conftest import city_time

FILERS = 50


def test_fifty_callers_filing_at_once_get_fifty_numbers(service) -> None:
    start = threading.Barrier(FILERS)

    def file(i: int) -> str:
        report = ComplaintReport(
            kind="pothole",
            location=f"{100 + i} Hillside Drive, house number {i}",  # not duplicates
            caller_number=f"+1518555{i:04d}",
            call_sid=f"CA{i:032d}",
        )
        start.wait()
        return service.file_complaint(report).number

    with ThreadPoolExecutor(max_workers=FILERS) as pool:
        numbers = list(pool.map(file, range(FILERS)))

    assert len(set(numbers)) == FILERS
    assert all(n.isdigit() and len(n) == 10 and n.startswith("261121") for n in numbers)
    assert sorted(int(n[6:]) for n in numbers) == list(range(1, FILERS + 1))
    tickets = service.list_tickets()
    assert len(tickets) == FILERS and not any(t.needs_triage for t in tickets)
    # Different houses on one street are different places, not duplicates.
    assert not any(t.duplicate_of for t in tickets)


def test_sequence_restarts_on_the_citys_new_day(service, clock) -> None:
    clock.now = city_time(2026, 11, 21, 23, 59).astimezone(UTC)  # 04:59 UTC on the 22nd
    late = service.file_complaint(ComplaintReport(kind="noise", location="Elm Street"))
    clock.now = city_time(2026, 11, 22, 0, 1).astimezone(UTC)
    early = service.file_complaint(ComplaintReport(kind="noise", location="Oak Street"))
    assert (late.number, early.number) == ("2611210001", "2611220001")


def test_spoken_numbers_are_cleaned() -> None:
    assert clean_number("261121 0042") == "2611210042"
    assert clean_number("26-11-21-0042.") == "2611210042"
    assert clean_number("") == ""
