"""The officer sees where (issue 9, item 5): a map drawn on the server from Riverton's
own streets, on the ticket page and in the inbox, with nothing fetched from elsewhere."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, delete

from dispatch.contract import CallStart, ComplaintReport
from dispatch.places.book import PlaceBook
from dispatch.places.map_svg import StreetMap
from dispatch.service import DispatchService
from dispatch.throttle import SignInFailure
from tests.dispatch.place_support import riverton, riverton_book
from tests.dispatch.web_support import add_staff, post_signin

LARK_38 = (42.640458, -73.761775)  # 38 Lark Street's address point
URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


def names_in(svg: str) -> list[str]:
    return re.findall(r'<text class="street-name"[^>]*>([^<]+)</text>', svg)


def test_the_map_names_the_streets_around_the_point() -> None:
    streets = StreetMap(riverton().streets)
    near = streets.streets_near(*LARK_38, 250)
    assert near[0].name == "Lark Street" and near[0].distance_m < 15
    svg = streets.svg(*LARK_38, title="Map around 38 Lark Street")

    # Every street in view is drawn and named, nearest first; none from elsewhere.
    assert {s.name for s in near} >= {"Lark Street", "1st Street"}
    assert set(names_in(svg)) == {s.name for s in near}
    assert svg.count('<polyline class="street') >= len(near)
    assert "Madison Avenue" not in svg  # kilometres away
    # The point is marked in the middle, pinned (an address), with a scale bar.
    assert '<circle class="point" cx="240.0" cy="150.0"' in svg
    assert "point-area" not in svg
    assert re.search(r'<text class="scale-label"[^>]*>100 m</text>', svg)
    # Nothing the page's Content-Security-Policy forbids, nothing fetched.
    assert "style=" not in svg and "<script" not in svg and not URL.search(svg)


def test_names_are_escaped_and_a_block_is_ringed() -> None:
    from dispatch.places.city import Street

    odd = Street(name='Elm <b>"Street"</b>', ways=(((42.0, -73.01), (42.0, -72.99)),))
    svg = StreetMap([odd]).svg(42.0, -73.0, title="<x>", approximate=True)
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "<title>&lt;x&gt;</title>" in svg
    assert '<circle class="point-area"' in svg


def test_a_point_off_the_map_says_so() -> None:
    svg = StreetMap(riverton().streets).svg(40.0, -75.0, title="Somewhere else")
    assert names_in(svg) == [] and "No street of the city's map near this point" in svg
    assert '<circle class="point"' in svg


def test_a_map_is_cheap_enough_for_every_inbox_row(record_figures) -> None:
    started = time.perf_counter()
    streets = StreetMap(riverton().streets)
    index_ms = (time.perf_counter() - started) * 1000
    points = [(a.lat, a.long) for a in riverton().addresses[::400]]
    started = time.perf_counter()
    for lat, long in points:
        streets.svg(lat, long, title="t")
    map_ms = (time.perf_counter() - started) * 1000 / len(points)
    started = time.perf_counter()
    for lat, long in points:
        streets.svg(lat, long, title="t", width=240, height=150, radius_m=150, labels=2)
    thumb_ms = (time.perf_counter() - started) * 1000 / len(points)
    record_figures(
        "place map (Riverton, 299 streets)",
        {
            "index_ms": round(index_ms, 1),
            "map_ms": round(map_ms, 3),
            "thumb_ms": round(thumb_ms, 3),
            "maps": len(points),
        },
    )
    # 200 inbox rows, polled every 10 s, must stay well under a tenth of a second.
    assert thumb_ms * 200 < 100 and map_ms < 5


# --- on the pages -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book(migrated_url: str) -> Iterator[PlaceBook]:
    with riverton_book(migrated_url) as places:
        yield places


@pytest.fixture
def client(service: DispatchService, book: PlaceBook) -> TestClient:
    service.places = book
    with Session(service.engine) as session:
        session.exec(delete(SignInFailure))
        session.commit()
    add_staff(service.engine, "sv.maps", role="supervisor")
    from tests.dispatch.web_support import build_app

    client = TestClient(build_app(service), follow_redirects=False)
    assert post_signin(client, username="sv.maps", password="night-shift-2026").status_code == 303
    return client


def foreign_urls(html: str) -> list[str]:
    return [u for u in URL.findall(html) if not u.startswith("http://testserver/")]


def test_the_ticket_page_and_the_inbox_show_the_map(
    client: TestClient, service: DispatchService
) -> None:
    place = service.find_place("38 Lark Street").best
    number = service.file_complaint(
        ComplaintReport(
            kind="pothole", location="thirty eight lark street", place=place, place_verified=True
        )
    ).number

    page = client.get(f"/tickets/{number}")
    assert page.status_code == 200, page.text
    html = page.text
    [svg] = re.findall(r'<svg class="place-map map".*?</svg>', html, re.S)
    assert "Lark Street" in names_in(svg) and "1st Street" in names_in(svg)
    assert '<circle class="point"' in svg
    assert "38 Lark Street" in html and "thirty eight lark street" in html  # both kept
    assert "match 100%" in html
    assert foreign_urls(html) == []
    assert "style=" not in html and "<script>" not in html

    inbox = client.get("/inbox").text
    [thumb] = re.findall(
        rf'href="/tickets/{number}"[^>]*>(<svg class="place-map thumb".*?</svg>)', inbox, re.S
    )
    assert "Lark Street" in names_in(thumb)
    assert foreign_urls(inbox) == []


def test_an_unverified_place_says_so_and_draws_no_map(
    client: TestClient, service: DispatchService
) -> None:
    sid = "CA" + "7" * 32
    service.open_call(
        CallStart(call_sid=sid, caller_number="+15185550123", started_at=service.clock())
    )
    number = service.file_complaint(
        ComplaintReport(
            kind="noise", location="forty two lurk streak", place_verified=False, call_sid=sid
        )
    ).number
    html = client.get(f"/tickets/{number}").text
    assert "Caller&#39;s words, not verified" in html or "Caller's words, not verified" in html
    assert "forty two lurk streak" in html
    assert f'href="/calls/{sid}">recording</a>' in html  # the supervisor can listen
    assert "place-map" not in html
