"""Where a ticket is, as filed: the place the dialogue confirmed or the geocoder found,
its point, and the key two reports of the same place share (`location_normalized`).

A place the city's data matched keys by its canonical name, so "Main St and Fifth"
and "5th Street & Main Street" meet once the geocoder has named them. What matched
nothing keys by the caller's words, normalized: lower case, abbreviations spelled
out, filler words dropped, the two streets of an intersection sorted.

Moved here from the old gazetteer (data/gazetteer.csv) when the city's own place data
replaced it; Open311 reads the same normalized words to publish a block, not a house.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Protocol

from dispatch.contract import ComplaintReport, PlaceCandidate, PlaceKind, PlaceMatch

log = logging.getLogger("dutyline.dispatch")

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


def place_key(place: PlaceCandidate) -> str:
    """A matched place's key: its canonical name, whatever words found it."""
    if place.kind == PlaceKind.STREET and place.street:
        return normalize(place.street)
    return normalize(place.label)


def location_key(said: str | None, place: PlaceCandidate | None) -> str | None:
    return (place_key(place) if place is not None else normalize(said)) or None


class PlaceFinder(Protocol):
    """The city's geocoder (dispatch/places/): what a reporter's words may mean."""

    def locate(self, said: str) -> PlaceMatch: ...


@dataclass(frozen=True)
class FiledPlace:
    """Where a ticket is, as filed: the key duplicates compare, the city's place when
    one matched, the point, and whether the place is more than the reporter's words."""

    key: str | None
    name: str | None = None
    kind: str | None = None
    lat: float | None = None
    long: float | None = None
    confidence: float | None = None
    verified: bool | None = None


# Reports typed by a partner app or a staff client: their words are looked up here.
TYPED_CHANNELS = frozenset({"open311", "api"})


def filed_place(report: ComplaintReport, places: PlaceFinder | None) -> FiledPlace:
    """The place to file. The dialogue sends the place the caller confirmed (or says it
    found none: `place_verified` False, the caller's words only). A typed report (Open311,
    the API) without coordinates of its own is looked up in the city's data, and a match
    is used only when the geocoder is confident: nobody confirmed it, so a near miss would
    send the officer to the wrong place. A phone report is never looked up here: a place
    the caller did not hear read back and confirm is not a place (issue 9), so without
    the dialogue's verdict it is the caller's words, unverified."""
    found = report.place
    verified = report.place_verified
    if found is None and verified is None and report.lat is None and report.location:
        if report.channel in TYPED_CHANNELS and places is not None:
            found = _confident_place(places, report.location)
        verified = found is not None
    if found is None:
        return FiledPlace(
            key=location_key(report.location, None),
            lat=report.lat,
            long=report.long,
            verified=verified,
        )
    # Coordinates the reporter sent (a phone's GPS) are theirs and win over the match's.
    at_point = report.lat is not None and report.long is not None
    return FiledPlace(
        key=location_key(report.location, found),
        name=found.label,
        kind=found.kind.value,
        lat=report.lat if at_point else found.lat,
        long=report.long if at_point else found.long,
        confidence=found.confidence,
        verified=True if verified is None else verified,
    )


def _confident_place(places: PlaceFinder, said: str) -> PlaceCandidate | None:
    try:
        match = places.locate(said)
    except Exception:
        # The place data failing must not fail the report: it is filed as words.
        log.exception("geocoding a report failed; filed with the reporter's words")
        return None
    return match.best if match.confident else None
