"""The lines (dispatch/lines.py): data/lines.yaml read, a bad file refused with its reason,
the older single-line settings still working, and each line's city geocoded through the
service on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatch.db import make_engine
from dispatch.lines import Line, LinesError, lines_of, load_lines, normalized_number
from dispatch.places.importer import read_city, seed_places
from dispatch.service import DispatchService
from dutyline.settings import Settings
from nlu.rasa_servers import rasa_locales
from tests.conftest import make_settings, migrate_and_seed, postgres_database

DATA = Path(__file__).resolve().parents[2] / "data"

CITIES = """
cities:
  Riverton:
    files: [places/riverton.osm, places/riverton-addresses.csv.gz]
  Gwangju:
    files: [places/gwangju-ko.osm, places/gwangju-ko-addresses.csv.gz]
    aliases: places/aliases-ko.yaml
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lines.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_repository_lines_answer_english_and_korean() -> None:
    lines = load_lines(DATA / "lines.yaml", DATA)
    assert lines.locales == ("en", "ko")
    assert [city.name for city in lines.cities] == ["Riverton", "Gwangju"]
    lines.check_locales(rasa_locales())  # every line's locale has a Rasa project
    assert lines.for_number("+15555550100") == Line(
        "+15555550100", "en", "Riverton", "Riverton night line"
    )
    korean = lines.for_number("+82 31-555-0100")  # spaced as people write it: still the line
    assert (korean.locale, korean.city) == ("ko", "Gwangju")
    assert lines.city_of_locale("ko") == "Gwangju"
    gwangju = lines.city("Gwangju")
    assert gwangju.files == (
        DATA / "places/gwangju-ko.osm",
        DATA / "places/gwangju-ko-addresses.csv.gz",
    )
    assert all(path.is_file() for city in lines.cities for path in city.files)


def test_unknown_or_missing_called_number_gets_the_first_line_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = load_lines(DATA / "lines.yaml", DATA)
    caplog.set_level(logging.WARNING, logger="dutyline.dispatch.lines")
    assert lines.for_number("+19995550000").locale == "en"
    # the caller's number masked once the app's logging is set up (dutyline/logs): its start
    assert "+1999" in caplog.text and "not a line" in caplog.text
    assert lines.for_number(None) == lines.for_number("") == lines.default


def test_the_korean_aliases_name_gwangju_places() -> None:
    city = load_lines(DATA / "lines.yaml", DATA).city("Gwangju")
    places, report = read_city(city.source())
    aliases = {alias.alias: alias.target for alias in places.aliases}
    assert (
        aliases["시청"] == "광주시청"
        and aliases["역"] == "광주역"
        and aliases["시장"] == "경안시장"
    )
    assert report.aliases == len(aliases) >= 5


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("lines:\n  - {number: '+15555550100', locale: en, city: Riverton}\n"
         "  - {number: '+1 555 555 0100', locale: ko, city: Gwangju}\n" + CITIES,
         "+15555550100 is listed twice"),
        ("lines:\n  - {number: '+15555550100', locale: en, city: Springfield}\n" + CITIES,
         "names city 'Springfield', which is not under cities"),
        ("lines:\n  - {number: '555-0100', locale: en, city: Riverton}\n" + CITIES,
         "not a phone number in E.164"),
        ("lines:\n  - {number: '+15555550100', locale: English, city: Riverton}\n" + CITIES,
         "not a locale code"),
        ("lines:\n  - {number: '+15555550100', locale: en}\n" + CITIES,
         "lines.0.city: Field required"),
        ("lines: []\n" + CITIES, "at least 1 item"),
        ("lines:\n  - {number: '+15555550100', locale: en, city: Riverton, voice: x}\n" + CITIES,
         "lines.0.voice: Extra inputs are not permitted"),
        ("lines: [\n", "cannot read the lines"),
    ],
)  # fmt: skip
def test_a_bad_lines_is_refused_saying_why(tmp_path: Path, text: str, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(LinesError) as refused:
        load_lines(path, DATA)
    assert reason in str(refused.value) and str(path) in str(refused.value)


def test_a_locale_without_a_rasa_project_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, "lines:\n  - {number: '+15555550100', locale: fr, city: Riverton}\n" + CITIES
    )
    lines = load_lines(path, DATA)  # the file is well formed; the deployment cannot answer it
    with pytest.raises(LinesError, match=r"locale 'fr', which has no Rasa project .*known: en, ko"):
        lines.check_locales(rasa_locales(), where=str(path))


