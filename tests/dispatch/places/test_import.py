"""Importing a city's places: Riverton from the repository's data (OSM XML and .osm.pbf,
OpenAddresses CSV) into SQLite and PostgreSQL, through seeding, the importer and the CLI;
re-import is idempotent and never shows a reader half a city; bad input gets a clear
error or is skipped and counted; the Korean demo city loads through the same code."""

from __future__ import annotations

import csv
import gzip
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import osmium
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from dispatch.db import make_engine, upgrade
from dispatch.places.addresses import AddressFormatError, read_addresses
from dispatch.places.city import CityPlaces
from dispatch.places.importer import (
    PlacesImportError,
    PlaceSource,
    forget_cached_files,
    import_city,
    read_city,
    seed_places,
)
from dispatch.places.osm import OsmFormatError
from dispatch.places.store import city_counts, city_generation, load_city, save_city
from dispatch.seed import seed
from dutyline.settings import ROOT
from tests.conftest import postgres_database
from tests.dispatch.conftest import BACKENDS

PLACES = ROOT / "data" / "places"
RIVERTON = PlaceSource(
    "Riverton",
    (PLACES / "riverton.osm", PLACES / "riverton-addresses.csv.gz"),
    PLACES / "aliases.yaml",
)
GWANGJU = PlaceSource(
    "Gwangju",
    (PLACES / "gwangju-ko.osm", PLACES / "gwangju-ko-addresses.csv.gz"),
    PLACES / "aliases.yaml",
)


@pytest.fixture(scope="module", params=BACKENDS)
def places_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database per backend for this module, migrated and seeded as set-up does."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('places') / 'dutyline.db'}"
        upgrade(url)
        engine = make_engine(url)
        seed(engine, ROOT / "data")
        engine.dispose()
        yield url
        return
    with postgres_database() as url:
        upgrade(url)
        engine = make_engine(url)
        seed(engine, ROOT / "data")
        engine.dispose()
        yield url


@pytest.fixture
def engine(places_url: str) -> Iterator[Engine]:
    engine = make_engine(places_url)
    yield engine
    engine.dispose()


