"""A place answer's street put right by the audio itself: the city's look-alike places,
scored by Whisper against the caller's words.

Whisper's first pass writes what it hears best, and on an 8 kHz line a street name often
comes out as a look-alike ("Forest Street" for 4th Street, "Grand Avenue" for Grant
Avenue), a house number runs into the street ("1412 Street" for "14, 12th Street") and
"block of" comes out as "Bluck of". The geocoder snaps spelling to the city's names, but
spelling alone cannot tell which of two close names the caller said; the audio can. So,
for a place answer only:

1. `replacements`: the first pass's words with one change each: a short run of words that
   looks or sounds like one of the city's names (rapidfuzz on the spelling, jellyfish's
   Metaphone and NYSIIS on the sound, numbers compared as said: "Dent" ~ "tenth") replaced
   by that name; a house number run into a numbered street split where the city has that
   street; "219th 15th Street" with a cardinal house number; "30 2nd Street" as 32nd
   Street; a stray word before a numbered street dropped; a misheard "block of" after a
   number, or "corner of". A name heard exactly as the city writes it is left alone.
2. `PlaceRescorer.rescore`: each candidate's probability under the same audio
   (CTranslate2's `Whisper.align` gives every token's probability by teacher forcing, on
   the encoder output the first pass already computed, cut to the speech; one batch), and
   the changes that beat the first pass's words by `MARGIN` (log-probability, nats) are
   made, the best first, none overlapping.

Candidates are scored without the street-name prompt: on the place benchmark
(callbench/place_hints_bench.py) the prompt's pull toward the names it lists made it a
worse judge between them, and the multilingual base model no better a judge than tiny.en.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import ctranslate2
import jellyfish
import numpy as np
from faster_whisper.tokenizer import Tokenizer
from rapidfuzz import fuzz, process

from dispatch.places.numbers import ordinal_words


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Street-type words (and abbreviations) a street name ends with.
STREET_TYPES = frozenset(
    _words(
        "street st avenue ave road rd lane ln court ct drive dr place pl way terrace circle "
        "boulevard blvd path parkway highway alley square row trail crescent"
    )
)
MIN_LIKENESS = 70.0  # 0-100: a run of words this much like a name is worth scoring
MIN_PHRASE_LIKENESS = 50.0  # heard words against "block of", "corner of"
MAX_WORDS = 3  # the longest run of heard words one name replaces
MAX_NAME_WORDS = 6  # the longest name looked for as heard ("Harbor Road Public Library")
PER_SLOT = 3  # names tried for the same heard words
MAX_CANDIDATES = 4  # transcripts scored besides the first pass (each costs a decoder pass)
MARGIN = 1.0  # nats a replacement must gain over the first pass's words
FRAMES_AFTER = 50  # encoder frames (20 ms each) kept after the speech for scoring

_PIECE = re.compile(r"\d+(?:[,.]\d+)*(?:st|nd|rd|th)?|[A-Za-z]+(?:'[A-Za-z]+)?")
_DIGITS = re.compile(r"^(\d+(?:[,.]\d+)*)(st|nd|rd|th)?$")
_SMALL = _words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TENS = _words("- - twenty thirty forty fifty sixty seventy eighty ninety")
_TENS_DIGITS = frozenset(str(tens) for tens in range(20, 100, 10))


def _cardinal_words(n: int) -> str | None:
    if n < 20:
        return _SMALL[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return _TENS[tens] + (f" {_SMALL[unit]}" if unit else "")
    return None


def spoken(piece: str) -> str:
    """How a written word is said, for comparing by sound: "30th" -> "thirtieth", "32" ->
    "thirty two"; longer numbers stay digits (no street name sounds like them)."""
    number = _DIGITS.match(piece)
    if not number:
        return piece.lower()
    value = int(re.sub(r"\D", "", number.group(1)) or 0)
    said = ordinal_words(value) if number.group(2) else _cardinal_words(value)
    return said or piece.lower()


def _sounds(key: str) -> tuple[str, str]:
    squashed = key.replace(" ", "")
    return jellyfish.metaphone(squashed), jellyfish.nysiis(squashed)


@dataclass(frozen=True)
class PlaceNames:
    """The city's place names as Whisper writes them, with how each sounds; built once per
    hints (`from_phrases`) and shared read-only."""

    written: tuple[str, ...]  # "Quail Street", "10th Street", "Civic Center"
    keys: tuple[str, ...]  # "quail street", "tenth street", "civic center"
    metaphones: tuple[str, ...]
    nysiis: tuple[str, ...]
    numbered: dict[int, str]  # 10 -> "10th Street": the numbered streets by number

    @classmethod
    def from_phrases(cls, phrases: Iterable[str]) -> PlaceNames:
        """The names of `RecognitionHints.phrases` as written with capitals (the city's
        streets and landmarks); its lower-case aliases ("the station") are the geocoder's."""
        written = tuple(dict.fromkeys(p.strip() for p in phrases if p.strip()[:1].isupper()
                                      or p.strip()[:1].isdigit()))  # fmt: skip
        keys = tuple(" ".join(spoken(w) for w in _PIECE.findall(name)) for name in written)
        sounds = [_sounds(key) for key in keys]
        numbered = {}
        for name in written:
            words = name.split()
            number = _DIGITS.match(words[0])
            if number and number.group(2) and len(words) == 2 and words[1].lower() in STREET_TYPES:
                numbered.setdefault(int(number.group(1)), name)
        return cls(
            written, keys, tuple(s[0] for s in sounds), tuple(s[1] for s in sounds), numbered
        )

    @cached_property
    def _lowered(self) -> frozenset[str]:
        return frozenset(name.lower() for name in self.written)

    def is_name(self, words: Sequence[str]) -> bool:
        return " ".join(words).lower() in self._lowered


