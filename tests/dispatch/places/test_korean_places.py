"""Korean places on the Korean demo city's real data (data/places/gwangju-ko.*: 30 roads,
4,740 building numbers, 광주시청, 광주역, 경안시장), as `dutyline places import` reads it:
what a Korean recognizer writes -> the city's place.

Every candidate of every answer is checked against the data (`assert_real`). The demo
city's roads run side by side and never meet, and it has no 번길 side road: the corner and
side-road phrasings are also tested on the same files with two roads added (`crossed`).
"""

from __future__ import annotations

import gzip
import random
import statistics
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatch.contract import PlaceKind, PlaceMatch
from dispatch.places.city import CityPlaces
from dispatch.places.geocoder import Geocoder
from dispatch.places.importer import PlaceSource, read_city
from dispatch.places.index import Point
from dispatch.places.korean import parse_korean
from dispatch.places.korean_names import jamo, korean_similarity, label_parts
from tests.dispatch.places.place_facts import PLACES, assert_real, metres

OSM, ADDRESSES = PLACES / "gwangju-ko.osm", PLACES / "gwangju-ko-addresses.csv.gz"


@pytest.fixture(scope="module")
def gwangju() -> CityPlaces:
    city, _ = read_city(PlaceSource("Gwangju", (OSM, ADDRESSES)))  # no aliases: names alone
    return city


@pytest.fixture(scope="module")
def geocoder(gwangju: CityPlaces) -> Geocoder:
    return Geocoder(gwangju)


@pytest.fixture(scope="module")
def locate(geocoder: Geocoder, gwangju: CityPlaces) -> Callable[[str], PlaceMatch]:
    def run(said: str) -> PlaceMatch:
        match = geocoder.locate(said)
        assert_real(match, gwangju)
        return match

    return run


# --- numbers as Koreans say them ----------------------------------------------------------

_DIGITS = "영일이삼사오육칠팔구"


def sino_groups(n: int) -> list[str]:
    """123 -> ["백", "이십", "삼"]: Sino-Korean, a 1 before a unit unsaid (백, not 일백)."""
    groups = []
    for unit, word in ((1000, "천"), (100, "백"), (10, "십")):
        digit, n = divmod(n, unit)
        if digit:
            groups.append(("" if digit == 1 else _DIGITS[digit]) + word)
    return groups + ([_DIGITS[n]] if n else [])


FORMS: dict[str, Callable[[str, str], str]] = {
    "digits": lambda road, n: f"{road} {n}",
    "digits_particle": lambda road, n: f"{road} {n}번이요",
    "filler_particle": lambda road, n: f"음 {road} 쪽 {n}에요",
    "sino": lambda road, n: f"{road} {''.join(sino_groups(int(n)))}",
    "sino_spaced": lambda road, n: f"{road} {' '.join(sino_groups(int(n)))}번지",
    "sino_particle": lambda road, n: f"{road}에 {''.join(sino_groups(int(n)))}번 앞이요",
    "one_by_one": lambda road, n: f"{road} {' '.join(n)}",
}


def test_sino_korean_words() -> None:
    assert sino_groups(123) == ["백", "이십", "삼"]
    assert sino_groups(10) == ["십"] and sino_groups(158) == ["백", "오십", "팔"]
    assert sino_groups(1) == ["일"] and sino_groups(2001) == ["이천", "일"]


