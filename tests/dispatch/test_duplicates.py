"""Duplicates: the same kind at the same or a nearby place within the window is
linked to the open ticket; another kind, far away or too late is a new ticket.

"Nearby" is a real distance on Riverton's own map (data/places/, imported into each
test database): the reports below carry the place the dialogue confirmed, as phone
reports do, or coordinates, as Open311 reports may.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from dispatch.contract import ComplaintReport, PlaceCandidate
from dispatch.duplicates import POINT_RADIUS_M, distance_m
from dispatch.places.book import PlaceBook
from dispatch.service import DispatchService
from tests.dispatch.place_support import riverton_book
from tests.dispatch.test_filing import answered, staff_id


@pytest.fixture(scope="module")
def book(migrated_url: str) -> Iterator[PlaceBook]:
    with riverton_book(migrated_url) as places:
        yield places


@pytest.fixture(autouse=True)
def city(service: DispatchService, book: PlaceBook) -> None:
    service.places = book


def report(
    kind: str = "streetlight_out", location: str = "Main St and Fifth", **extra
) -> ComplaintReport:
    extra.setdefault("caller_number", "+15185550987")
    return ComplaintReport(kind=kind, location=location, **extra)


def located(service, said: str) -> PlaceCandidate:
    match = service.find_place(said)
    assert match.confident, match
    return match.best


def confirmed(service, location: str, kind: str = "streetlight_out", **extra) -> ComplaintReport:
    """A phone report as the dialogue files it: the city's place, read back and confirmed."""
    return report(kind, location, place=located(service, location), place_verified=True, **extra)


def test_same_kind_same_place_is_linked(service, clock, sms) -> None:
    first = service.file_complaint(
        confirmed(service, "Main St and Fifth", details={"light_count": "two"})
    )
    clock.advance(minutes=30)
    second = service.file_complaint(
        confirmed(
            service,
            "5th Street & Main Street",
            call_sid=answered(service, "CAsecond", "+15185550444"),
        )
    )
    assert second.duplicate_of == first.number and second.number != first.number
    assert second.status == "duplicate"

    original = service.get_ticket(first.number)
    assert original.duplicates == [second.number]
    assert "Reported again as " + second.number in original.notes[0].body
    assert original.events[-1].action == "duplicate_added"
    linked = service.get_ticket(second.number)
    assert linked.duplicate_of == first.number and linked.open311_status == "closed"
    assert linked.escalation_step is None  # the original is the one worked and escalated
    # The caller is told, by the dialogue (duplicate_of) and by SMS.
    view = service.find_ticket(second.number)
    assert view.status_label.startswith(f"Added to ticket {first.number}")
    service.deliver_outbox()
    assert first.number in sms.to("+15185550444")[0]


def test_nearby_by_coordinates_is_linked(service, clock) -> None:
    # Open311-style reports with coordinates, described differently: about 35 m apart is
    # one pothole, about 70 m (past POINT_RADIUS_M) and 1 km are others.
    first = service.file_complaint(
        report(kind="pothole", location="by the bus stop", lat=42.65000, long=-73.75000)
    )
    clock.advance(minutes=5)
    assert 30 < distance_m(42.65000, -73.75000, 42.65030, -73.75010) < 40
    near = service.file_complaint(
        report(kind="pothole", location="in the right lane", lat=42.65030, long=-73.75010)
    )
    assert near.duplicate_of == first.number
    clock.advance(minutes=5)
    assert POINT_RADIUS_M < distance_m(42.65000, -73.75000, 42.65063, -73.75000) < 80
    beyond = service.file_complaint(
        report(kind="pothole", location="past the bus stop", lat=42.65063, long=-73.75000)
    )
    assert beyond.duplicate_of is None
    far = service.file_complaint(
        report(kind="pothole", location="in the left lane", lat=42.66000, long=-73.75000)
    )
    assert far.duplicate_of is None


def test_two_houses_thirty_metres_apart_are_one_place(service, clock) -> None:
    here, next_door = located(service, "38 Lark Street"), located(service, "58 Lark Street")
    assert 20 < distance_m(here.lat, here.long, next_door.lat, next_door.long) < 40
    first = service.file_complaint(confirmed(service, "38 Lark Street", "illegal_dumping"))
    clock.advance(minutes=3)
    second = service.file_complaint(
        report(
            kind="illegal_dumping",
            location="fifty eight lark street",  # the caller's words; the place confirmed
            place=next_door,
            place_verified=True,
        )
    )
    assert second.duplicate_of == first.number


def test_four_hundred_metres_along_the_same_street_is_another_place(service, clock) -> None:
    here, up_the_street = located(service, "38 Lark Street"), located(service, "290 Lark Street")
    assert 380 < distance_m(here.lat, here.long, up_the_street.lat, up_the_street.long) < 420
    service.file_complaint(confirmed(service, "38 Lark Street", "illegal_dumping"))
    clock.advance(minutes=3)
    other = service.file_complaint(confirmed(service, "290 Lark Street", "illegal_dumping"))
    assert other.duplicate_of is None
    ticket = service.get_ticket(other.number)
    assert (ticket.place_name, ticket.place_kind) == ("290 Lark Street", "address")


