"""Filing keeps where a ticket is (issue 9): the place the dialogue confirmed, or the
city's match for a report nobody checked, its point, kind and confidence, and whether
it is more than the reporter's words. On SQLite and PostgreSQL, Riverton imported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dispatch.contract import ComplaintReport, PlaceCandidate, PlaceKind, PlaceMatch
from dispatch.places.book import PlaceBook
from dispatch.service import DispatchService
from dispatch.ticket_place import filed_place, normalize
from tests.dispatch.place_support import riverton_book


@pytest.fixture(scope="module")
def book(migrated_url: str) -> Iterator[PlaceBook]:
    with riverton_book(migrated_url) as places:
        yield places


@pytest.fixture(autouse=True)
def city(service: DispatchService, book: PlaceBook) -> None:
    service.places = book


def test_the_place_the_caller_confirmed_is_filed_with_their_words(service) -> None:
    confirmed = service.find_place("forty two lark street").best
    assert confirmed is not None and confirmed.label == "42 Lark Street"
    filed = service.file_complaint(
        ComplaintReport(
            kind="pothole",
            location="um forty two lark street",
            place=confirmed,
            place_verified=True,
            caller_number="+15185550111",
        )
    )
    ticket = service.get_ticket(filed.number)
    assert ticket.location_text == "um forty two lark street"  # always the caller's words
    assert ticket.place_name == "42 Lark Street" and ticket.place_kind == "address"
    assert (ticket.lat, ticket.long) == (confirmed.lat, confirmed.long)
    assert ticket.place_confidence == pytest.approx(confirmed.confidence)
    assert ticket.place_verified is True
    assert ticket.location_normalized == "42 lark street"


def test_the_callers_words_alone_are_filed_unverified_without_a_point(service) -> None:
    filed = service.file_complaint(
        ComplaintReport(kind="noise", location="forty two lurk streak", place_verified=False)
    )
    ticket = service.get_ticket(filed.number)
    assert ticket.place_verified is False
    assert ticket.location_text == "forty two lurk streak"
    assert (ticket.place_name, ticket.place_kind, ticket.lat, ticket.long) == (None,) * 4


def test_a_report_nobody_checked_is_geocoded_only_when_sure(service) -> None:
    """Open311 and API reports arrive as typed words: a confident match is filed, a
    doubtful one ("Linden Street": Linden Terrace or Linden Way?) is kept as words."""
    sure = service.file_complaint(
        ComplaintReport(kind="pothole", location="corner of Main St and 5th", channel="api")
    )
    ticket = service.get_ticket(sure.number)
    assert ticket.place_name == "Main Street and 5th Street"
    assert ticket.place_kind == "intersection" and ticket.place_verified is True
    assert ticket.lat == pytest.approx(42.6471865) and ticket.long == pytest.approx(-73.7577563)

    doubtful = service.file_complaint(
        ComplaintReport(kind="pothole", location="417 Linden Street", channel="api")
    )
    ticket = service.get_ticket(doubtful.number)
    assert ticket.place_name is None and ticket.lat is None
    assert ticket.place_verified is False and ticket.location_text == "417 Linden Street"


def test_a_phone_report_without_the_dialogues_verdict_is_never_looked_up(service) -> None:
    """A voicemail, or a client that predates the place dialogue: nobody heard the place
    read back, so even a clean address stays the caller's words."""
    filed = service.file_complaint(ComplaintReport(kind="pothole", location="42 Lark Street"))
    ticket = service.get_ticket(filed.number)
    assert ticket.place_name is None and ticket.lat is None and ticket.place_verified is False
    assert ticket.location_normalized == "42 lark street"  # still meets the same words


def test_coordinates_the_reporter_sent_win(service) -> None:
    filed = service.file_complaint(
        ComplaintReport(
            kind="pothole", location="42 Lark Street", lat=42.6405, long=-73.7618, channel="api"
        )
    )
    ticket = service.get_ticket(filed.number)
    assert (ticket.lat, ticket.long) == (42.6405, -73.7618)
    assert ticket.place_name is None and ticket.place_verified is None  # nothing looked up


def test_a_triage_ticket_keeps_the_confirmed_place(service) -> None:
    place = service.find_place("City Hall").best
    filed = service.file_complaint(
        ComplaintReport(
            kind=None,
            location="outside city hall",
            needs_triage=True,
            triage_reason="kind not recognised",
            place=place,
            place_verified=True,
        )
    )
    ticket = service.get_ticket(filed.number)
    assert ticket.needs_triage and ticket.place_name == "City Hall"
    assert ticket.place_kind == "landmark" and ticket.lat == pytest.approx(42.6575171)


# --- the rules, without a database ----------------------------------------------------------


class BrokenPlaces:
    def locate(self, said: str) -> PlaceMatch:
        raise RuntimeError("place tables unreadable")


class DoubtfulPlaces:
    def locate(self, said: str) -> PlaceMatch:
        near = PlaceCandidate(
            label="Lark Street", kind=PlaceKind.STREET, lat=42.6, long=-73.7, confidence=0.7
        )
        return PlaceMatch(said=said, candidates=[near])


def test_a_geocoder_failure_files_the_words(caplog: pytest.LogCaptureFixture) -> None:
    report = ComplaintReport(kind="pothole", location="42 Lark Street", channel="open311")
    place = filed_place(report, BrokenPlaces())
    assert place.name is None and place.lat is None and place.verified is False
    assert place.key == "42 lark street"
    assert "geocoding a report failed" in caplog.text


def test_a_doubtful_match_is_not_filed() -> None:
    report = ComplaintReport(kind="pothole", location="lurk street", channel="open311")
    assert filed_place(report, DoubtfulPlaces()).name is None


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Main St and Fifth", "5th & main street"),
        ("it's at the corner of Pearl St & State St", "State Street and Pearl Street"),
        ("12 Main St.", "12 main street"),
    ],
)
def test_the_duplicate_key_reads_past_how_it_was_said(one: str, other: str) -> None:
    assert normalize(one) == normalize(other)