def test_random_addresses_in_korean_spoken_forms(gwangju, locate, record_figures) -> None:
    """64 building numbers drawn at random, each said three ways of FORMS: the street, the
    number and the point (within 50 m) measured, printed and held to floors."""
    rng = random.Random(1414)
    points = rng.sample(gwangju.addresses, 64)
    outcome: Counter[str] = Counter()
    by_form: Counter[tuple[str, bool]] = Counter()
    misses = []
    timings: list[float] = []
    for point in points:
        for form in rng.sample(sorted(FORMS), 3):
            said = FORMS[form](point.street, point.number)
            started = time.perf_counter()
            match = locate(said)
            timings.append((time.perf_counter() - started) * 1000)
            best = match.best if match.confident else None
            street = best is not None and best.street == point.street
            number = street and best is not None and best.number == point.number
            near = best is not None and metres((best.lat, best.long), (point.lat, point.long)) <= 50
            outcome.update(
                {"said": 1, "street": street, "number": number, "within_50m": near,
                 "wrong_street": best is not None and not street}
            )  # fmt: skip
            by_form[(form, bool(number))] += 1
            if not number:
                misses.append((said, best.label if best else match.problem))
    said = outcome["said"]
    figures = {
        "phrases": said,
        "street_right": round(outcome["street"] / said, 3),
        "number_right": round(outcome["number"] / said, 3),
        "within_50m": round(outcome["within_50m"] / said, 3),
        "confidently_wrong_street": outcome["wrong_street"],
        "number_right_by_form": {
            form: f"{by_form[(form, True)]}/{by_form[(form, True)] + by_form[(form, False)]}"
            for form in sorted(FORMS)
        },
        "locate_p95_ms": round(statistics.quantiles(timings, n=20)[18], 2),
        "misses": misses[:8],
    }
    record_figures("geocoder_korean_addresses", figures)
    assert said == 192
    assert figures["street_right"] >= 0.98, figures
    assert figures["number_right"] >= 0.98, figures
    assert figures["within_50m"] >= 0.98, figures
    assert outcome["wrong_street"] == 0, figures


@pytest.mark.parametrize(
    "said",
    [
        "경안로 123",
        "경안로 123번",
        "경안로 백이십삼",
        "경안로 백 이십 삼번지",
        "경안로 123에요",
        "경안로 123번 앞이요",
        "음 경안로 쪽 123",
        "경안로 1 2 3",
        "경안로 일이삼",
        "경안로123",
        "경안로에 백이십삼번지요",
        "주소는 경안로 123입니다",
        "경기도 광주시 경안로 123",
        "저기요 여기 경안로 123번이에요",
    ],
)
def test_a_road_name_address_as_callers_say_it(locate, said: str) -> None:
    match = locate(said)
    assert match.confident and match.best is not None, match
    assert match.best.label == "경안로 123" and match.best.kind is PlaceKind.ADDRESS
    assert (match.best.street, match.best.number) == ("경안로", "123")


@pytest.mark.parametrize(
    "said", ["경안로 12-3", "경안로 12 - 3", "경안로 십이 다시 삼", "경안로 십이의 삼"]
)
def test_main_and_sub_building_numbers(gwangju, locate, said: str) -> None:
    """본번-부번: the data has main numbers only, so 12-3 stands at 12, a little less sure."""
    match = locate(said)
    best = match.best
    assert match.confident and best is not None, match
    assert (best.label, best.number) == ("경안로 12-3", "12-3")
    twelve = next(p for p in gwangju.addresses if (p.street, p.number) == ("경안로", "12"))
    assert metres((best.lat, best.long), (twelve.lat, twelve.long)) < 1.0
    assert 0.9 <= best.confidence < 1.0


def test_a_number_the_road_does_not_have_is_no_address(locate) -> None:
    for said in ("경안로 900", "경안로 구백"):  # every road here has 1 to 158
        match = locate(said)
        assert match.problem == "no_number" and not match.confident, match
        assert all(c.kind is PlaceKind.STREET for c in match.candidates)


def test_an_old_lot_address_is_a_clear_no_match(locate) -> None:
    """지번 ("경안동 123-4"): the city's data has road-name addresses only."""
    for said in ("경안동 123-4", "경안동 백이십삼번지", "송정동 12-3번지요"):
        match = locate(said)
        assert match.candidates == [] and match.problem == "no_street", match


def test_a_side_road_the_city_lacks_is_not_its_main_road(locate) -> None:
    """ "경안로12번길 5": the demo city has no 번길 road; 경안로 5 would be somewhere else."""
    for said in ("경안로12번길 5", "경안로 십이번길 오", "경안로 12번길 5번지"):
        match = locate(said)
        assert not match.confident and match.problem == "no_street", match
        assert all(c.kind is PlaceKind.STREET for c in match.candidates)