def _riverton_csv() -> list[dict[str, str]]:
    with gzip.open(PLACES / "riverton-addresses.csv.gz", "rt", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- Riverton, as set-up leaves it -------------------------------------------------------


def test_seeding_imports_riverton_with_its_streets_addresses_and_ranges(engine: Engine) -> None:
    city = load_city(engine, "Riverton")
    assert city is not None and city_generation(engine, "Riverton") is not None
    rows = _riverton_csv()
    # 300 named ways: 5th Street is two (the street and its bridge), so 299 streets.
    assert len(city.streets) == 299
    by_name = {s.name: s for s in city.streets}
    assert len(by_name["5th Street"].ways) == 2
    assert by_name["Route 9"].ref == "NY 9" and by_name["Route 9"].highway == "primary"
    assert len(by_name["Route 9"].ways[0]) == 4  # the geometry, vertex by vertex
    assert len(city.addresses) == len(rows) == 38_946
    assert {a.street for a in city.addresses} <= set(by_name)
    lark = [int(r["NUMBER"]) for r in rows if r["STREET"] == "Lark Street"]
    ranges = {r.street: r for r in city.ranges}
    assert (ranges["Lark Street"].low, ranges["Lark Street"].high) == (min(lark), max(lark))
    assert ranges["Lark Street"].count == len(lark)
    assert "River Path" not in ranges  # a path with no addresses has no range


def test_intersections_come_from_the_geometry(engine: Engine) -> None:
    city = load_city(engine, "Riverton")
    assert city is not None
    corners = {}
    for crossing in city.intersections:
        corners.setdefault(crossing.streets, []).append(crossing)
    streets = {s.name: s for s in city.streets}
    # Lark Street runs north-south, 12th Street east-west: they cross where their
    # coordinates say, once.
    (lark_12th,) = corners[("12th Street", "Lark Street")]
    assert lark_12th.long == pytest.approx(streets["Lark Street"].ways[0][0][1], abs=1e-6)
    assert lark_12th.lat == pytest.approx(streets["12th Street"].ways[0][0][0], abs=1e-6)
    assert ("5th Street", "State Street") in corners
    # Parallel streets never meet (the old gazetteer had Pearl & State as a corner).
    assert ("Lark Street", "State Street") not in corners
    assert ("Pearl Street", "State Street") not in corners
    # 5th Street's bridge passes over Route 9: their lines cross, the streets do not meet.
    assert ("5th Street", "Route 9") not in corners
    assert len(corners) == len(city.intersections) > 1000


def test_landmarks_have_categories_and_streets(engine: Engine) -> None:
    city = load_city(engine, "Riverton")
    assert city is not None
    landmarks = {lm.name: lm for lm in city.landmarks}
    assert {
        name: landmarks[name].category
        for name in ("City Hall", "Union Station", "Riverside Park", "Shell", "Memorial Hospital")
    } == {
        "City Hall": "townhall",
        "Union Station": "station",
        "Riverside Park": "park",
        "Shell": "fuel",
        "Memorial Hospital": "hospital",
    }
    library = landmarks["Harbor Road Public Library"]
    assert (library.street, library.number) == ("Harbor Road", "54")  # its addr:* tags
    street_names = {s.name for s in city.streets}
    assert all(lm.street in street_names for lm in city.landmarks)  # else the nearest street
    aliases = {a.alias: a.target for a in city.aliases}
    assert aliases["town hall"] == "City Hall"
    assert aliases["the station"] == aliases["train station"] == "Union Station"
    assert aliases["main library"] == "Central Library"
    assert aliases["the hospital"] == "Memorial Hospital"
    assert aliases["high school"] == "Riverton High School"


# --- re-importing ---------------------------------------------------------------------------


def test_reimport_is_idempotent_and_leaves_other_cities_alone(engine: Engine) -> None:
    import_city(engine, GWANGJU)
    before = load_city(engine, "Riverton")
    first = {c.city: c for c in city_counts(engine)}
    generation = city_generation(engine, "Riverton")
    assert generation is not None
    for _ in range(2):
        report = import_city(engine, RIVERTON)
    again = {c.city: c for c in city_counts(engine)}
    assert report.generation == generation + 2 == again["Riverton"].generation
    counted = ("streets", "addresses", "ranges", "intersections", "landmarks", "aliases")
    for city in ("Riverton", "Gwangju"):
        assert [getattr(first[city], n) for n in counted] == [
            getattr(again[city], n) for n in counted
        ]
    assert again["Gwangju"].generation == first["Gwangju"].generation
    assert load_city(engine, "Riverton") == before
    assert again["Riverton"].sources == ["riverton.osm", "riverton-addresses.csv.gz"]


def test_a_reader_never_sees_half_a_city(engine: Engine) -> None:
    whole, _ = read_city(RIVERTON)
    whole.city = "Flipville"
    # A second version that differs in every table a reader loads.
    part = CityPlaces(
        city="Flipville",
        streets=whole.streets[:100],
        addresses=whole.addresses[:5000],
        ranges=whole.ranges[:50],
        intersections=whole.intersections[:200],
        landmarks=whole.landmarks[:3],
        aliases=[],
    )

    def shape(city: CityPlaces) -> tuple[int, ...]:
        return tuple(
            len(rows)
            for rows in (city.streets, city.addresses, city.ranges, city.intersections,
                         city.landmarks)
        )  # fmt: skip

    save_city(engine, whole)
    allowed = {shape(whole), shape(part)}
    seen: list[tuple[int, ...]] = []
    done = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        # Its own connection from the pool, reading while the test thread writes.
        try:
            while not done.is_set():
                city = load_city(engine, "Flipville")
                assert city is not None
                seen.append(shape(city))
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for version in (part, whole, part, whole, part, whole):
            save_city(engine, version)
    finally:
        done.set()
        thread.join(60)
    assert not failures, failures
    assert len(seen) >= 2
    assert set(seen) <= allowed, set(seen) - allowed


def test_two_first_imports_of_a_city_at_once_both_succeed(engine: Engine) -> None:
    """Two processes seeding one new city at the same moment: they take turns."""
    city, _ = read_city(RIVERTON)  # big enough that the two transactions overlap
    city.city = "Twinville"
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def save() -> None:
        try:
            start.wait(10)
            save_city(engine, city)
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    assert city_generation(engine, "Twinville") == 2
    assert load_city(engine, "Twinville") == city


# --- formats ---------------------------------------------------------------------------------


def test_osm_pbf_imports_the_same_city(tmp_path: Path) -> None:
    pbf = tmp_path / "riverton.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    try:
        for obj in osmium.FileProcessor(str(PLACES / "riverton.osm")):
            writer.add(obj)
    finally:
        writer.close()
    assert pbf.stat().st_size < (PLACES / "riverton.osm").stat().st_size  # really binary PBF
    from_pbf = PlaceSource("Riverton", (pbf, RIVERTON.files[1]), RIVERTON.aliases)
    url = f"sqlite:///{tmp_path / 'pbf.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        report = import_city(engine, from_pbf)
        assert (report.streets, report.addresses) == (299, 38_946)
        assert load_city(engine, "Riverton") == read_city(RIVERTON)[0]
    finally:
        engine.dispose()


SMALL_EXTRACT = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" version="1" lat="40.000" lon="-75.010"/>
  <node id="2" version="1" lat="40.000" lon="-75.000"/>
  <node id="3" version="1" lat="40.000" lon="-74.990"/>
  <node id="4" version="1" lat="40.010" lon="-75.000"/>
  <node id="5" version="1" lat="39.990" lon="-74.995"/>
  <node id="6" version="1" lat="40.010" lon="-74.995"/>
  <node id="7" version="1" lat="39.990" lon="-74.992"/>
  <node id="8" version="1" lat="40.010" lon="-74.992"/>
  <node id="9" version="1" lat="40.005" lon="-75.010"/>
  <node id="10" version="1" lat="40.005" lon="-74.985"/>
  <node id="11" version="1" lat="39.995" lon="-74.985"/>
  <node id="12" version="1" lat="39.995" lon="-75.010"/>
  <node id="20" version="1" lat="40.001" lon="-75.001"/>
  <node id="21" version="1" lat="40.001" lon="-74.999"/>
  <node id="22" version="1" lat="40.002" lon="-74.999"/>
  <node id="23" version="1" lat="40.002" lon="-75.001"/>
  <node id="40" version="1" lat="39.9955" lon="-75.0055"/>
  <node id="41" version="1" lat="39.9955" lon="-75.0045"/>
  <node id="42" version="1" lat="39.9965" lon="-75.0045"/>
  <node id="43" version="1" lat="39.9965" lon="-75.0055"/>
  <node id="30" version="1" lat="40.0015" lon="-75.0001">
    <tag k="name" v="Elm Park"/><tag k="leisure" v="park"/></node>
  <node id="31" version="1" lat="39.999" lon="-74.9951">
    <tag k="name" v="Corner Cafe"/><tag k="amenity" v="cafe"/></node>
  <node id="32" version="1" lat="39.999" lon="-74.9951">
    <tag k="name" v="Bench"/></node>
  <way id="100" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="Main Street"/></way>
  <way id="101" version="1"><nd ref="2"/><nd ref="4"/>
    <tag k="highway" v="residential"/><tag k="name" v="N. Oak St"/></way>
  <way id="102" version="1"><nd ref="5"/><nd ref="6"/>
    <tag k="highway" v="residential"/><tag k="name" v="Birch Road"/></way>
  <way id="103" version="1"><nd ref="7"/><nd ref="8"/>
    <tag k="highway" v="primary"/><tag k="name" v="Tunnel Road"/><tag k="tunnel" v="yes"/></way>
  <way id="104" version="1"><nd ref="9"/><nd ref="10"/><nd ref="11"/><nd ref="12"/>
    <tag k="highway" v="residential"/><tag k="name" v="Loop Lane"/></way>
  <way id="105" version="1"><nd ref="20"/><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="20"/>
    <tag k="name" v="Elm Park"/><tag k="leisure" v="park"/></way>
  <way id="106" version="1"><nd ref="20"/><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="20"/>
    <tag k="name" v="Old Mill"/><tag k="building" v="yes"/><tag k="historic" v="mill"/></way>
  <way id="107" version="1"><nd ref="40"/><nd ref="41"/><nd ref="42"/><nd ref="43"/><nd ref="40"/>
    </way>
  <relation id="200" version="1"><member type="way" ref="107" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="name" v="Hill School"/><tag k="amenity" v="school"/>
  </relation>
</osm>
"""


def test_a_small_extract_shows_each_rule(tmp_path: Path) -> None:
    """Shared nodes, crossings, a tunnel, a pair meeting twice, outlines as landmarks."""
    osm = tmp_path / "small.osm"
    osm.write_text(SMALL_EXTRACT)
    addresses = tmp_path / "small.csv"
    addresses.write_text(
        "LON,LAT,NUMBER,STREET,UNIT\n"
        "-75.005,40.0001,12,MAIN ST,\n-74.995,40.0001,40B,Main Street,2\n"
        "-75.0001,40.005,7,North Oak Street,\n-75.2,40.1,3,Nowhere Road,\n"
    )
    city, report = read_city(PlaceSource("Testville", (osm, addresses)))
    streets = {s.name for s in city.streets}
    assert streets == {"Main Street", "N. Oak St", "Birch Road", "Tunnel Road", "Loop Lane"}
    corners = {}
    for crossing in city.intersections:
        corners.setdefault(crossing.streets, []).append((crossing.lat, crossing.long))
    # Main Street and Oak share node 2 (a T-junction): one corner, at the node.
    assert corners[("Main Street", "N. Oak St")] == [(40.0, -75.0)]
    # Birch Road crosses Main Street without a shared node: computed from the segments.
    ((lat, long),) = corners[("Birch Road", "Main Street")]
    assert (lat, long) == (pytest.approx(40.0, abs=1e-6), pytest.approx(-74.995, abs=1e-6))
    # A tunnel passes under Main Street.
    assert ("Main Street", "Tunnel Road") not in corners
    # Loop Lane meets Birch Road twice, 1.1 km apart: two intersections.
    assert len(corners[("Birch Road", "Loop Lane")]) == 2
    # Abbreviated spellings of the address file go to the map's street.
    assert {(a.number, a.street) for a in city.addresses} >= {
        ("12", "Main Street"),
        ("40B", "Main Street"),
        ("7", "N. Oak St"),
    }
    assert report.addresses_off_map == 1  # Nowhere Road: kept under its own name
    ranges = {r.street: (r.low, r.high, r.count) for r in city.ranges}
    assert ranges["Main Street"] == (12, 40, 2)
    landmarks = {lm.name: lm for lm in city.landmarks}
    # Elm Park is mapped as a node and as an outline: one landmark. The unnamed-category
    # "Bench" is no landmark; the mill's outline is (historic before building).
    assert set(landmarks) == {"Corner Cafe", "Elm Park", "Old Mill", "Hill School"}
    assert landmarks["Old Mill"].category == "mill"
    assert landmarks["Corner Cafe"].street == "Birch Road"  # the nearest street
    # A school drawn as a multipolygon relation: a landmark at its outline's centre.
    school = landmarks["Hill School"]
    assert (school.category, school.street) == ("school", "Loop Lane")
    assert (school.lat, school.long) == (pytest.approx(39.996), pytest.approx(-75.005))


def test_bad_address_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    text = (
        "LON,LAT,NUMBER,STREET,UNIT,CITY\n"
        "-73.76,42.65,10,Lark Street,,Riverton\n"
        "-73.76,42.65,,Lark Street,,Riverton\n"  # no number
        "east,42.65,12,Lark Street,,Riverton\n"  # not a number
        "-73.76,142.65,14,Lark Street,,Riverton\n"  # not on Earth
        "-73.76,42.65,16,,,Riverton\n"  # no street
        "-73.76,42.65\n"  # cut short
        "-73.76,42.651,18,Lark Street,2B,Riverton\n"
    )
    for name, data in (("bad.csv", text.encode()), ("bad.csv.gz", gzip.compress(text.encode()))):
        path = tmp_path / name
        path.write_bytes(data)
        read = read_addresses(path)
        assert [(p.number, p.unit) for p in read.points] == [("10", None), ("18", "2B")]
        assert read.skipped == 5
        assert read.problems[0] == f"{name}:3: no NUMBER"
        assert "LON/LAT not numbers" in read.problems[1] and "out of range" in read.problems[2]


def test_files_that_are_not_place_data_get_a_clear_error(tmp_path: Path) -> None:
    not_addresses = tmp_path / "people.csv"
    not_addresses.write_text("name,phone\nAda,555\n")
    with pytest.raises(AddressFormatError, match=r"people.csv: not an OpenAddresses CSV: no col"):
        read_addresses(not_addresses)
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\xfd")
    with pytest.raises(AddressFormatError, match=r"image.csv: not an OpenAddresses CSV"):
        read_addresses(binary)
    not_osm = tmp_path / "notes.osm"
    not_osm.write_text("these are my notes, not a map\n")
    with pytest.raises(OsmFormatError, match=r"notes.osm: not OpenStreetMap data"):
        read_city(PlaceSource("X", (not_osm,)))
    fake_pbf = tmp_path / "city.osm.pbf"
    fake_pbf.write_bytes(b"\x00" * 64)
    with pytest.raises(OsmFormatError, match=r"city.osm.pbf: not OpenStreetMap data"):
        read_city(PlaceSource("X", (fake_pbf,)))
    other = tmp_path / "city.json"
    other.write_text("{}")
    with pytest.raises(PlacesImportError, match=r"city.json: not a place file"):
        read_city(PlaceSource("X", (other,)))
    with pytest.raises(PlacesImportError, match="no named streets"):
        read_city(PlaceSource("X", (PLACES / "riverton-addresses.csv.gz",)))


# --- the Korean demo city ----------------------------------------------------------------------


def test_korean_road_names_and_building_numbers_load(engine: Engine) -> None:
    import_city(engine, GWANGJU)
    city = load_city(engine, "Gwangju")
    assert city is not None
    names = {s.name for s in city.streets}
    assert len(names) == 30
    assert all(name.endswith(("로", "길")) for name in names)
    assert {"경안로", "광주대로", "탄벌길"} <= names
    assert len(city.addresses) == 4_740
    numbers = {(a.number, a.street) for a in city.addresses}
    assert ("1", "경안로") in numbers and ("2", "경안로") in numbers
    assert {r.street for r in city.ranges} == names
    landmarks = {lm.name: lm.category for lm in city.landmarks}
    assert landmarks == {"광주시청": "townhall", "광주역": "station", "경안시장": "marketplace"}
    assert {a.alias: a.target for a in city.aliases}["시청"] == "광주시청"
    # Riverton is still there, whole.
    riverton = load_city(engine, "Riverton")
    assert riverton is not None and len(riverton.addresses) == 38_946


# --- seeding and the command line ------------------------------------------------------------


def test_seeding_skips_a_city_already_there_and_names_missing_files(
    engine: Engine, tmp_path: Path
) -> None:
    generation = city_generation(engine, "Riverton")
    assert seed_places(engine, RIVERTON) is None
    assert city_generation(engine, "Riverton") == generation
    missing = PlaceSource("Elsewhere", (tmp_path / "elsewhere.osm",))
    with pytest.raises(PlacesImportError, match=r"place files of Elsewhere are missing: .*else"):
        seed_places(engine, missing)


def test_cli_imports_and_shows(
    places_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dutyline.cli import app

    runner = CliRunner()
    monkeypatch.setenv("DUTYLINE_DATABASE_URL", places_url)
    gwangju = [str(p) for p in GWANGJU.files]
    result = runner.invoke(app, ["places", "import", *gwangju, "--city", "Gwangju"])
    assert result.exit_code == 0, result.output
    assert "4740" in result.output and "Gwangju" in result.output
    shown = runner.invoke(app, ["places", "show"])
    assert shown.exit_code == 0, shown.output
    assert "Riverton" in shown.output and "38946" in shown.output and "Gwangju" in shown.output
    notes = tmp_path / "notes.osm"
    notes.write_text("not a map")
    failed = runner.invoke(app, ["places", "import", str(notes), "--city", "Gwangju"])
    assert failed.exit_code == 1
    assert "not OpenStreetMap data" in " ".join(failed.output.split())
    monkeypatch.setenv("DUTYLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    unmigrated = runner.invoke(app, ["places", "show"])
    assert unmigrated.exit_code == 1 and "dutyline migrate" in unmigrated.output


def test_import_time(engine: Engine, record_figures) -> None:
    """Re-importing Riverton from its files (read, build, check aliases, save), measured."""
    forget_cached_files()  # the whole import, as `dutyline places import` does it
    started = time.perf_counter()
    report = import_city(engine, RIVERTON)
    elapsed = time.perf_counter() - started
    record_figures(
        f"places import Riverton ({engine.dialect.name})",
        f"{elapsed:.2f} s (read {report.read_seconds:.2f} s, save {report.save_seconds:.2f} s)",
    )
    assert report.addresses == 38_946
    assert report.save_seconds < 20  # a stuck transaction, not a slow machine


def test_seeding_a_fresh_sqlite_database_costs_little(tmp_path: Path, record_figures) -> None:
    """Many tests build a fresh database; the city's places must not make that slow."""
    read_city(RIVERTON)  # this process has read the files once (the cache)
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        started = time.process_time()
        report = seed_places(engine, RIVERTON)
        spent = time.process_time() - started
    finally:
        engine.dispose()
    assert report is not None and report.addresses == 38_946
    record_figures("places seeding per fresh SQLite database (CPU)", f"{spent:.3f} s")
    assert spent < 1.5


def test_place_files_setting_takes_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dispatch.settings import DispatchSettings

    monkeypatch.setenv("DUTYLINE_PLACES_FILES", "places/a.osm.pbf, /srv/city/addresses.csv.gz")
    settings = DispatchSettings(_env_file=None, data_dir=Path("/data"))  # type: ignore[call-arg]
    assert settings.places_paths == [
        Path("/data/places/a.osm.pbf"),
        Path("/srv/city/addresses.csv.gz"),
    ]
    assert PlaceSource.from_settings(settings).files == tuple(settings.places_paths)


def test_csv_reader_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    buffer = io.StringIO()
    buffer.write("\ufefflon,lat,number,street\n-73.7,42.6,5,Lark Street\n")
    path.write_text(buffer.getvalue(), encoding="utf-8")
    assert [p.number for p in read_addresses(path).points] == ["5"]