@dataclass(frozen=True)
class Replacement:
    """Heard pieces [start, end) replaced by `text`."""

    start: int
    end: int
    text: str
    likeness: float  # 0-100, how much the heard words look and sound like `text`

    def overlaps(self, other: Replacement) -> bool:
        return self.start < other.end and other.start < self.end


def pieces(text: str) -> list[str]:
    """The words and numbers of a transcript, punctuation left out; a number and the letters
    run into it apart ("2304A" -> "2304", "A"), an ordinal kept whole ("30th")."""
    return _PIECE.findall(text)


def apply(heard: Sequence[str], chosen: Iterable[Replacement]) -> str:
    """The heard pieces with the (non-overlapping) replacements made."""
    out, at = [], 0
    for replacement in sorted(chosen, key=lambda r: r.start):
        out += [*heard[at : replacement.start], replacement.text]
        at = replacement.end
    return " ".join([*out, *heard[at:]])


def _likeness(spans: list[str], names: PlaceNames) -> np.ndarray:
    """0-100 for every (heard run, name): spelling, and spelling with sound averaged."""
    keys = list(names.keys)
    text = process.cdist(spans, keys, scorer=fuzz.ratio, dtype=np.float32)
    squashed = [s.replace(" ", "") for s in spans]
    sounds = [_sounds(s) for s in spans]
    metaphone = process.cdist([s[0] for s in sounds], list(names.metaphones), scorer=fuzz.ratio)
    nysiis = process.cdist([s[1] for s in sounds], list(names.nysiis), scorer=fuzz.ratio)
    whole = process.cdist(squashed, [k.replace(" ", "") for k in keys], scorer=fuzz.ratio)
    text = np.maximum(text, whole)
    return np.maximum(text, (text + np.maximum(metaphone, nysiis)) / 2)


def _is_number(piece: str) -> bool:
    return bool(_DIGITS.match(piece))


def _may_be_named(words: list[str]) -> bool:
    """A run of heard words that may be one name: not starting with a street type, not
    starting or ending with a small word ("and Otter Terrace"), holding no house number
    ("2008 4th Street") and no ordinal but at its start ("Larka 30th Street")."""
    first, last = words[0].lower(), words[-1].lower()
    if first in STREET_TYPES or first in _SMALL_WORDS or last in _SMALL_WORDS:
        return False
    for i, word in enumerate(words):
        number = _DIGITS.match(word)
        if number and (not number.group(2) or i > 0 or spoken(word) == word.lower()):
            return False  # a house number, or an ordinal no street has ("1669th")
    return True


