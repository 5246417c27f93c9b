"""The city's own names for its places (data/places/aliases.yaml), which a city edits:

    Riverton:
      town hall: City Hall
      the station: Union Station

One section per city; in it, what callers say -> the place the city's data names: a
landmark ("City Hall"), a street ("Broadway"), an intersection ("Lark Street & 12th
Street") or an address ("54 Harbor Road"). An alias whose target is not a place of that
city is refused with the file and line, so a typo never silently points callers nowhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from dispatch.places.build import normalize_name
from dispatch.places.city import Alias, CityPlaces

_ADDRESS = re.compile(r"^\s*(\d+[A-Za-z0-9-]*)\s+(.+)$")


class AliasError(ValueError):
    """The aliases file is not valid for the city."""


def load_aliases(path: Path, places: CityPlaces) -> list[Alias]:
    """The aliases of places.city in the file (none if it has no section for the city)."""
    path = Path(path)
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise AliasError(f"{path}: cannot read the aliases: {exc}") from exc
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise AliasError(f"{path}:{_line(root)}: expected one section per city (City: ...)")
    section = next(
        (value for key, value in root.value if _text(key).casefold() == places.city.casefold()),
        None,
    )
    if section is None or (isinstance(section, yaml.ScalarNode) and not section.value):
        return []
    if not isinstance(section, yaml.MappingNode):
        raise AliasError(f"{path}:{_line(section)}: {places.city}: expected 'alias: place' lines")
    targets = _targets(places)
    addresses: dict[tuple[str, str], str] = {}
    aliases: list[Alias] = []
    seen: dict[str, int] = {}
    for key, value in section.value:
        alias, target, line = _text(key), _text(value), _line(key)
        if not isinstance(key, yaml.ScalarNode) or not isinstance(value, yaml.ScalarNode):
            raise AliasError(f"{path}:{line}: expected 'alias: place', one per line")
        if not alias or not target:
            raise AliasError(f"{path}:{line}: an alias and its place must both be given")
        folded = normalize_name(alias)
        if folded in seen:
            raise AliasError(
                f"{path}:{line}: alias {alias!r} is already given on line {seen[folded]}"
            )
        seen[folded] = line
        canonical = targets.get(normalize_name(target)) or _address(target, places, addresses)
        if canonical is None:
            raise AliasError(
                f"{path}:{line}: alias {alias!r} -> {target!r}: {places.city} has no landmark, "
                "street, intersection or address of that name"
            )
        aliases.append(Alias(alias=alias, target=canonical))
    return aliases


def _targets(places: CityPlaces) -> dict[str, str]:
    """Normalized name -> the city's own spelling, for every place an alias may name."""
    names = [s.name for s in places.streets] + [lm.name for lm in places.landmarks]
    targets = {normalize_name(name): name for name in names}
    for crossing in places.intersections:
        a, b = crossing.streets  # sorted: "12th Street & Lark Street", said either way
        targets[normalize_name(f"{a} & {b}")] = targets[normalize_name(f"{b} & {a}")] = f"{a} & {b}"
    return targets


def _address(target: str, places: CityPlaces, known: dict[tuple[str, str], str]) -> str | None:
    """ "54 Harbor Road" when the city's address points have that number on that street.
    `known` is filled on the first address target (most alias files have none)."""
    match = _ADDRESS.match(target)
    if not match:
        return None
    if not known:
        streets = {p.street: normalize_name(p.street) for p in places.addresses}
        for point in places.addresses:
            key = (point.number.casefold(), streets[point.street])
            known.setdefault(key, f"{point.number} {point.street}")
    return known.get((match.group(1).casefold(), normalize_name(match.group(2))))


def _text(node: yaml.Node) -> str:
    return str(node.value).strip() if isinstance(node, yaml.ScalarNode) else ""


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1
