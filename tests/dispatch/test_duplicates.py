"""Duplicates: the same kind at the same or a nearby place within the window is
linked to the open ticket; another kind, far away or too late is a new ticket."""

from __future__ import annotations

from datetime import timedelta

from dispatch.contract import ComplaintReport
from dispatch.duplicates import distance_m
from tests.dispatch.test_filing import answered, staff_id


def report(
    kind: str = "streetlight_out", location: str = "Main St and Fifth", **extra
) -> ComplaintReport:
    extra.setdefault("caller_number", "+15185550987")
    return ComplaintReport(kind=kind, location=location, **extra)


def test_same_kind_same_place_is_linked(service, clock, sms) -> None:
    first = service.file_complaint(report(details={"light_count": "two"}))
    clock.advance(minutes=30)
    second = service.file_complaint(
        report(
            location="5th Avenue & Main Street",
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
    # Open311-style reports with coordinates about 60 m apart, described differently.
    first = service.file_complaint(
        report(kind="pothole", location="by the bus stop", lat=42.65000, long=-73.75000)
    )
    clock.advance(minutes=5)
    near = service.file_complaint(
        report(kind="pothole", location="in the right lane", lat=42.65050, long=-73.75030)
    )
    assert near.duplicate_of == first.number
    clock.advance(minutes=5)
    far = service.file_complaint(
        report(kind="pothole", location="in the left lane", lat=42.66000, long=-73.75000)
    )
    assert far.duplicate_of is None


def test_gazetteer_places_nearby_are_linked(service, clock) -> None:
    # City Hall and Police Headquarters are about 100 m apart (within 150 m).
    first = service.file_complaint(report(kind="illegal_dumping", location="City Hall"))
    clock.advance(minutes=1)
    second = service.file_complaint(report(kind="illegal_dumping", location="police station"))
    assert second.duplicate_of == first.number


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
    first = service.file_complaint(report(kind="illegal_dumping", location="12 Main Street"))
    clock.advance(minutes=1)
    other = service.file_complaint(report(kind="illegal_dumping", location="480 Main St"))
    assert other.duplicate_of is None
    same = service.file_complaint(report(kind="illegal_dumping", location="12 Main St."))
    assert same.duplicate_of == first.number


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
