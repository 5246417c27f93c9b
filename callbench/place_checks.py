"""What a place answer should have become, and whether it did: the truth written by
callbench/make_place_calls.py into data/sample_calls/riverton_places.yaml, checked against
a geocoder's best candidate (utterance level) or a filed ticket (whole calls).

Three questions, the issue's (#9 item 6):
- street right: the city's street the caller named (both, for a corner; the landmark's
  name, for a landmark);
- house number right: for house number + street answers only;
- within 50 m: the point found is within 50 m of the true one (the address point, the
  block's middle, the corner, the landmark).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

WITHIN_METRES = 50.0
EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class ExpectedPlace:
    kind: str  # address, intersection, landmark, block
    lat: float
    long: float
    street: str | None = None
    number: str | None = None
    block: str | None = None
    cross_street: str | None = None
    landmark: str | None = None

    @classmethod
    def from_yaml(cls, data: dict[str, Any]) -> ExpectedPlace:
        kind = str(data["kind"])
        if kind not in ("address", "intersection", "landmark", "block"):
            raise ValueError(f"unknown place kind {kind!r}")

        def text(key: str) -> str | None:
            return None if data.get(key) is None else str(data[key])

        place = cls(
            kind=kind,
            lat=float(data["lat"]),
            long=float(data["long"]),
            street=text("street"),
            number=text("number"),
            block=text("block"),
            cross_street=text("cross_street"),
            landmark=text("landmark"),
        )
        missing = {
            "address": ("street", "number"),
            "intersection": ("street", "cross_street"),
            "landmark": ("landmark",),
            "block": ("street", "block"),
        }[kind]
        if any(getattr(place, key) is None for key in missing):
            raise ValueError(f"a {kind} place needs {', '.join(missing)}: {data}")
        return place

    @property
    def names(self) -> tuple[str, ...]:
        """The names that must be right for 'street right'."""
        if self.kind == "landmark":
            return (self.landmark or "",)
        if self.kind == "intersection":
            return (self.street or "", self.cross_street or "")
        return (self.street or "",)


@dataclass(frozen=True)
class PlaceVerdict:
    street_right: bool
    number_right: bool | None  # None: the caller gave no house number
    within_50m: bool
    distance_m: float | None  # None: nothing found, or no coordinates


def metres(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


# How a transcript may write what the city's data spells another way.
_ABBREVIATIONS = {"st": "street", "ave": "avenue", "av": "avenue", "rd": "road", "dr": "drive",
                  "ln": "lane", "ct": "court", "pl": "place", "blvd": "boulevard",
                  "ter": "terrace", "cir": "circle"}  # fmt: skip
_UNITS = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
_TEENS = ["tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
          "seventeenth", "eighteenth", "nineteenth"]  # fmt: skip
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def _ordinals() -> dict[str, str]:
    """ "sixteenth" -> "16th", "twenty first" -> "21st", up to 99th."""
    found = {word: _suffix(n) for n, word in enumerate(_UNITS) if word}
    found |= {word: _suffix(10 + n) for n, word in enumerate(_TEENS)}
    for tens in range(2, 10):
        found[_TENS[tens][:-1] + "ieth"] = _suffix(tens * 10)
        for unit in range(1, 10):
            found[f"{_TENS[tens]} {_UNITS[unit]}"] = _suffix(tens * 10 + unit)
    return found


_ORDINALS = _ordinals()
_ORDINAL_WORDS = re.compile(r"\b(" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + r")\b")


def _words(text: str) -> str:
    """Lower-case words, spelled ordinals as digits, street abbreviations spelled out."""
    text = re.sub(r"[^\w]+", " ", text.lower().replace("-", " "))
    text = _ORDINAL_WORDS.sub(lambda m: _ORDINALS[m.group(1)], " ".join(text.split()))
    return " " + " ".join(_ABBREVIATIONS.get(w, w) for w in text.split()) + " "


def names_in(expected: ExpectedPlace, text: str) -> bool:
    """Whether every name that must be right is in `text`, as whole words."""
    said = _words(text)
    return all(_words(name) in said for name in expected.names)


def _verdict(
    expected: ExpectedPlace, text: str, number: str | None, lat: float | None, long: float | None
) -> PlaceVerdict:
    distance = None
    if lat is not None and long is not None:
        distance = metres(lat, long, expected.lat, expected.long)
    number_right = None
    if expected.kind == "address":
        said = (number or "").strip().lower()
        number_right = bool(said) and said == (expected.number or "").lower()
    return PlaceVerdict(
        street_right=names_in(expected, text),
        number_right=number_right,
        within_50m=distance is not None and distance <= WITHIN_METRES,
        distance_m=None if distance is None else round(distance, 1),
    )


def check_candidate(expected: ExpectedPlace, candidate: Any | None) -> PlaceVerdict:
    """A dispatch.contract.PlaceCandidate (the geocoder's best), or None when nothing matched."""
    if candidate is None:
        return PlaceVerdict(False, False if expected.kind == "address" else None, False, None)
    text = " | ".join(filter(None, [candidate.label, candidate.street]))
    return _verdict(expected, text, candidate.number, candidate.lat, candidate.long)


def check_ticket(expected: ExpectedPlace, ticket: Any | None) -> PlaceVerdict:
    """A filed ticket (dispatch.public.TicketDetail): its canonical place, else its words."""
    if ticket is None:
        return PlaceVerdict(False, False if expected.kind == "address" else None, False, None)
    text = " | ".join(
        filter(None, [ticket.place_name, ticket.location_normalized, ticket.location_text])
    )
    number = None
    if expected.number is not None and re.search(
        rf"(?<![\w]){re.escape(expected.number.lower())}(?![\w])", text.lower()
    ):
        number = expected.number
    return _verdict(expected, text, number, ticket.lat, ticket.long)
