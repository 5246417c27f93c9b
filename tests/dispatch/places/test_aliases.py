"""The city's own aliases (data/places/aliases.yaml): every alias of the repository's file
names a real place, and a wrong one is refused with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.places.aliases import AliasError, load_aliases
from dispatch.places.city import CityPlaces
from dispatch.places.importer import PlaceSource, read_city
from dutyline.settings import ROOT

PLACES = ROOT / "data" / "places"


@pytest.fixture(scope="module")
def riverton() -> CityPlaces:
    city, _ = read_city(
        PlaceSource("Riverton", (PLACES / "riverton.osm", PLACES / "riverton-addresses.csv.gz"))
    )
    return city


def test_the_repository_aliases_name_real_places(riverton: CityPlaces) -> None:
    aliases = {a.alias: a.target for a in load_aliases(PLACES / "aliases.yaml", riverton)}
    places = {s.name for s in riverton.streets} | {lm.name for lm in riverton.landmarks}
    assert len(aliases) >= 20
    assert set(aliases.values()) <= places
    assert aliases["town hall"] == "City Hall"
    assert aliases["train station"] == "Union Station"


def test_an_alias_may_name_an_address_or_an_intersection(
    riverton: CityPlaces, tmp_path: Path
) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(
        "Riverton:\n"
        "  the library on harbor: 54 harbor road\n"
        "  the lark corner: Lark Street & 12th Street\n"
        "  town hall: city hall\n"
    )
    aliases = {a.alias: a.target for a in load_aliases(path, riverton)}
    # Targets are stored as the city's data spells them.
    assert aliases == {
        "the library on harbor": "54 Harbor Road",
        "the lark corner": "12th Street & Lark Street",
        "town hall": "City Hall",
    }


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "Riverton:\n  town hall: City Hall\n  the mall: Northgate Mall\n",
            r"aliases.yaml:3: alias 'the mall' -> 'Northgate Mall': Riverton has no landmark",
        ),
        (
            "Riverton:\n  the corner: Lark Street & State Street\n",  # parallel: they never meet
            r"aliases.yaml:2: alias 'the corner'",
        ),
        ("Riverton:\n  home: 99999 Lark Street\n", r"aliases.yaml:2: alias 'home'"),
        (
            "Riverton:\n  town hall: City Hall\n  Town  Hall: Central Library\n",
            r"aliases.yaml:3: alias 'Town  Hall' is already given on line 2",
        ),
        ("Riverton:\n  town hall:\n", r"aliases.yaml:2: an alias and its place must both"),
        ("Riverton:\n  - town hall\n", r"aliases.yaml:2: Riverton: expected 'alias: place'"),
        ("- Riverton\n", r"aliases.yaml:1: expected one section per city"),
        ("Riverton: [unclosed\n", r"aliases.yaml: cannot read the aliases"),
    ],
)
def test_a_wrong_alias_is_refused_with_its_line(
    riverton: CityPlaces, tmp_path: Path, text: str, error: str
) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(text)
    with pytest.raises(AliasError, match=error):
        load_aliases(path, riverton)


def test_a_city_without_a_section_has_no_aliases(riverton: CityPlaces, tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text("Gwangju:\n  시청: 광주시청\n")
    assert load_aliases(path, riverton) == []
    path.write_text("")
    assert load_aliases(path, riverton) == []


def test_importing_with_a_wrong_alias_fails_before_anything_is_saved(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text("Riverton:\n  the mall: Northgate Mall\n")
    source = PlaceSource(
        "Riverton", (PLACES / "riverton.osm", PLACES / "riverton-addresses.csv.gz"), path
    )
    with pytest.raises(AliasError, match=r"aliases.yaml:2"):
        read_city(source)
