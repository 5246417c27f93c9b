"""What the answer to the bot's last question is likely to hold, and what to do with it.

The dialogue marks each question with the kind of answer it expects
(`nlu.contract.Expect`: a place, the complaint, yes or no, a number, a vehicle, an
animal). For each kind, `Expectations` holds, built once at start-up from the city's
vocabulary and shared read-only by every call:

- the recognizer's hints (`stages.RecognitionHints`): for a place, the city's street
  names as text Whisper takes as what was said just before, so it writes "Arthur Street",
  not "Earth or street"; for the other answers their words, for an engine with a phrase
  list (a prompt there made Whisper invent answers over line noise);
- a snapping step for the non-place answers: a misheard word that sounds like one word of
  the expected vocabulary, and clearly more like it than like any word callers commonly
  use on this line, is replaced ("a huge portal" -> "a huge pothole" for the opening).

Places are never snapped here: the geocoder in dispatch matches streets against the
city's own data (numbers, ranges, intersections), which a word list cannot. The place
hints' phrases (the city's streets and landmarks) also let the Whisper transcriber score
the look-alike places against the audio itself (voice/place_rescoring.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import jellyfish
import numpy as np
from rapidfuzz import fuzz, process

from dispatch.contract import PlaceVocabulary
from nlu.contract import Expect
from voice.stages import RecognitionHints


def _wordlist(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Street types said after a name; the prompt lists each street's name once, without them.
STREET_TYPES = frozenset(
    _wordlist(
        "street avenue road lane court drive place way terrace circle boulevard path "
        "parkway highway alley square row trail crescent"
    )
)
YES_NO_WORDS = ("yes", "yeah", "yep", "no", "nope", "correct", "right", "wrong")
NUMBER_WORDS = _wordlist(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred thousand"
)
VEHICLE_WORDS = _wordlist(
    "car truck pickup van sedan suv jeep motorcycle trailer bus "
    "black white silver gray grey red blue green yellow orange brown beige gold maroon "
    "toyota honda ford chevrolet chevy nissan hyundai kia subaru volkswagen dodge "
    "tesla mazda lexus bmw mercedes audi volvo buick cadillac chrysler ram gmc"
)
ANIMAL_WORDS = _wordlist(
    "deer raccoon opossum possum skunk squirrel rabbit fox coyote groundhog woodchuck "
    "dog cat bird goose duck pigeon turtle snake rat bat beaver porcupine"
)

# A word is snapped only if it is this much like a word of the expected vocabulary (0-100:
# spelling and two phonetic codes, averaged)...
MIN_LIKENESS = 75.0
# ...and this much more like it than like any word callers commonly say on the line.
MARGIN = 8.0
MIN_LETTERS = 4  # shorter words sound like too many others
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


class HasVocabulary(Protocol):
    def vocabulary(self) -> PlaceVocabulary: ...


@dataclass(frozen=True)
class RecognitionVocabulary:
    """The words a city's line expects, gathered by the app factory from dispatch and nlu."""

    places: PlaceVocabulary = field(default_factory=PlaceVocabulary)
    complaint_words: tuple[str, ...] = ()  # the complaint kinds' keywords
    # Words callers commonly say on this line (the dialogue's training examples): a
    # transcript word close to one of these was probably said as heard, and is kept.
    common_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snap:
    """One word replaced: what was heard and what it became."""

    heard: str
    snapped: str


def place_prompt(places: PlaceVocabulary) -> str:
    """The city's street names once each, without their types: "Ridge Ridgeway Ridgewood".

    Whisper takes it as previous text to spell by. Space-separated: commas cost a token
    each (Riverton's 156 names fit in 211 tokens, under Whisper's 223). Left out, by
    measurement (callbench/place_hints_bench.py): numbered streets ("12th Street"; Whisper
    writes numbers unaided), and the landmarks and aliases ("City Hall", "the station":
    plain words Whisper writes unaided, the geocoder reads them; with them the prompt got
    no more names right, and made Whisper invent a sentence over line hiss).
    """
    stems: list[str] = []
    for street in places.streets:
        name = street.split()
        while len(name) > 1 and name[-1].lower() in STREET_TYPES:
            name.pop()
        if name and not name[0][0].isdigit():
            stems.append(" ".join(name))
    return " ".join(dict.fromkeys(stems))