def _name_replacements(heard: list[str], names: PlaceNames) -> list[Replacement]:
    """Runs of heard words replaced by the city's names they look or sound most like."""
    spans = [
        (start, start + size)
        for start in range(len(heard))
        for size in range(1, MAX_WORDS + 1)
        if start + size <= len(heard) and _may_be_named(heard[start : start + size])
    ]
    if not spans or not names.written:
        return []
    keys = [" ".join(spoken(p) for p in heard[a:b]) for a, b in spans]
    scores = _likeness(keys, names)
    found: list[Replacement] = []
    for row, (start, end) in enumerate(spans):
        if end < len(heard) and heard[end].lower() in STREET_TYPES:
            continue  # "Lincoln" of "Lincoln Avenue": the run takes its type along
        for column in np.argsort(-scores[row])[:PER_SLOT]:
            score = float(scores[row, column])
            name = names.written[column]
            if score >= MIN_LIKENESS and name.split() != heard[start:end]:
                found.append(Replacement(start, end, name, round(score, 1)))
    return found


def _number_replacements(heard: list[str], names: PlaceNames) -> list[Replacement]:
    """A house number read wrong next to a numbered street."""
    found: list[Replacement] = []
    for i, piece in enumerate(heard):
        number = _DIGITS.match(piece)
        if not number:
            continue
        digits = re.sub(r"\D", "", number.group(1))
        following = heard[i + 1] if i + 1 < len(heard) else ""
        # "A 500-Lacum 33rd Street": a numbered street after a word that is nothing.
        if number.group(2) and i > 0 and names.is_name(heard[i : i + 2]):
            before = heard[i - 1]
            if not _is_number(before) and before.lower() not in _SMALL_WORDS | STREET_TYPES:
                found.append(Replacement(i - 1, i + 2, " ".join(heard[i : i + 2]), 60.0))
        # "219th 15th Street": a house number does not take an ordinal.
        if number.group(2) and _is_number(following):
            found.append(Replacement(i, i + 1, digits, 90.0))
        # "30 2nd Street": "thirty second" written as two numbers.
        unit = _DIGITS.match(following)
        if (
            not number.group(2)
            and digits in _TENS_DIGITS
            and unit
            and unit.group(2)
            and len(unit.group(1)) == 1
        ):
            street = names.numbered.get(int(digits) + int(unit.group(1)))
            if street and heard[i + 2 : i + 3] == street.split()[1:]:
                found.append(Replacement(i, i + 3, street, 85.0))
        # "1412 Street", "810th Street", "2.22.13.32 Street": a house number run into a
        # numbered street; split where the city has that street.
        typed = following.lower() in STREET_TYPES
        run_in = number.group(2) and int(digits) not in names.numbered
        if ((typed and not number.group(2)) or run_in) and len(digits) >= 2:
            end = i + 2 if typed else i + 1
            for cut in range(1, len(digits)):
                street = names.numbered.get(int(digits[cut:]))
                if street and digits[cut] != "0":
                    found.append(Replacement(i, end, f"{digits[:cut]} {street}", 80.0))
    return found


# Words a place answer is built with, as a line mishears them: "The 300 Bluck of Shaw
# Street", "McConner on 35th Street and Jackson Avenue". (said, written, after a number)
PHRASES = (("block of", "block of", True), ("corner of", "corner of", False))
_KEPT = frozenset(("front", "intersection"))
_SMALL_WORDS = frozenset(_words("and at by in of on or the to"))


def _phrase_replacements(heard: list[str]) -> list[Replacement]:
    """Runs of heard words that sound like "block of" (after a number) or "corner of"."""
    found: list[Replacement] = []
    for start in range(len(heard)):
        for size in range(1, MAX_WORDS + 1):
            words = heard[start : start + size]
            if len(words) < size or any(_is_number(w) or w.lower() in STREET_TYPES for w in words):
                break
            said = " ".join(w.lower() for w in words)
            if said.split()[-1] in _KEPT:
                break  # "in front of", "the intersection of": said as written
            for phrase, written, after_number in PHRASES:
                if after_number and (start == 0 or not _is_number(heard[start - 1])):
                    continue
                if phrase.split()[0] in said.split() or said == phrase.split()[-1]:
                    continue  # heard right already: "the corner", "block of Lark"
                likeness = fuzz.ratio(said, phrase)
                if likeness >= MIN_PHRASE_LIKENESS:
                    found.append(Replacement(start, start + size, written, round(likeness, 1)))
    return found