# --- landmarks and relative places -------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "label"),
    [
        ("광주시청", "광주시청"),
        ("광주 시청", "광주시청"),
        ("시청", "광주시청"),  # by kind: the city has one
        ("시청 앞이요", "광주시청"),
        ("시청 건너편", "광주시청"),
        ("광주역", "광주역"),
        ("역 앞", "광주역"),
        ("기차역", "광주역"),
        ("광주역 맞은편이요", "광주역"),
        ("시장", "경안시장"),
        ("경안시장 근처", "경안시장"),
        ("전통시장 옆", "경안시장"),
        ("중앙로에 있는 시장", "경안시장"),  # a kind of place on its road
        ("중앙로 시장", "경안시장"),
        ("회안대로 역", "광주역"),
    ],
)
def test_landmarks_by_name_and_kind(locate, said: str, label: str) -> None:
    match = locate(said)
    assert match.confident and match.best is not None, match
    assert match.best.label == label and match.best.kind is PlaceKind.LANDMARK


def test_a_landmark_not_on_the_road_said_is_unsure(locate) -> None:
    match = locate("경안로 시장")  # 경안시장 is on 중앙로, some 500 m from 경안로
    assert not match.confident


@pytest.mark.parametrize("said", ["학교", "초등학교", "병원", "공원", "주유소", "편의점"])
def test_kinds_of_place_the_city_lacks_match_nothing(locate, said: str) -> None:
    assert locate(said).candidates == []


@pytest.mark.parametrize("said", ["중앙로 시장 근처", "시장 근처 중앙로", "중앙로 경안시장 앞"])
def test_a_road_near_a_landmark_is_its_point_nearest_the_landmark(
    gwangju, geocoder, locate, said: str
) -> None:
    match = locate(said)
    best = match.best
    assert match.confident and best is not None and best.kind is PlaceKind.NEAR, match
    assert best.label == "경안시장 근처 중앙로" and best.street == "중앙로"
    market = next(lm for lm in gwangju.landmarks if lm.name == "경안시장")
    road = next(s for s in gwangju.streets if s.name == "중앙로")
    found = metres((best.lat, best.long), (market.lat, market.long))
    assert all(metres(v, (market.lat, market.long)) >= found - 0.5 for w in road.ways for v in w)
    _, off_road = geocoder.index.nearest_on_street("중앙로", Point(best.lat, best.long))
    assert off_road < 0.5


# --- misheard road names -----------------------------------------------------------------------


def test_jamo_compare_sounds_not_syllables() -> None:
    assert len(jamo("경안로")) == 8  # ᄀ ᅧ ᆼ ᄋ ᅡ ᆫ ᄅ ᅩ
    assert unicodedata.normalize("NFC", jamo("경안로")) == "경안로"
    # one sound off (ㄹ heard as ㄴ) is closer than a syllable more
    assert korean_similarity("경안노", "경안로") > 0.9 > korean_similarity("경안노", "경안천로")


@pytest.mark.parametrize(
    ("said", "label"),
    [
        ("경안노 12", "경안로 12"),
        ("중앙노 백", "중앙로 100"),
        ("탄벌기 7", "탄벌길 7"),
        ("겅안로 십이", "경안로 12"),
        ("남한산선로 34", "남한산성로 34"),
        ("곤지앙로 5", "곤지암로 5"),
        ("행정타은로", "행정타운로"),
    ],
)
def test_misheard_roads_snap_to_the_citys(locate, said: str, label: str) -> None:
    match = locate(said)
    assert match.confident and match.best is not None, match
    assert match.best.label == label


def test_two_close_roads_are_asked_about(locate) -> None:
    match = locate("광주로 5")  # 광주대로 or 광주역로?
    assert match.ambiguous and not match.confident, match
    assert {c.label for c in match.candidates[:2]} == {"광주대로 5", "광주역로 5"}