def place_hints(source: PlaceVocabulary | HasVocabulary) -> RecognitionHints:
    """The recognizer's hints when the bot asked where (a geocoder's vocabulary will do)."""
    places = source if isinstance(source, PlaceVocabulary) else source.vocabulary()
    return RecognitionHints(
        expect=Expect.PLACE.value,
        prompt=place_prompt(places),
        phrases=(*places.streets, *places.landmarks, *places.aliases),
    )


def _words(phrases: Iterable[str]) -> tuple[str, ...]:
    found = (w.lower() for phrase in phrases for w in _WORD.findall(phrase))
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=8192)
def _codes(word: str) -> tuple[str, str, str]:
    """The word, its NYSIIS code and the metaphone of how it sounds over a phone line.

    At 8 kHz "th" and "t" sound alike, and an "r" between a vowel and a consonant is all
    but lost ("portal" ~ "pothole"), so the metaphone is taken of the word without them.
    """
    line = re.sub(r"([aeiou])r(?=[^aeiouy])", r"\1", word.replace("th", "t"))
    return word, jellyfish.nysiis(word), jellyfish.metaphone(line)


def likeness(heard: str, word: str) -> float:
    """0-100: how much `heard` looks and sounds like `word` (lower case)."""
    a, b = _codes(heard), _codes(word)
    return sum(fuzz.ratio(x, y) for x, y in zip(a, b, strict=True)) / 3


def _inflected(word: str, vocabulary: tuple[str, ...]) -> bool:
    """ "potholes", "leaking": a form of an expected word, not a rival to it."""
    if word in vocabulary:
        return True
    return any(word.endswith(end) and word[: -len(end)] in vocabulary for end in _ENDINGS)


_ENDINGS = ("s", "es", "ed", "ing")