def replacements(
    heard: list[str], names: PlaceNames, limit: int = MAX_CANDIDATES
) -> list[Replacement]:
    """The replacements worth scoring: at most `limit`, each changing the transcript
    differently. Each name is tried once (on the heard words most like it), and the
    places in the answer take turns (its first street's best look-alike, its second
    street's, a misheard "block of", then each one's second best...), so one look-alike-rich
    name does not crowd out the rest."""
    # The words of a name heard as the city writes it are left alone by the look-alikes.
    exact = [
        (a, b)
        for a in range(len(heard))
        for b in range(a + 1, min(len(heard), a + MAX_NAME_WORDS) + 1)
        if names.is_name(heard[a:b])
    ]
    alike = [
        r
        for r in _name_replacements(heard, names) + _phrase_replacements(heard)
        if not any(r.start < b and a < r.end for a, b in exact)
    ]
    every = alike + _number_replacements(heard, names)
    every.sort(key=lambda r: (-r.likeness, r.start, r.text))
    slots: dict[int, list[Replacement]] = {}
    seen_names: set[str] = set()
    texts = {" ".join(heard)}
    for replacement in every:
        text = apply(heard, [replacement])
        if text in texts or replacement.text in seen_names:
            continue
        texts.add(text)
        seen_names.add(replacement.text)
        # Runs ending on the same word name the same thing: one slot.
        slots.setdefault(replacement.end, []).append(replacement)
    ranked = sorted(slots.values(), key=lambda slot: -slot[0].likeness)
    kept = [slot[rank] for rank in range(PER_SLOT) for slot in ranked if rank < len(slot)]
    return kept[:limit]


def choose(
    gains: Sequence[tuple[Replacement, float]], margin: float | None = None
) -> list[Replacement]:
    """The replacements that beat the first pass by `margin` (default `MARGIN`), best
    first, none overlapping."""
    margin = MARGIN if margin is None else margin
    chosen: list[Replacement] = []
    for replacement, gain in sorted(gains, key=lambda g: -g[1]):
        if gain >= margin and not any(replacement.overlaps(c) for c in chosen):
            chosen.append(replacement)
    return chosen


@dataclass(frozen=True)
class Rescored:
    text: str  # the transcript to use: the first pass's, or with the chosen replacements
    tried: tuple[str, ...]  # the candidate transcripts scored
    gain: float  # log-probability the chosen text gained over the first pass (0: none)


class PlaceRescorer:
    """Scores candidate transcripts against one utterance's encoder output. Not locked:
    the transcriber calls it under its own lock."""

    def __init__(
        self, model: ctranslate2.models.Whisper, tokenizer: Tokenizer, start: list[int]
    ) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._start = start  # the start sequence, no prompt (see the module's docstring)

    def scores(self, encoded: np.ndarray, frames: int, texts: Sequence[str]) -> list[float]:
        """Each text's log-probability given the audio; `encoded` is [1, time, width]
        and `frames` the mel frames that hold the audio (two per encoder frame)."""
        keep = min(encoded.shape[1], frames // 2 + FRAMES_AFTER)
        batch = np.ascontiguousarray(np.repeat(encoded[:, :keep], len(texts), axis=0))
        tokens = [self._tokenizer.encode(" " + text) for text in texts]
        results = self._model.align(
            ctranslate2.StorageView.from_array(batch), self._start, tokens, [frames] * len(texts)
        )
        return [
            float(np.log(np.maximum(np.asarray(r.text_token_probs), 1e-9)).sum()) for r in results
        ]

    def rescore(self, encoded: np.ndarray, frames: int, first: str, names: PlaceNames) -> Rescored:
        heard = pieces(first)
        found = replacements(heard, names)
        if not found:
            return Rescored(first, (), 0.0)
        texts = [" ".join(heard), *(apply(heard, [r]) for r in found)]
        scored = self.scores(encoded, frames, texts)
        gains = [(r, s - scored[0]) for r, s in zip(found, scored[1:], strict=True)]
        chosen = choose(gains)
        if not chosen:
            return Rescored(first, tuple(texts[1:]), 0.0)
        gain = sum(g for r, g in gains if r in chosen)
        return Rescored(apply(heard, chosen), tuple(texts[1:]), round(gain, 2))
