"""The geocoder on the demo city's real data (data/places/: Riverton, 300 streets,
~39,000 address points, aliases.yaml), as `dutyline places import` builds it.

Every candidate of every answer is checked against the data (`assert_real`): the
geocoder may be unsure, never inventive.
"""

from __future__ import annotations

import random
import statistics
import string
from collections.abc import Callable
from dataclasses import replace

import pytest

from dispatch.contract import PlaceKind, PlaceMatch
from dispatch.places.city import Alias, CityPlaces, Street
from dispatch.places.geocoder import Geocoder
from dispatch.places.importer import PlaceSource, read_city
from dispatch.places.index import Point, house_number
from tests.dispatch.places.place_facts import (
    PLACES,
    assert_real,
    between,
    metres,
    same_side_neighbours,
)


@pytest.fixture(scope="module")
def locate(geocoder: Geocoder, riverton: CityPlaces) -> Callable[[str], PlaceMatch]:
    def run(said: str) -> PlaceMatch:
        match = geocoder.locate(said)
        assert_real(match, riverton)
        return match

    return run


def test_every_address_point_said_plainly_is_found_exactly(riverton, locate) -> None:
    sample = random.Random(9).sample(riverton.addresses, 150)
    for point in sample:
        match = locate(f"{point.number} {point.street}")
        best = match.best
        assert best is not None and best.kind is PlaceKind.ADDRESS, match
        assert (best.street, best.number) == (point.street, point.number)
        assert (best.lat, best.long) == (round(point.lat, 7), round(point.long, 7))
        assert match.confident and best.confidence >= 0.95


@pytest.mark.parametrize(
    ("said", "label"),
    [
        ("um it's at fifty four Oak Street", "54 Oak Street"),
        ("one twenty eight Pearl Street please", "128 Pearl Street"),
        ("three nine Maple Avenue", "39 Maple Avenue"),
        ("the address is 113 lark st", "113 Lark Street"),
        ("lark street number 113", "113 Lark Street"),
        ("in front of 122 Eagle Street", "122 Eagle Street"),
        ("there's a car blocking my driveway at 23 lark street", "23 Lark Street"),
        ("one oh seven eagle street", "107 Eagle Street"),
        ("54 Oak St., Riverton, NY 12201", "54 Oak Street"),
    ],
)
def test_addresses_as_callers_say_them(riverton, locate, said: str, label: str) -> None:
    number, street = label.split(" ", 1)
    assert any(p.street == street and p.number == number for p in riverton.addresses)
    match = locate(said)
    assert match.best is not None and match.best.label == label, match
    assert match.best.kind is PlaceKind.ADDRESS and match.confident


def test_a_number_between_register_points_is_interpolated_on_its_side(riverton) -> None:
    """Take register points out; the geocoder must put each back within 50 m of where the
    register has it, on the line between its neighbours on the same side."""
    rng = random.Random(90)
    candidates = [p for p in riverton.addresses if p.number.isdigit()]
    removed = []
    for point in rng.sample(candidates, 400):
        pair = same_side_neighbours(riverton, point.street, int(point.number))
        if pair and len(removed) < 40:
            removed.append((point, pair))
    gone = {id(p) for p, _ in removed}
    thinned = replace(riverton, addresses=[p for p in riverton.addresses if id(p) not in gone])
    geocoder = Geocoder(thinned)
    for point, (low, high) in removed:
        match = geocoder.locate(f"{point.number} {point.street}")
        best = match.best
        assert best is not None and best.kind is PlaceKind.ADDRESS, match
        assert best.label == f"{point.number} {point.street}"
        assert 0.8 <= best.confidence < 1.0, best  # sure, but less than a register point
        assert between((best.lat, best.long), low, high), (best, low, high)
        assert metres((best.lat, best.long), (point.lat, point.long)) <= 50.0, best


def test_a_number_the_street_does_not_have_is_no_address(riverton, locate) -> None:
    lark = next(r for r in riverton.ranges if r.street == "Lark Street")
    match = locate(f"{lark.high + 500} Lark Street")
    assert match.problem == "no_number"
    assert match.best is not None and match.best.kind is PlaceKind.STREET
    assert match.best.label == "Lark Street" and not match.confident
    assert all(c.kind is not PlaceKind.ADDRESS for c in match.candidates)