def test_a_house_on_a_reported_block_is_the_same_place(service, clock) -> None:
    """A block reaches the street-level radius; a street named without a number has
    no point worth comparing (its point is only somewhere along it)."""
    block = service.file_complaint(confirmed(service, "the 300 block of Lark St", "pothole"))
    clock.advance(minutes=1)
    house = service.file_complaint(confirmed(service, "342 Lark Street", "pothole"))
    assert house.duplicate_of == block.number
    clock.advance(minutes=1)
    street = service.file_complaint(confirmed(service, "Lark Street"))
    clock.advance(minutes=1)
    on_it = service.file_complaint(confirmed(service, "8 Lark Street"))
    assert on_it.duplicate_of is None
    assert service.get_ticket(street.number).place_kind == "street"


def test_a_landmark_and_a_house_next_to_it_are_one_place(service, clock) -> None:
    first = service.file_complaint(confirmed(service, "outside City Hall", "illegal_dumping"))
    clock.advance(minutes=1)
    second = service.file_complaint(confirmed(service, "1869 12th Street", "illegal_dumping"))
    assert second.duplicate_of == first.number  # 21 m from City Hall's point


def test_unverified_words_meet_only_the_same_words(service, clock) -> None:
    """A place nobody could match has no point: only the same words (normalized) link."""
    words = {"kind": "noise", "place_verified": False}
    first = service.file_complaint(report(location="behind the old mill", **words))
    clock.advance(minutes=1)
    same = service.file_complaint(report(location="Behind the old mill.", **words))
    other = service.file_complaint(report(location="by the river bend", **words))
    assert same.duplicate_of == first.number and other.duplicate_of is None
    ticket = service.get_ticket(first.number)
    assert ticket.place_verified is False and ticket.place_name is None and ticket.lat is None


def test_outside_window_other_kind_or_closed_is_new(service, clock, settings_for) -> None:
    first = service.file_complaint(report())
    clock.advance(minutes=5)
    other_kind = service.file_complaint(report(kind="traffic_signal"))
    assert other_kind.duplicate_of is None
    clock.advance(minutes=settings_for().duplicate_window_minutes)
    late = service.file_complaint(report())
    assert late.duplicate_of is None

    clock.advance(minutes=1)
    service.set_status(late.number, "closed", "fixed", staff_id(service, "rd.tanaka"))
    service.set_status(first.number, "closed", "fixed", staff_id(service, "rd.tanaka"))
    after_close = service.file_complaint(report())
    assert after_close.duplicate_of is None


def test_houses_on_the_same_street_are_not_duplicates(service, clock) -> None:
    first = service.file_complaint(confirmed(service, "12 Main Street", "illegal_dumping"))
    clock.advance(minutes=1)
    other = service.file_complaint(confirmed(service, "480 Main St", "illegal_dumping"))
    assert other.duplicate_of is None
    same = service.file_complaint(confirmed(service, "12 Main St.", "illegal_dumping"))
    assert same.duplicate_of == first.number
    # Unconfirmed words (a voicemail) still meet their own kind by the same words.
    words = service.file_complaint(report(kind="illegal_dumping", location="480 Main St."))
    assert words.duplicate_of == other.number


def test_haversine() -> None:
    assert distance_m(42.65, -73.75, 42.65, -73.75) == 0
    assert 110_000 < distance_m(42.0, -73.75, 43.0, -73.75) < 112_000


def test_simultaneous_reports_of_the_same_thing_link_to_one(service) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    callers = 10
    start = threading.Barrier(callers)

    def file(i: int):
        r = report(kind="water_leak", location="River Road", caller_number=f"+1518555{i:04d}")
        start.wait()
        return service.file_complaint(r)

    with ThreadPoolExecutor(max_workers=callers) as pool:
        filed = list(pool.map(file, range(callers)))
    originals = [f for f in filed if f.duplicate_of is None]
    assert len(originals) == 1
    assert {f.duplicate_of for f in filed if f.duplicate_of} == {originals[0].number}


def test_an_officer_links_a_duplicate_by_hand(service, clock) -> None:
    first = service.file_complaint(report(location="Pearl Street"))
    clock.advance(minutes=1)
    second = service.file_complaint(report(location="by the library"))  # not matched
    assert second.duplicate_of is None
    officer = staff_id(service, "rd.tanaka")
    linked = service.link_duplicate(second.number, first.number, officer)
    assert linked.status == "duplicate" and linked.duplicate_of == first.number
    assert linked.escalation_due_at is None
    assert [e.action for e in linked.events][-2:] == ["status", "duplicate_linked"]
    assert service.get_ticket(first.number).duplicates == [second.number]
    # Not a duplicate after all: back to new, unlinked, escalated on its own again.
    back = service.set_status(second.number, "new", "different lamp", officer)
    assert back.duplicate_of is None and back.events[-1].action == "duplicate_unlinked"
    assert back.escalation_due_at == clock() + timedelta(minutes=15)
    # A report filed as a duplicate was never routed; unlinked, it is.
    clock.advance(minutes=1)
    third = service.file_complaint(report(location="Pearl St"))
    assert third.duplicate_of == first.number and third.officer_name is None
    alone = service.set_status(third.number, "new", None, officer)
    assert alone.assigned_name == "Highway yard night foreman"
    assert any(n.purpose == "officer" for n in alone.notifications)
