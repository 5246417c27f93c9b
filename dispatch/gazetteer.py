"""A small local gazetteer (data/gazetteer.csv): normalizes what a caller said
about a place and, when the place is known, gives its coordinates.

Normalizing lets two callers' "Main St and Fifth" and "5th Avenue & Main Street"
count as the same place for duplicate detection.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

_ABBREVIATIONS = {
    "st": "street",
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "rd": "road",
    "dr": "drive",
    "blvd": "boulevard",
    "ln": "lane",
    "pl": "place",
    "ct": "court",
    "pkwy": "parkway",
    "hwy": "highway",
    "sq": "square",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "mt": "mount",
}
_ORDINALS = {
    "first": "1st",
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
    "sixth": "6th",
    "seventh": "7th",
    "eighth": "8th",
    "ninth": "9th",
    "tenth": "10th",
}
# Words callers put around a place that do not change where it is.
_FILLER = re.compile(
    r"^(?:(?:it'?s|it is|i'?m|i am|right|just|somewhere)\s+)*"
    # Longer phrases first: the regex takes the first alternative that fits.
    r"(?:(?:in front of|across from|next to|the corner of|corner of|outside|opposite|"
    r"behind|near|at|on|in|by)\s+)+"
)
_JOINERS = re.compile(r"\s+(?:&|and|at)\s+")
_STREET_TYPES = re.compile(
    r"\b(?:street|avenue|road|drive|boulevard|lane|place|court|parkway|highway)\b"
)


def normalize(text: str | None) -> str:
    """Lower-case, expand abbreviations, strip filler words; intersections sorted."""
    if not text:
        return ""
    value = text.lower().replace("&", " & ")
    value = re.sub(r"[^\w&' ]+", " ", value)
    words = [_ABBREVIATIONS.get(w, _ORDINALS.get(w, w)) for w in value.split()]
    value = " ".join(words)
    value = _FILLER.sub("", value)
    value = re.sub(r"^the\s+", "", value).strip()
    parts = [p.strip() for p in _JOINERS.split(value) if p.strip()]
    if len(parts) == 2:
        value = " & ".join(sorted(parts))
    return value


def loose(normalized: str) -> str:
    """Without street types: "5th & main street" and "5th avenue & main street" meet."""
    parts = [" ".join(_STREET_TYPES.sub(" ", p).split()) for p in normalized.split(" & ")]
    return " & ".join(sorted(p for p in parts if p)) if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    long: float
    kind: str

    @property
    def is_point(self) -> bool:
        """A landmark or an intersection; a street's coordinates are only somewhere on it."""
        return self.kind != "street"


@dataclass(frozen=True)
class Resolved:
    said: str | None
    normalized: str  # the place's canonical name when known, else the normalized text
    place: Place | None

    @property
    def lat(self) -> float | None:
        return self.place.lat if self.place else None

    @property
    def long(self) -> float | None:
        return self.place.long if self.place else None


class Gazetteer:
    def __init__(self, places: list[tuple[Place, list[str]]]) -> None:
        self._by_name: dict[str, Place] = {}
        self._by_loose: dict[str, Place] = {}
        for place, aliases in places:
            for alias in [place.name, *aliases]:
                key = normalize(alias)
                if key:
                    self._by_name.setdefault(key, place)
                    self._by_loose.setdefault(loose(key), place)
        # Longest first, so "main street & 5th avenue" wins over "main street".
        self._names = sorted(self._by_name, key=len, reverse=True)

    @classmethod
    def load(cls, data_dir: Path) -> Gazetteer:
        path = Path(data_dir) / "gazetteer.csv"
        if not path.exists():
            return cls([])
        places = []
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                place = Place(
                    name=row["name"].strip(),
                    lat=float(row["lat"]),
                    long=float(row["long"]),
                    kind=(row.get("kind") or "").strip(),
                )
                aliases = [a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()]
                places.append((place, aliases))
        return cls(places)

    def __len__(self) -> int:
        return len({p.name for p in self._by_name.values()})

    def resolve(self, said: str | None) -> Resolved:
        key = normalize(said)
        if not key:
            return Resolved(said=said, normalized="", place=None)
        place = self._by_name.get(key) or self._by_loose.get(loose(key))
        exact = place is not None
        if place is None:
            # "outside city hall by the steps": a known name inside what was said.
            padded = f" {key} "
            for name in self._names:
                if f" {name} " in padded:
                    place = self._by_name[name]
                    break
        if place is None:
            return Resolved(said=said, normalized=key, place=None)
        # Keep house numbers and detail the caller gave when the match was partial.
        normalized = normalize(place.name) if exact else key
        return Resolved(said=said, normalized=normalized, place=place)