@pytest.mark.parametrize(
    "said",
    [
        "corner of Lark and Twelfth",
        "Lark and 12th",
        "lark street and twelfth street",
        "Lark Street at 12th Street",
        "the intersection of 12th street and lark street",
        "twelfth & lark",
        "um it's on the corner of lark street and twelfth avenue",
    ],
)
def test_intersections_in_several_phrasings(riverton, locate, said: str) -> None:
    match = locate(said)
    best = match.best
    assert best is not None and best.kind is PlaceKind.INTERSECTION, match
    assert set(best.label.split(" and ")) == {"Lark Street", "12th Street"}
    assert match.confident


def test_two_streets_that_never_meet_make_no_corner(locate) -> None:
    match = locate("corner of Pearl and State")  # they run side by side in Riverton
    assert match.candidates and not match.confident
    assert all(c.kind is PlaceKind.STREET for c in match.candidates)
    assert {c.label for c in match.candidates} == {"Pearl Street", "State Street"}


def test_a_block_is_the_middle_of_its_address_points(riverton, locate) -> None:
    lark = [p for p in riverton.addresses if p.street == "Lark Street"]
    block = [p for p in lark if 300 <= (house_number(p.number) or 0) < 400]
    middle = (statistics.fmean(p.lat for p in block), statistics.fmean(p.long for p in block))
    for said in ("the 300 block of Lark Street", "three hundred block of lark"):
        match = locate(said)
        assert match.best is not None and match.best.label == "300 block of Lark Street"
        assert match.best.kind is PlaceKind.BLOCK and match.confident
        assert metres((match.best.lat, match.best.long), middle) < 1.0
    between_corners = locate("Pearl Street between 11th and 12th")
    assert between_corners.best is not None and between_corners.confident
    assert between_corners.best.label == "Pearl Street between 11th Street and 12th Street"


@pytest.mark.parametrize(
    ("said", "label"),
    [
        ("City Hall", "City Hall"),
        ("outside city hall", "City Hall"),
        ("the town hall", "City Hall"),  # the city's alias
        ("the train station", "Union Station"),  # alias
        ("union station", "Union Station"),
        ("the hospital", "Memorial Hospital"),  # by kind: Riverton has one
        ("the high school on Madison Avenue", "Riverton High School"),  # kind + its street
        ("the school on Madison Avenue", "Riverton High School"),
        ("washington park", "Washington Park"),
        ("the shell station", "Shell"),
        ("city hole", "City Hall"),  # misheard
    ],
)
def test_landmarks_by_name_alias_and_kind(locate, said: str, label: str) -> None:
    match = locate(said)
    assert match.best is not None and match.best.label == label, match
    assert match.best.kind is PlaceKind.LANDMARK and match.confident


def test_two_landmarks_of_one_kind_are_asked_about(locate) -> None:
    match = locate("the library")
    assert match.ambiguous and not match.confident
    assert {c.label for c in match.candidates[:2]} == {
        "Central Library",
        "Harbor Road Public Library",
    }


def test_a_street_near_a_landmark_is_its_point_nearest_the_landmark(
    riverton, geocoder, locate
) -> None:
    match = locate("Broadway near Union Station")
    best = match.best
    assert best is not None and best.kind is PlaceKind.NEAR and match.confident
    assert best.label == "Broadway near Union Station" and best.street == "Broadway"
    station = next(lm for lm in riverton.landmarks if lm.name == "Union Station")
    broadway = next(s for s in riverton.streets if s.name == "Broadway")
    # No vertex of Broadway is nearer the station than the point found.
    found = metres((best.lat, best.long), (station.lat, station.long))
    assert found < 100
    assert all(
        metres(v, (station.lat, station.long)) >= found - 0.5 for w in broadway.ways for v in w
    )
    _, off_street = geocoder.index.nearest_on_street("Broadway", Point(best.lat, best.long))
    assert off_street < 0.5  # on Broadway itself


@pytest.mark.parametrize(
    ("said", "label"),
    [
        ("clark street", "Lark Street"),
        ("lurk street", "Lark Street"),
        ("ridge would lane", "Ridgewood Lane"),
        ("ridgewood lame", "Ridgewood Lane"),
        ("forty two clark street", "42 Lark Street"),
        ("route nine", "Route 9"),
        ("broad way", "Broadway"),
        ("twelfth street", "12th Street"),
    ],
)
def test_misheard_streets_snap_to_the_citys(riverton, locate, said: str, label: str) -> None:
    match = locate(said)
    assert match.best is not None and match.best.label == label, match
    assert match.confident, match