def _change_one_jamo(name: str, rng: random.Random) -> str:
    """One sound of the road's name (not its 로/길) changed at random."""
    at = rng.randrange(len(name) - 1)
    code = ord(name[at]) - 0xAC00
    parts = [code // 588, code % 588 // 28, code % 28]  # leading, vowel, trailing
    which = rng.choice([0, 1, 2] if parts[2] else [0, 1])
    parts[which] = rng.choice([v for v in range((19, 21, 28)[which]) if v != parts[which]])
    syllable = chr(0xAC00 + parts[0] * 588 + parts[1] * 28 + parts[2])
    return name[:at] + syllable + name[at + 1 :]


def test_random_one_sound_slips(gwangju, locate, record_figures) -> None:
    """Every road with a sound of its name changed at random (two draws each), said with a
    number: snapped back, asked about, or left unsure; never confidently another road."""
    rng = random.Random(77)
    roads = sorted({s.name for s in gwangju.streets})
    outcome: Counter[str] = Counter()
    wrong = []
    for road in roads:
        for _ in range(2):
            heard = _change_one_jamo(road, rng)
            if heard in roads:
                continue  # the slip made another real road: not a slip the matcher can see
            point = rng.choice([p for p in gwangju.addresses if p.street == road])
            match = locate(f"{heard} {point.number}")
            labels = [c.label for c in match.candidates]
            meant = f"{road} {point.number}"
            if match.confident and labels[0] == meant:
                outcome["right"] += 1
            elif match.confident:
                outcome["wrong"] += 1
                wrong.append((heard, labels[0], meant))
            elif meant in labels[:3]:
                outcome["offered"] += 1  # unsure or ambiguous: the dialogue asks
            else:
                outcome["missed"] += 1
    total = sum(outcome.values())
    figures = {"slips": total, **{k: round(v / total, 3) for k, v in outcome.items()}}
    record_figures("geocoder_korean_misheard", {**figures, "wrong": wrong})
    assert total >= 55
    assert outcome["wrong"] == 0, figures
    assert (outcome["right"] + outcome["offered"]) / total >= 0.9, figures
    assert outcome["right"] / total >= 0.5, figures


# --- not places -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "said",
    [
        "여기",
        "여기요",
        "우리 집 앞",
        "동네",
        "우리 동네",
        "이 근처",
        "거기",
        "집 앞이요",
        "저기 앞",
    ],
)
def test_here_and_home_are_never_a_place(locate, said: str) -> None:
    match = locate(said)
    assert match.candidates == [] and match.problem == "vague", match


@pytest.mark.parametrize("said", ["", "  ", "음", "어 저기요"])
def test_nothing_said_is_empty_or_vague(locate, said: str) -> None:
    match = locate(said)
    assert match.candidates == [] and match.problem in ("empty", "vague")


def test_any_korean_words_get_an_answer_made_of_real_places(geocoder, gwangju) -> None:
    words = " ".join(
        (
            "경안로 중앙로 광주대로 탄벌길 12 123 1 2 - 십이 백 이십 삼번지 번길 다시 의 와 랑",
            "사거리 교차로 만나는 곳 근처 앞 건너편 있는 시청 역 시장 여기 우리 집 동네 경안동",
            "음 요 이에요 lark street 경안로12번길 0 99999",
        )
    ).split()
    rng = random.Random(3)
    for _ in range(2000):
        said = " ".join(rng.choice(words) for _ in range(rng.randint(0, 6)))
        if rng.random() < 0.3:
            said = said.replace(" ", "")
        assert_real(geocoder.locate(said), gwangju)