def test_a_bad_file_stops_the_service_at_start_up(tmp_path: Path) -> None:
    write(tmp_path, "lines:\n  - {number: '+15555550100', locale: en, city: Nowhere}\n" + CITIES)
    settings = make_settings(tmp_path, data_dir=DATA, lines=tmp_path / "lines.yaml")
    with pytest.raises(LinesError, match="Nowhere"):
        DispatchService(make_engine(settings.database_url), settings, sms=None)  # type: ignore[arg-type]


def test_a_lines_asked_for_by_name_must_exist(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, lines=Path("no-such-lines.yaml"))
    with pytest.raises(LinesError, match=r"no-such-lines\.yaml"):
        lines_of(settings)


def test_the_older_single_line_settings_keep_working(tmp_path: Path) -> None:
    # A deployment that sets its city the old way (DUTYLINE_PLACES_*), no DUTYLINE_LINES.
    files = "places/gwangju-ko.osm,places/gwangju-ko-addresses.csv.gz"
    legacy = make_settings(tmp_path, locale="ko", places_city="Gwangju", places_files=files)
    lines = lines_of(legacy)
    assert lines.locales == ("ko",) and [c.name for c in lines.cities] == ["Gwangju"]
    assert lines.for_number("+15555550100") == lines.default  # every number: the one line
    assert lines.city("Gwangju").files[0] == DATA / "places/gwangju-ko.osm"
    # DUTYLINE_LINES set empty: the same, from DUTYLINE_LOCALE and the default city
    off = make_settings(tmp_path, lines="")
    assert off.lines is None and lines_of(off).locales == ("en",)
    assert [c.name for c in lines_of(off).cities] == ["Riverton"]
    # A data directory without a lines file (an older deployment's own data/)
    bare = make_settings(tmp_path, data_dir=tmp_path)
    assert lines_of(bare).default.city == "Riverton" and lines_of(bare).locales == ("en",)
    # Unset everywhere: the repository's two lines
    assert lines_of(make_settings(tmp_path)).locales == ("en", "ko")


def test_the_lines_setting_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUTYLINE_LINES", "")
    assert Settings(_env_file=None).lines is None  # type: ignore[call-arg]
    monkeypatch.setenv("DUTYLINE_LINES", "other/lines.yaml")
    assert Settings(_env_file=None).lines == Path("other/lines.yaml")  # type: ignore[call-arg]


def test_normalized_numbers() -> None:
    assert normalized_number("+1 (555) 555-0100") == "+15555550100"
    assert normalized_number(None) == normalized_number("") == ""


# --- each line's city, through the service, on both databases ---------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DispatchService]:
    def build(url: str) -> DispatchService:
        settings = make_settings(tmp_path, database_url=url)
        migrate_and_seed(settings)  # the first line's city, as set-up does
        engine = make_engine(url)
        for city in lines_of(settings).cities[1:]:  # and every other line's (dutyline migrate)
            seed_places(engine, city.source())
        return DispatchService(engine, settings, sms=None)  # type: ignore[arg-type]

    if request.param == "postgresql":
        with postgres_database() as url:
            service = build(url)
            yield service
            service.engine.dispose()
    else:
        service = build(f"sqlite:///{tmp_path / 'lines.db'}")
        yield service
        service.engine.dispose()


def test_find_place_geocodes_against_the_line_city(service: DispatchService) -> None:
    korean = service.find_place("중앙로 12", city="Gwangju")
    assert korean.confident, korean
    assert (korean.best.street, korean.best.number) == ("중앙로", "12")  # type: ignore[union-attr]
    assert 37.3 < korean.best.lat < 37.5  # type: ignore[union-attr]  # Gwangju, not Riverton
    spoken = service.find_place("중앙로 십이번이요", city="Gwangju").best
    assert spoken is not None and (spoken.street, spoken.number) == ("중앙로", "12")
    assert service.find_place("시청", city="Gwangju").best.label == "광주시청"  # type: ignore[union-attr]
    # The English line's city knows no Korean road, and the default stays Riverton
    assert service.find_place("중앙로 12").best is None
    assert service.find_place("54 Oak Street").best.street == "Oak Street"  # type: ignore[union-attr]
    assert service.find_place("54 Oak Street", city="Gwangju").best is None
    words = service.place_vocabulary(city="Gwangju")
    assert "경안로" in words.streets and "광주역" in words.landmarks and "시청" in words.aliases
    assert "경안로" not in service.place_vocabulary().streets


def test_an_unknown_city_is_answered_with_the_first_line_city(
    service: DispatchService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dutyline.dispatch")
    assert service.find_place("54 Oak Street", city="Atlantis").best is not None
    assert "Atlantis" in caplog.text