@pytest.mark.parametrize(
    ("said", "labels"),
    [
        ("linden", {"Linden Way", "Linden Terrace"}),
        ("linden street", {"Linden Way", "Linden Terrace"}),
        ("42 linden", {"42 Linden Way", "42 Linden Terrace"}),
        ("ridgewood", {"Ridgewood Avenue", "Ridgewood Court", "Ridgewood Lane"}),
    ],
)
def test_look_alikes_are_ambiguous(locate, said: str, labels: set[str]) -> None:
    match = locate(said)
    assert match.ambiguous and not match.confident, match
    assert {c.label for c in match.candidates[: len(labels)]} == labels


def test_a_named_type_settles_the_look_alike(locate) -> None:
    match = locate("linden way")
    assert match.confident and match.best is not None and match.best.label == "Linden Way"


@pytest.mark.parametrize("said", ["zebra boulevard", "mockingbird lane", "banana street"])
def test_a_street_the_city_does_not_have_gives_no_candidate(locate, said: str) -> None:
    match = locate(said)
    assert match.candidates == [] and match.problem == "no_street"


@pytest.mark.parametrize(
    "said", ["here", "my street", "outside", "outside my house", "right here", "on my street",
             "in front of my house", "the corner"],
)  # fmt: skip
def test_vague_words_are_never_a_place(locate, said: str) -> None:
    match = locate(said)
    assert match.candidates == [] and match.problem == "vague"


@pytest.mark.parametrize("said", ["", "   ", "um", "uh um"])
def test_nothing_said_is_empty(locate, said: str) -> None:
    match = locate(said)
    assert match.candidates == [] and match.problem == "empty"


def test_the_best_of_a_recognizers_alternatives(geocoder, riverton) -> None:
    match = geocoder.locate_any(["for to clerk treat", "42 lark street", "42 park street"])
    assert_real(match, riverton)
    assert match.best is not None and match.best.label == "42 Lark Street"
    assert geocoder.locate_any([]).problem == "empty"
    assert geocoder.locate_any(["here", "there"]).problem == "vague"


def test_vocabulary_is_the_citys_names(geocoder, riverton) -> None:
    vocabulary = geocoder.vocabulary()
    assert len(vocabulary.streets) == len(riverton.streets) == 299  # 5th Street: two ways
    assert "Lark Street" in vocabulary.streets and "City Hall" in vocabulary.landmarks
    assert "town hall" in vocabulary.aliases


def test_the_korean_city_reads_road_name_addresses() -> None:
    """Gwangju (도로명주소): the number follows the road, said in Sino-Korean numerals."""
    source = PlaceSource(
        "Gwangju",
        (PLACES / "gwangju-ko.osm", PLACES / "gwangju-ko-addresses.csv.gz"),
        PLACES / "aliases.yaml",
    )
    gwangju, _ = read_city(source)
    geocoder = Geocoder(gwangju)
    road = "경안로"
    assert any(p.street == road and p.number == "12" for p in gwangju.addresses)
    for said in ("경안로 12", "음 경안로 십이", "경안로 일이"):
        match = geocoder.locate(said)
        assert_real(match, gwangju)
        assert match.confident and match.best is not None, match
        assert match.best.label == "경안로 12" and match.best.kind is PlaceKind.ADDRESS
    city_hall = geocoder.locate("시청")  # the city's alias of 광주시청
    assert city_hall.best is not None and city_hall.best.label == "광주시청"
    assert geocoder.locate("여기").problem == "vague"


NOISE = (
    "the of and at near on between corner block 42 300 0 99999999999 lark street twelfth "
    "avenue city hall - & , . ' hundred thousand oh one a b 12th st ave union station by "
    "off number # @ riverton ny 경안로 십이"
)


def test_any_words_get_an_answer_made_of_real_places(geocoder, riverton) -> None:
    """Whatever the recognizer writes, locate answers (never raises) with real places."""
    rng = random.Random(7)
    words = NOISE.split()
    for _ in range(3000):
        said = " ".join(rng.choice(words) for _ in range(rng.randint(0, 8)))
        if rng.random() < 0.2:
            said = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 20)))
        assert_real(geocoder.locate(said), riverton)


def test_aliases_of_streets_corners_and_addresses(riverton) -> None:
    """The city's own names (aliases.yaml) for places that are not landmarks."""
    extra = [
        Alias("the old mill", "54 Harbor Road"),
        Alias("five corners", "Lark Street & 12th Street"),
    ]
    city = replace(riverton, aliases=[*riverton.aliases, *extra])
    geocoder = Geocoder(city)
    expected = {
        "the old mill": ("54 Harbor Road", PlaceKind.ADDRESS),
        "five corners": ("Lark Street and 12th Street", PlaceKind.INTERSECTION),
        "north broadway": ("Broadway", PlaceKind.STREET),  # in data/places/aliases.yaml
        "ny 9": ("Route 9", PlaceKind.STREET),
        "the bridge": ("5th Street", PlaceKind.STREET),  # over Bridge Place and Bridge Terrace
    }
    for said, (label, kind) in expected.items():
        match = geocoder.locate(said)
        assert_real(match, city)
        assert match.confident and match.best is not None, match
        assert (match.best.label, match.best.kind) == (label, kind)