def test_the_city_s_own_names_from_an_aliases_file(tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("Gwangju:\n  장터: 경안시장\n  기차 정거장: 광주역\n", encoding="utf-8")
    city, _ = read_city(PlaceSource("Gwangju", (OSM, ADDRESSES), aliases))
    geocoder = Geocoder(city)
    for said, label in (("장터", "경안시장"), ("기차 정거장", "광주역")):
        match = geocoder.locate(said)
        assert_real(match, city)
        assert match.confident and match.best is not None and match.best.label == label


# --- corners and side roads (two roads added to the same files) -------------------------------

_ADDED_OSM = """
  <node id="9001" version="1" lat="37.4080000" lon="127.2600000"/>
  <node id="9002" version="1" lat="37.4460000" lon="127.2600000"/>
  <way id="9003" version="1"><nd ref="9001"/><nd ref="9002"/>
    <tag k="highway" v="secondary"/><tag k="name" v="새마을로"/></way>
  <node id="9004" version="1" lat="37.4100900" lon="127.2530000"/>
  <node id="9005" version="1" lat="37.4080000" lon="127.2530000"/>
  <way id="9006" version="1"><nd ref="9004"/><nd ref="9005"/>
    <tag k="highway" v="residential"/><tag k="name" v="경안로12번길"/></way>
"""  # fmt: skip


@pytest.fixture(scope="module")
def crossed(tmp_path_factory: pytest.TempPathFactory) -> CityPlaces:
    """The demo city plus 새마을로 (north-south across the western roads) and 경안로12번길
    (a side road off 경안로 near its number 12) with five buildings."""
    folder = tmp_path_factory.mktemp("crossed")
    osm = folder / "gwangju-crossed.osm"
    osm.write_text(OSM.read_text(encoding="utf-8").replace("</osm>", _ADDED_OSM + "</osm>"),
                   encoding="utf-8")  # fmt: skip
    addresses = folder / "addresses.csv.gz"
    rows = gzip.decompress(ADDRESSES.read_bytes()).decode("utf-8").rstrip("\n").split("\n")
    for n in range(1, 6):
        lat = 37.4098 - 0.0003 * n
        rows.append(f"127.2530,{lat:.6f},{n},경안로12번길,,광주시,,경기도,12700,{9000 + n},x{n}")
    addresses.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode("utf-8")))
    city, _ = read_city(PlaceSource("Gwangju", (osm, addresses)))
    return city


@pytest.mark.parametrize(
    ("said", "roads"),
    [
        ("경안로와 새마을로 사거리", {"경안로", "새마을로"}),
        ("경안로 새마을로 교차로", {"경안로", "새마을로"}),
        ("경안로랑 새마을로 만나는 곳", {"경안로", "새마을로"}),
        ("새마을로하고 중앙로 교차하는 데요", {"중앙로", "새마을로"}),
        ("광주대로와 새마을로 삼거리요", {"광주대로", "새마을로"}),
        ("음 회안대로 새마을로 사거리 쪽이요", {"회안대로", "새마을로"}),
        ("중앙노랑 새마을로 만나는 곳", {"중앙로", "새마을로"}),  # misheard
    ],
)
def test_corners_in_korean_phrasings(crossed, said: str, roads: set[str]) -> None:
    match = Geocoder(crossed).locate(said)
    assert_real(match, crossed)
    best = match.best
    assert match.confident and best is not None and best.kind is PlaceKind.INTERSECTION, match
    parts = label_parts(best.label)
    assert parts is not None and set(parts) == roads
    assert best.label.endswith(" 교차로")  # read back in Korean, not "… and …"


def test_roads_that_never_meet_make_no_corner(locate) -> None:
    match = locate("경안로와 중앙로 사거리")  # side by side in the demo city
    assert match.candidates and not match.confident
    assert {c.label for c in match.candidates[:2]} == {"경안로", "중앙로"}
    assert all(c.kind is PlaceKind.STREET for c in match.candidates)


@pytest.mark.parametrize("said", ["경안로12번길 5", "경안로 십이번길 오", "경안로 12번길 5번지요"])
def test_a_side_road_address(crossed, said: str) -> None:
    match = Geocoder(crossed).locate(said)
    assert_real(match, crossed)
    assert match.confident and match.best is not None, match
    assert match.best.label == "경안로12번길 5" and match.best.kind is PlaceKind.ADDRESS
    other = Geocoder(crossed).locate("경안로13번길 5")  # 13번길 is never 12번길
    assert not other.confident and all(c.street != "경안로12번길" for c in other.candidates)


def test_parse_shapes() -> None:
    """The parts read from the sentence, before any matching."""
    assert parse_korean("경안로 백 이십 삼번지").number == "123"
    assert parse_korean("경안로 이에요").number is None  # 경안로이에요: "it is 경안로"
    assert parse_korean("사이").number is None
    spoken = parse_korean("경안로와 중앙로 사이")
    assert (spoken.first, spoken.second) == ("경안로", "중앙로")
