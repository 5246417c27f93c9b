"""Snapping a heard street or landmark name to the city's own names.

Speech recognition on an 8 kHz line mishears names in ways that keep their sound:
"Lark" comes back as "Clark" or "Lurk", "Ridgewood" as "ridge would". A name is
compared on its stem ("lark", "ridgewood") by spelling (rapidfuzz) and by sound
(jellyfish's Metaphone and NYSIIS codes, and Soundex for short names), and on its street
type separately, so "Linden" is as close to Linden Way as to Linden Terrace (the dialogue
asks which), while "Linden Way" is Linden Way. A heard number compares by number only:
12th is never 13th, however alike they look written down; a misspelled ordinal
("forteeth") compares with the numbered streets' words ("fortieth", "fourteenth").

Korean (Hangul) names compare on their jamo instead, with a sound key of the jamo a
phone line confuses (korean_names.py); Korean kind words (시청, 역, 시장) join the English.

Scores are calibrated to 0..1: a clean name is 1.0, a one-sound slip about 0.8,
a word that is no name of the city's below 0.4 and dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import jellyfish
import numpy as np
from rapidfuzz import fuzz, process

from dispatch.places.korean_names import (
    KOREAN_CATEGORY_WORDS,
    KoreanNames,
    has_hangul,
    jamo,
    korean_similarity,
)
from dispatch.places.numbers import ordinal_words
from dispatch.places.spoken import STREET_TYPES

_NUMBERED = re.compile(r"^(\d+)(?:st|nd|rd|th)?$")
# Raw similarity -> confidence: the points were read off the test phrases (see
# tests/dispatch/places/test_geocoder.py): a one-sound slip ("clark" for "lark") must
# stay above CONFIDENT_PLACE when nothing else is close, a word sharing half its
# letters with a name ("zebra"/"cedar") must fall out.
_CALIBRATION = ((0.0, 0.0), (0.6, 0.0), (0.7, 0.3), (0.8, 0.6), (0.87, 0.8), (0.93, 0.9), (1, 1))
MIN_SCORE = 0.4
_SOUNDEX_LETTERS = 6
# How a missing or different street type weighs on a name whose stem matched.
_TYPE_MISSING = 0.95  # "Lark" for Lark Street
_TYPE_DIFFERENT = 0.8  # "Ridgewood Lane" for Ridgewood Court: the city has the type said
_TYPE_MISREMEMBERED = 0.9  # "12th Avenue" for 12th Street: no street of that stem has it
_TYPE_UNEXPECTED = 0.9  # "Broadway Street" for Broadway
# Words for a kind of place (OSM's amenity/leisure/railway value) as callers say them.
CATEGORY_WORDS = {
    "townhall": ("town hall", "city hall", "municipal building"),
    "library": ("library", "public library"),
    "school": ("school",),
    "hospital": ("hospital", "emergency room", "er"),
    "park": ("park", "the park"),
    "station": ("station", "train station", "railway station", "railroad station"),
    "fuel": ("gas station", "petrol station", "filling station", "service station"),
    "marketplace": ("market", "farmers market"),
    "events_venue": ("civic center", "venue", "arena"),
    "police": ("police station", "police"),
    "fire_station": ("fire station", "firehouse"),
}
for _category, _words in KOREAN_CATEGORY_WORDS.items():
    CATEGORY_WORDS[_category] = CATEGORY_WORDS.get(_category, ()) + _words


_XS, _YS = zip(*_CALIBRATION, strict=True)
_KOREAN_KINDS = frozenset(w for words in KOREAN_CATEGORY_WORDS.values() for w in words)


def calibrate(raw: float) -> float:
    """Piecewise-linear map of a raw similarity onto a confidence."""
    return float(np.interp(raw, _XS, _YS))


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]+", " ", text.lower()).split())


Sounds = tuple[str, str, str]


def _sounds(text: str) -> Sounds:
    """Metaphone and NYSIIS codes (compared by similarity) and Soundex (compared equal or
    not: its short padded codes look alike by chance). Soundex only for short names of
    Latin letters: it keeps four signs ("ridgewood lame" codes as "ridgewood") and codes
    a Hangul name by its first letter alone."""
    squashed = text.replace(" ", "")
    short = len(squashed) <= _SOUNDEX_LETTERS and squashed.isascii() and squashed.isalpha()
    soundex = jellyfish.soundex(squashed) if short else ""
    return jellyfish.metaphone(squashed), jellyfish.nysiis(squashed), soundex


def similarity(heard: str, heard_sounds: Sounds, name: str, sounds: Sounds) -> float:
    """Spelling and sound together: sound can lift a close spelling, never replace it."""
    text = max(fuzz.ratio(heard, name), fuzz.ratio(heard.replace(" ", ""), name.replace(" ", "")))
    sound = max(
        max(
            fuzz.ratio(a, b) if a and b else 0.0
            for a, b in zip(heard_sounds[:2], sounds[:2], strict=True)
        ),
        100.0 if heard_sounds[2] and heard_sounds[2] == sounds[2] else 0.0,
    )
    return max(text, (text + sound) / 2) / 100


@dataclass(frozen=True)
class NameParts:
    full: str  # "ridgewood lane"
    stem: str  # "ridgewood"
    type: str | None  # "lane"; None for "Broadway", "Route 9"
    number: int | None  # 12 for "12th Street"
    sounds: Sounds

    @classmethod
    def of(cls, name: str) -> NameParts:
        words = _key(name).split()
        kind = STREET_TYPES.get(words[-1]) if len(words) > 1 else None
        stem_words = words[:-1] if kind else words
        stem = " ".join(stem_words)
        numbered = _NUMBERED.match(stem)
        return cls(
            full=" ".join(stem_words + ([kind] if kind else [])),
            stem=stem,
            type=kind,
            number=int(numbered.group(1)) if numbered else None,
            sounds=_sounds(stem),
        )


@dataclass(frozen=True)
class Scored:
    name: str  # the city's canonical name
    score: float  # calibrated, 0..1


class StreetMatcher:
    """The city's streets closest to a heard street name, best first.

    Every name is compared at once (rapidfuzz's cdist runs the comparisons in C): a
    city of a few thousand streets still answers in a few milliseconds.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.parts = {name: NameParts.of(name) for name in names}
        self._types: dict[str, set[str | None]] = {}  # stem -> the types the city has
        self._by_number: dict[int, list[str]] = {}
        for name, parts in self.parts.items():
            self._types.setdefault(parts.stem, set()).add(parts.type)
            if parts.number is not None:
                self._by_number.setdefault(parts.number, []).append(name)
        # Numbered streets also compare by their words: "forteeth street" is the
        # recognizer's spelling of fortieth (or fourteenth), not a number.
        said_as = {
            name: NameParts.of(f"{words} {parts.type or ''}")
            for name, parts in self.parts.items()
            if parts.number is not None and (words := ordinal_words(parts.number))
        }
        plain = sorted(n for n, p in self.parts.items() if p.number is None)
        self._named = plain + sorted(said_as)
        named = [self.parts[n] for n in plain] + [said_as[n] for n in sorted(said_as)]
        self._stems = [p.stem for p in named]
        self._squashed = [p.stem.replace(" ", "") for p in named]
        self._fulls = [p.full for p in named]
        self._squashed_fulls = [p.full.replace(" ", "") for p in named]
        self._metaphones = [p.sounds[0] for p in named]
        self._nysiis = [p.sounds[1] for p in named]
        self._soundex = np.array([p.sounds[2] for p in named])
        self._untyped = np.array([p.type is None for p in named])
        self._factors: dict[str | None, np.ndarray] = {
            kind: np.array([self._type_factor(kind, p) for p in named], dtype=np.float32)
            for kind in {None, *STREET_TYPES.values()}
        }
        self._korean = KoreanNames(sorted(self.parts))  # Hangul names: by jamo

    def match(self, heard: str, limit: int = 5) -> list[Scored]:
        if not _key(heard):
            return []
        said = NameParts.of(heard)
        if not said.stem:
            return []
        if has_hangul(heard):
            names, korean_raws = self._korean.raws(_key(heard))
            raws = [float(r) for r in korean_raws]
        elif said.number is not None:  # "12th", "12th street": by number only
            names = self._by_number.get(said.number, [])
            raws = [self._type_factor(said.type, self.parts[name]) for name in names]
        else:
            names, raws = self._named, list(self._raws(said))
        scores = np.interp(raws, _XS, _YS) if raws else []
        scored = [
            Scored(name, round(float(score), 4))
            for name, score in zip(names, scores, strict=True)
            if score >= MIN_SCORE
        ]
        scored.sort(key=lambda s: (-s.score, s.name))
        return scored[:limit]

    def _type_factor(self, said_type: str | None, parts: NameParts) -> float:
        if said_type is None:
            return _TYPE_MISSING if parts.type else 1.0
        if parts.type is None:
            return _TYPE_UNEXPECTED
        if said_type == parts.type:
            return 1.0
        has_it = said_type in self._types.get(parts.stem, ())
        return _TYPE_DIFFERENT if has_it else _TYPE_MISREMEMBERED

    def _raws(self, said: NameParts) -> np.ndarray:
        """Raw similarity of the heard name to every (unnumbered) street of the city."""
        squashed = said.stem.replace(" ", "")
        text = np.maximum(_ratios(said.stem, self._stems), _ratios(squashed, self._squashed))
        sound = np.maximum(
            _ratios(said.sounds[0], self._metaphones), _ratios(said.sounds[1], self._nysiis)
        )
        if said.sounds[2]:
            sound = np.maximum(sound, (self._soundex == said.sounds[2]).astype(np.float32))
        raw = np.maximum(text, (text + sound) / 2) * self._factors[said.type]
        if said.type is not None:  # "broad way" for Broadway
            whole = _ratios(said.full.replace(" ", ""), self._squashed)
            raw = np.where(self._untyped, np.maximum(raw, whole), raw)
        else:
            # The type run into the name ("beachway" for Beech Way), or a type word heard
            # as another word ("ridgewood lame"): the whole name against the whole name.
            raw = np.maximum(raw, _ratios(squashed, self._squashed_fulls))
            if " " in said.stem:
                raw = np.maximum(raw, _ratios(said.stem, self._fulls) * _TYPE_MISSING)
        return raw


def _ratios(query: str, choices: list[str]) -> np.ndarray:
    """fuzz.ratio of query to each choice, 0..1 (0 for an empty query or choice)."""
    if not query or not choices:
        return np.zeros(len(choices), dtype=np.float32)
    return process.cdist([query], choices, scorer=fuzz.ratio, dtype=np.float32)[0] / 100


@dataclass(frozen=True)
class _LandmarkKey:
    key: str
    target: str  # a landmark's name
    sounds: Sounds
    is_name: bool  # the landmark's own name, not an alias ("station" alone says little)


class LandmarkMatcher:
    """The city's landmarks closest to heard words: by name, by the city's aliases
    ("town hall") and by kind ("the hospital", "the high school")."""

    def __init__(self, landmarks: dict[str, str], aliases: Iterable[tuple[str, str]] = ()) -> None:
        """landmarks: name -> category; aliases: (alias, landmark name)."""
        self.categories = landmarks
        self._keys = [_LandmarkKey(_key(n), n, _sounds(_key(n)), True) for n in landmarks]
        for alias, target in aliases:
            key = re.sub(r"^(?:the|a)\s+", "", _key(alias))
            if target in landmarks and key:
                self._keys.append(_LandmarkKey(key, target, _sounds(key), False))

    def match(self, heard: str, limit: int = 5) -> list[Scored]:
        said = re.sub(r"^(?:the|a)\s+", "", _key(heard))
        if not said:
            return []
        sounds = _sounds(said)
        best: dict[str, float] = {}
        korean = has_hangul(said)
        for entry in self._keys:
            words, key_words = said.split(), entry.key.split()
            if korean:  # 경안시장: one word, its kind (시장) at its end
                raw = korean_similarity(said, entry.key)
                if jamo(entry.key).endswith(jamo(said)) and said in _KOREAN_KINDS:
                    raw = max(raw, 0.92)  # "시장" of 경안시장, "시청" of 광주시청
            else:
                raw = similarity(said, sounds, entry.key, entry.sounds)
            if set(words) <= set(key_words) and key_words[-1] in words:
                # "high school" of "Riverton High School"; not "main" of "main library":
                # the kind of place (its last word) must be said.
                raw = max(raw, 0.92)
            elif entry.is_name and set(key_words) <= set(words):
                raw = max(raw, 0.9)  # "the shell station" for "Shell"
            best[entry.target] = max(best.get(entry.target, 0.0), raw)
        for name, category in self.categories.items():
            if said in CATEGORY_WORDS.get(category, ()):
                best[name] = max(best.get(name, 0.0), 0.92)
        scored = [Scored(name, round(calibrate(raw), 4)) for name, raw in best.items()]
        scored = [s for s in scored if s.score >= MIN_SCORE]
        scored.sort(key=lambda s: (-s.score, s.name))
        return scored[:limit]