class Expectations:
    """Hints and snapping per expected answer; built once, shared by all calls."""

    def __init__(
        self,
        vocabulary: RecognitionVocabulary,
        *,
        locale: str = "en",
        other_places: Mapping[str, PlaceVocabulary] | None = None,
    ) -> None:
        self.locale = locale
        # Another language's line (e.g. {"ko": Gwangju's names}): its place answers get the
        # place hints; nothing else (snapping and the short answers' words are English).
        # Korean previous text for the other answers was measured and not kept
        # (docs/benchmarks.md "Korean recognition", 2026-12-07): "네 아니요" turned "아니요
        # 틀렸어요" into "아 네 요 수 요" and silence into "네" (a false yes), the complaint
        # keywords raised the CER and came out over noise ("주차 불법"), the number words
        # were written over the digits in the prompt's order ("삼 사 오 육 칠 팔 구").
        # A city without places gives none (its answers are heard without names).
        self.other_place_hints: dict[str, RecognitionHints] = {
            language: place_hints(names)
            for language, names in (other_places or {}).items()
            if not names.empty
        }
        places = vocabulary.places
        complaint = _words(vocabulary.complaint_words)
        self.words: dict[Expect, tuple[str, ...]] = {
            Expect.COMPLAINT: complaint,
            Expect.YES_NO: YES_NO_WORDS,
            Expect.READ_BACK: YES_NO_WORDS,
            Expect.MORE: YES_NO_WORDS + complaint,  # "no", or another report
            Expect.NUMBER: NUMBER_WORDS,
            Expect.DIGITS: NUMBER_WORDS,  # a caller may say the digits instead of keying them
            Expect.VEHICLE: VEHICLE_WORDS,
            Expect.ANIMAL: ANIMAL_WORDS,
        }
        # Only a place answer gets a prompt. Measured on tiny.en through the 8 kHz line
        # (callbench/place_hints_bench.py, docs/benchmarks.md): the street names put right
        # far more place answers than they spoil, and noise stays silent; a short list
        # ("1, 2, 3, 12" / "car, truck" / "Yes. No.") made Whisper write that list, or
        # "Yeah.", over line noise and hum, and the complaint keywords gained 3 words in
        # 60 for one opening lost. The other answers get their words (engines with a phrase
        # list) and the snapping below.
        self.hints: dict[Expect, RecognitionHints] = {
            Expect.PLACE: place_hints(places),
            **{
                expect: RecognitionHints(expect=expect.value, phrases=words)
                for expect, words in self.words.items()
            },
        }
        every = {word for words in self.words.values() for word in words}
        self._common = frozenset(_words(vocabulary.common_words)) | every
        self._place_words = frozenset(_words(places.streets + places.landmarks + places.aliases))
        # Per expected answer, the common words a heard word must be clearly less like
        # (not the expected words, nor their forms), as columns of codes for one cdist.
        self._rivals: dict[Expect, tuple[list[str], list[str], list[str]]] = {}
        for expect, words in self.words.items():
            rivals = sorted(w for w in self._common if not _inflected(w, words))
            codes = [_codes(w) for w in rivals]
            self._rivals[expect] = (
                [c[0] for c in codes],
                [c[1] for c in codes],
                [c[2] for c in codes],
            )

    def hints_for(self, expect: Expect | None, locale: str = "en") -> RecognitionHints | None:
        """The hints for an expected answer, or None (nothing expected, another language)."""
        language = locale.split("-")[0].split("_")[0]
        if expect is Expect.PLACE and language in self.other_place_hints:
            return self.other_place_hints[language] or None
        if expect is None or not self._same_language(locale):
            return None
        hints = self.hints.get(expect)
        return hints if hints else None

    def snap(self, text: str, expect: Expect | None, locale: str = "en") -> tuple[str, list[Snap]]:
        """The transcript with misheard words of the expected vocabulary put right.

        Only for the non-place answers (places go to the geocoder as heard). Conservative:
        a word is replaced only when it sounds like one expected word and clearly more
        like it than like any word callers commonly say here (which it then probably is).
        """
        if expect is None or expect is Expect.PLACE or not self._same_language(locale):
            return text, []
        if not self.words.get(expect):
            return text, []
        snaps: list[Snap] = []

        def replace(match: re.Match[str]) -> str:
            heard = match.group(0)
            snapped = self._closest(heard.lower(), expect)
            if snapped is None:
                return heard
            snaps.append(Snap(heard, snapped))
            return snapped.capitalize() if heard[0].isupper() else snapped

        return _WORD.sub(replace, text), snaps

    def _closest(self, heard: str, expect: Expect) -> str | None:
        vocabulary = self.words[expect]
        if len(heard) < MIN_LETTERS or heard in vocabulary or heard in self._common:
            return None
        if heard in self._place_words:
            return None  # "Eagle", "Birch": the caller may be naming a street
        score, best = max((likeness(heard, word), word) for word in vocabulary)
        if score < MIN_LIKENESS:
            return None
        # Clearly closer to the expected word than to any common word of the line.
        rivals = self._rivals[expect]
        if rivals[0]:
            codes = _codes(heard)
            scores = sum(
                process.cdist([code], column, scorer=fuzz.ratio)[0]
                for code, column in zip(codes, rivals, strict=True)
            )
            if float(np.max(scores)) / 3 > score - MARGIN:
                return None
        return best

    def _same_language(self, locale: str) -> bool:
        return locale.split("-")[0].split("_")[0] == self.locale


NO_EXPECTATIONS = Expectations(RecognitionVocabulary())
