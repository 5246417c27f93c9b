"""What a caller said, as places of the city's own data, best first.

`Geocoder(city).locate("forty two linden way")` reads the sentence's shape
(spoken.py), snaps its street and landmark words to the city's names (matching.py)
and looks the result up in the index (index.py): an address point or a number
interpolated on its street, an intersection, a block, a landmark, a street's point
nearest a landmark, or the street alone. Every candidate is a place of the data: a
number the street does not have is no address (problem "no_number": the street is
offered, less sure), two streets that never meet are no corner.

Confidence is the name match's (1.0 for a clean name) times what the place adds: two
parts of a place (a corner, a street near a landmark) combine as a geometric mean, an
interpolated number is a little less sure than a register point.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from dispatch.contract import (
    POSSIBLE_PLACE,
    PlaceCandidate,
    PlaceKind,
    PlaceMatch,
    PlaceVocabulary,
)
from dispatch.places.city import CityPlaces
from dispatch.places.index import CityIndex, Point
from dispatch.places.inside import StreetsInside
from dispatch.places.korean import parse_place
from dispatch.places.korean_names import byeongil_parent, corner_label, near_label
from dispatch.places.matching import MIN_SCORE, NameParts, Scored
from dispatch.places.numbers import suffix
from dispatch.places.spoken import KOREAN_ROADS, Relation, SpokenPlace, normalize

MAX_CANDIDATES = 5
INTERPOLATED = 0.97  # a number between two register points, not a point itself
NOT_ON_STREET = 0.6  # the street offered when the number (or block) is not on it
NOT_A_CORNER = 0.6  # each street offered when the two named never meet
NEAR_ENOUGH_M = 250.0  # "the school on Madison Avenue": within this of the street
FAR_FROM_STREET = 0.5
NEAR_M = 400.0  # "Broadway near Union Station": farther than this, less and less near
ALIAS_OVER_LOOK_ALIKE = 0.85  # "the bridge" (the city's alias of 5th Street) vs Bridge Place
SPLIT_NUMBER = 0.9  # "69927th Street" read as 699 27th Street
_MERGED = re.compile(r"(\d{2,})(st|nd|rd|th)")
FALLBACK = 0.9  # a part of the sentence read alone ("a car at 17 Lark Street")
INSIDE = 0.85  # a street named exactly amid words that make no place: read back, unsure


def _mean(*scores: float) -> float:
    """Parts that each match well make a place as sure as they are (geometric mean); a
    part matched only loosely ("state" for "Union Station") drags it down (product)."""
    if min(scores) < POSSIBLE_PLACE:
        return math.prod(scores)
    return math.prod(scores) ** (1 / len(scores))


class Geocoder:
    def __init__(self, city: CityPlaces) -> None:
        self.index = CityIndex(city)
        self._inside = StreetsInside(self.index.streets)
        self._vocabulary = PlaceVocabulary(
            streets=sorted(self.index.streets),
            landmarks=sorted(self.index.landmarks),
            aliases=sorted(self.index.aliases),
        )
        self._alias_targets: dict[str, list[str]] = {}
        for alias, target in self.index.aliases.items():
            self._alias_targets.setdefault(_without_article(normalize(alias)), []).append(target)
        # "42 Lark Street, Riverton, NY 12201": the city (state, postcode) said after a
        # place names no other place.
        self._city_tail = re.compile(
            rf"[\s,]+(?:in\s+)?{re.escape(city.city)}(?:[\s,]+(?:ny|new york|usa|\d{{5}}))*\W*$",
            re.IGNORECASE,
        )

    def vocabulary(self) -> PlaceVocabulary:
        """The city's names (built once: the dialogue asks on every place answer)."""
        return self._vocabulary

    def locate_any(self, alternatives: Iterable[str]) -> PlaceMatch:
        """The best reading among a recognizer's alternative transcripts (first wins ties)."""
        matches = [self.locate(said) for said in alternatives]
        if not matches:
            return PlaceMatch(said="", problem="empty")
        found = [m for m in matches if m.best is not None]
        if not found:
            return matches[0]
        return max(found, key=lambda m: m.best.confidence if m.best else 0.0)

    def locate(self, said: str) -> PlaceMatch:
        spoken = parse_place(self._city_tail.sub("", said or ""))
        if spoken.problem:
            return PlaceMatch(said=said or "", problem=spoken.problem)
        candidates, problem = self._read(spoken)
        candidates = [c for c in candidates if c.confidence >= MIN_SCORE]  # none too faint
        if not candidates and spoken.relation is not None:
            candidates, problem = self._parts_alone(spoken)
        if not candidates:
            candidates = self._run_together(spoken)
        if not candidates:
            candidates = self._named_inside(spoken.text)
        aliased = self._alias(spoken.text)
        if aliased:  # the city's own name for a place says more than a look-alike name
            candidates = aliased + [_scaled(c, ALIAS_OVER_LOOK_ALIKE) for c in candidates]
        best: dict[str, PlaceCandidate] = {}
        for candidate in candidates:
            kept = best.get(candidate.label)
            if candidate.confidence >= MIN_SCORE and (
                kept is None or candidate.confidence > kept.confidence
            ):
                best[candidate.label] = candidate
        ranked = sorted(best.values(), key=lambda c: (-c.confidence, c.label))[:MAX_CANDIDATES]
        if not ranked:
            problem = problem or "no_street"
        elif ranked[0].kind is not PlaceKind.STREET or spoken.number is None:
            problem = None
        return PlaceMatch(said=said, candidates=ranked, problem=problem)

    def _parts_alone(self, spoken: SpokenPlace) -> tuple[list[PlaceCandidate], str | None]:
        """Two parts that make no place together: "a car at 17 Lark Street" is the
        address alone; "Pearl and State" (they never meet) is either street, unsure."""
        read = []
        for part in (spoken.second, spoken.first):
            alone = parse_place(part or "")
            read.append(self._read(alone) if not alone.problem else ([], None))
        useful = [(found, problem) for found, problem in read if found]
        if not useful:
            return [], read[0][1] or read[1][1]
        # The other part named a street the city does not have ("37th Street and Boyle
        # Street"): the corner is unknown, the street found only half of it.
        unknown_street = any(
            not found and NameParts.of(part or "x").type
            for (found, _), part in zip(read, (spoken.second, spoken.first), strict=True)
        )
        factor = FALLBACK if len(useful) == 1 and not unknown_street else NOT_A_CORNER
        return [_scaled(c, factor) for found, _ in useful for c in found], useful[0][1]

    def _run_together(self, spoken: SpokenPlace) -> list[PlaceCandidate]:
        """ "69927th street", "28 1412th street": the recognizer ran the house number into
        a numbered street. Split where the street exists and has that very number."""
        head, _, rest = spoken.first.partition(" ")
        merged = _MERGED.fullmatch(head)
        if spoken.relation is not None or merged is None:
            return []
        digits, ending = merged.groups()
        found = []
        for cut in (1, 2):
            number = (spoken.number or "") + digits[:-cut]
            street_number = int(digits[-cut:])
            if not number or number[0] == "0" or digits[-cut] == "0":
                continue
            if suffix(street_number) != ending:
                continue
            for street in self._streets(f"{street_number}{ending} {rest}"):
                hit = self.index.address(street.name, number)
                if hit is not None and hit.exact:  # an exact point: not a guessed split
                    label = address_label(street.name, number)
                    score = street.score * SPLIT_NUMBER
                    found.append(
                        _candidate(label, PlaceKind.ADDRESS, hit.point, score, street.name, number)
                    )
        return found

    def _named_inside(self, text: str) -> list[PlaceCandidate]:
        """Streets the city has, named exactly amid words that make no place
        (dispatch/places/inside.py): one is that street (at the number just before it,
        if the street has it); two that meet, their corner; two that do not, either."""
        named = self._inside.find(text)
        if len(named) == 2:
            one, other = (n.street for n in named)
            crossing = self.index.intersection(one, other)
            if crossing is not None:
                point = Point(crossing.lat, crossing.long)
                label = corner_label(one, other)
                return [_candidate(label, PlaceKind.INTERSECTION, point, INSIDE, one)]
        found = []
        for place in named[:2]:
            hit = self.index.address(place.street, place.number) if place.number else None
            if hit is not None:
                label = address_label(place.street, place.number or "")
                score = INSIDE * (1.0 if hit.exact else INTERPOLATED)
                street, number = place.street, place.number
                found.append(_candidate(label, PlaceKind.ADDRESS, hit.point, score, street, number))
            else:
                factor = INSIDE * (NOT_A_CORNER if len(named) > 1 else 1.0)
                found.append(self._street(Scored(place.street, 1.0), factor))
        return found

    # --- readings ----------------------------------------------------------------------

    def _read(self, spoken: SpokenPlace) -> tuple[list[PlaceCandidate], str | None]:
        if spoken.relation is Relation.CROSS:
            return self._corner(spoken.first, spoken.second or ""), None
        if spoken.relation is Relation.BETWEEN:
            return self._between(spoken.first, *(spoken.second or "").split(" and ", 1)), None
        if spoken.relation is Relation.NEAR and spoken.number is None:
            near = self._near(spoken.first, spoken.second or "")  # "Lark near 12th": a corner
            return near or self._corner(spoken.first, spoken.second or ""), None
        if spoken.relation is Relation.ON:
            found = self._on(spoken.first, spoken.second or "")
            return found or self._corner(spoken.first, spoken.second or ""), None
        if spoken.number is not None:
            return self._numbered(spoken.first, spoken.number, block=spoken.block)
        return self._named(spoken.first), None

    def _streets(self, words: str) -> list[Scored]:
        return self.index.street_matcher.match(words)

    def _landmarks(self, words: str) -> list[Scored]:
        return self.index.landmark_matcher.match(words)

    def _numbered(
        self, words: str, number: str, *, block: bool
    ) -> tuple[list[PlaceCandidate], str | None]:
        found: list[PlaceCandidate] = []
        missing = False
        parent = byeongil_parent(words)
        if parent and not self._streets(words):
            # "경안로12번길 5" where the city has no such side road: its road, unsure
            return [self._street(s, NOT_ON_STREET) for s in self._streets(parent)], "no_street"
        for street in self._streets(words):
            if block:
                first = int(number) // 100 * 100
                point = self.index.block(street.name, first)
                if point is not None:
                    label = f"{first} block of {street.name}"
                    found.append(
                        _candidate(label, PlaceKind.BLOCK, point, street.score, street.name)
                    )
                    continue
            else:
                hit = self.index.address(street.name, number)
                if hit is not None:
                    score = street.score * (1.0 if hit.exact else INTERPOLATED)
                    label = address_label(street.name, number)
                    found.append(
                        _candidate(label, PlaceKind.ADDRESS, hit.point, score, street.name, number)
                    )
                    continue
            missing = True
            found.append(self._street(street, NOT_ON_STREET))
        return found, "no_number" if missing else None

    def _street(self, street: Scored, factor: float = 1.0) -> PlaceCandidate:
        point = self.index.street_middle(street.name)
        return _candidate(street.name, PlaceKind.STREET, point, street.score * factor, street.name)

    def _named(self, words: str) -> list[PlaceCandidate]:
        found = [self._street(s) for s in self._streets(words)]
        return found + [self._landmark(lm.name, lm.score) for lm in self._landmarks(words)]

    def _alias(self, words: str) -> list[PlaceCandidate]:
        """The place a city's own name says exactly ("the bridge" -> 5th Street, "the
        market" -> Farmers Market; the landmark matcher also knows landmarks' aliases
        loosely). The target is the city's own spelling of a place: its best reading."""
        found: list[PlaceCandidate] = []
        for target in self._alias_targets.get(_without_article(normalize(words)), ()):
            if target in self.index.landmarks:
                found.append(self._landmark(target, 1.0))
                continue
            spoken = parse_place(target)
            if spoken.problem is None:
                targets, _ = self._read(spoken)
                found += sorted(targets, key=lambda c: -c.confidence)[:1]
        return found

    def _landmark(self, name: str, score: float, street: str | None = None) -> PlaceCandidate:
        landmark = self.index.landmarks[name]
        return PlaceCandidate(
            label=name,
            kind=PlaceKind.LANDMARK,
            street=street or landmark.street,
            number=landmark.number if not street or street == landmark.street else None,
            lat=landmark.lat,
            long=landmark.long,
            confidence=round(min(1.0, score), 4),
        )

    def _corner(self, first: str, second: str) -> list[PlaceCandidate]:
        ones, others = self._streets(first), self._streets(second)
        found = []
        for one in ones:
            for other in others:
                crossing = self.index.intersection(one.name, other.name)
                if one.name != other.name and crossing is not None:
                    found.append(
                        _candidate(
                            corner_label(one.name, other.name),
                            PlaceKind.INTERSECTION,
                            Point(crossing.lat, crossing.long),
                            _mean(one.score, other.score),
                            one.name,
                        )
                    )
        if found:
            return found
        # "Lark Street at City Hall"; not "Pearl and State" read as Pearl near "Station".
        return [c for c in self._near(first, second) if c.confidence >= POSSIBLE_PLACE]

    def _between(self, first: str, one: str, other: str = "") -> list[PlaceCandidate]:
        """ "Pearl Street between 11th and 12th": the block between two corners."""
        found = []
        for street in self._streets(first):
            for a in self._streets(one):
                for b in self._streets(other):
                    corners = [self.index.intersection(street.name, x.name) for x in (a, b)]
                    if a.name == b.name or None in corners:
                        continue
                    point = Point(
                        sum(c.lat for c in corners if c) / 2, sum(c.long for c in corners if c) / 2
                    )
                    label = f"{street.name} between {a.name} and {b.name}"
                    score = _mean(street.score, a.score, b.score)
                    found.append(_candidate(label, PlaceKind.BLOCK, point, score, street.name))
        return found

    def _near(self, first: str, second: str) -> list[PlaceCandidate]:
        found = []
        for street in self._streets(first):
            for mark in self._landmarks(second):
                landmark = self.index.landmarks[mark.name]
                point, distance = self.index.nearest_on_street(
                    street.name, Point(landmark.lat, landmark.long)
                )
                label = near_label(street.name, mark.name)
                # A street that passes far from the landmark is not "near" it.
                score = _mean(street.score, mark.score) * min(1.0, NEAR_M / max(distance, 1.0))
                found.append(_candidate(label, PlaceKind.NEAR, point, score, street.name))
        return found

    def _on(self, first: str, second: str) -> list[PlaceCandidate]:
        """A landmark (or a kind of one) on a street: "the high school on Madison Avenue"."""
        found = []
        for mark in self._landmarks(first):
            landmark = self.index.landmarks[mark.name]
            for street in self._streets(second):
                _, distance = self.index.nearest_on_street(
                    street.name, Point(landmark.lat, landmark.long)
                )
                score = _mean(mark.score, street.score)
                if distance > NEAR_ENOUGH_M:
                    score *= FAR_FROM_STREET
                found.append(self._landmark(mark.name, score, street.name))
        return found


def _candidate(
    label: str,
    kind: PlaceKind,
    point: Point,
    score: float,
    street: str | None = None,
    number: str | None = None,
) -> PlaceCandidate:
    return PlaceCandidate(
        label=label,
        kind=kind,
        street=street,
        number=number,
        lat=round(point.lat, 7),
        long=round(point.long, 7),
        confidence=round(max(0.0, min(1.0, score)), 4),
    )


def address_label(street: str, number: str) -> str:
    """ "42 Linden Street"; a Korean road-name address puts the number last: "중앙로 12"."""
    return f"{street} {number}" if street.endswith(KOREAN_ROADS) else f"{number} {street}"


def _without_article(text: str) -> str:
    return text[4:] if text.startswith("the ") else text


def _scaled(candidate: PlaceCandidate, factor: float) -> PlaceCandidate:
    return candidate.model_copy(update={"confidence": round(candidate.confidence * factor, 4)})