# What Whisper tiny.en wrote for synthetic callers (flite, espeak-ng) on the 8 kHz line,
# taken from `dutyline bench places` (2026-12-01): thousands commas, "and" heard as "in",
# a house number run into a numbered street, pairs of digits, misspelled ordinals.
HEARD = [
    ("It's at 1,718 16th Street", "1718 16th Street"),
    ("Lincoln Avenue in 23rd Street", "Lincoln Avenue and 23rd Street"),
    ("at the intersection of Fifth Street in Hamilton Street", "5th Street and Hamilton Street"),
    ("the corner of 27th Street in Delaware as new", "27th Street and Delaware Avenue"),
    ("the quarter of 35th Street and Jackson Avenue", "35th Street and Jackson Avenue"),
    ("in front of 22 13 32nd Street", "2213 32nd Street"),
    ("69927th Street", "699 27th Street"),
    ("It's at 165929th Street", "1659 29th Street"),
    ("It's at 28 1412th Street", "2814 12th Street"),
    ("219th 15th Street", "219 15th Street"),  # the house number written as an ordinal too
    ("It has 2814 12th Street", "2814 12th Street"),  # noise before the number
    ("534 nineth Street", "534 9th Street"),
    ("It's at 1,479 A8th Street", "1479 8th Street"),
    ("500 lock on 33rd Street", "500 block of 33rd Street"),
    ("the 1,600 block of 21st Street", "1600 block of 21st Street"),
    ("Beachway and Grand Avenue", "Beech Way and Grant Avenue"),
    ("it's three thousand four hundred twenty eight Broadway", "3428 Broadway"),
    ("nine hundred ninety eight Jackson Avenue", "998 Jackson Avenue"),
    ("in front of the Harvard Road Public Library", "Harbor Road Public Library"),
    ("Pacific Center", "Civic Center"),
    ("at the farmers market", "Farmers Market"),
]


@pytest.mark.parametrize(("heard", "label"), HEARD)
def test_transcripts_a_phone_line_recognizer_wrote(locate, heard: str, label: str) -> None:
    match = locate(heard)
    assert match.confident and match.best is not None, match
    assert match.best.label == label


@pytest.mark.parametrize(
    ("heard", "labels"),
    [
        ("the 2000 block of Grand Avenue", {"2000 block of Grand Street",
                                            "2000 block of Grant Avenue"}),
        ("Washington Avenue and Forteeth Street", {"Washington Avenue and 40th Street",
                                                   "Washington Avenue and 14th Street"}),
    ],
)  # fmt: skip
def test_heard_look_alikes_are_asked_about(locate, heard: str, labels: set[str]) -> None:
    match = locate(heard)
    assert match.ambiguous and not match.confident, match
    assert {c.label for c in match.candidates[:2]} == labels


@pytest.mark.parametrize(
    "heard", ["37th Street and Boyle Street", "It's at 578 Dent Street", "744th Street"]
)
def test_heard_places_the_city_lacks_are_not_read_back(locate, heard: str) -> None:
    """A corner with a street the city lacks, a street that is no street: never confident."""
    assert not locate(heard).confident


def test_a_city_with_no_places_matches_nothing() -> None:
    geocoder = Geocoder(CityPlaces(city="Nowhere"))
    assert geocoder.locate("42 Lark Street").candidates == []
    assert geocoder.locate("corner of Lark and 12th").problem == "no_street"
    assert geocoder.vocabulary().streets == []


def test_a_street_without_geometry_is_left_out(riverton) -> None:
    """Nothing to place it on: it is not offered (a made-up point would be a lie)."""
    bare = Street("Nowhere Lane", ways=((),))
    geocoder = Geocoder(replace(riverton, streets=[*riverton.streets, bare]))
    assert geocoder.locate("nowhere lane").candidates == []
    assert geocoder.locate("lark street").best is not None


def test_a_house_number_with_a_letter(locate) -> None:
    match = locate("54B Oak Street")  # the register has 54: the point of 54, not exact
    assert match.best is not None and match.best.label == "54B Oak Street"
    assert match.best.kind is PlaceKind.ADDRESS and 0.9 <= match.best.confidence < 1.0
