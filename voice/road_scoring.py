"""A non-English place answer's road picked by scoring the city's names against the audio.

Free decoding of a poor line hears few Korean road names right ("경안로 123" -> "용안부팩
이씨"). Whisper can still tell which of the city's names the audio most likely starts with:
each name is scored as the transcript's beginning against the encoder output the first
pass already made (CTranslate2's `Whisper.align`, as voice/place_rescoring.py does for
English, which instead compares look-alike spellings, an English-only idea).

The raw sum of log-probabilities favours short, common names ("중대로": three tokens the
decoder expects anyway), the mean per token favours names whose later tokens follow
easily. What picks best, measured (callbench/korean_speech.py, docs/benchmarks.md "Korean
recognition"), is how much more likely the audio makes the name than silence does:

    score = log P(name | audio) - ALPHA * log P(name | silence) + LAMBDA * tokens

The prior (silence) is scored once per name list. The chosen name replaces the first
pass's word it resembles, else its first word (`compose`); the rest (the building number)
is kept. A
best score under `MIN_SCORE` (the answer names no place of the city, e.g. "모르겠어요")
leaves the first pass alone; a close runner-up is kept as an alternative reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from faster_whisper.tokenizer import Tokenizer
from rapidfuzz import fuzz

from voice.place_rescoring import PlaceRescorer
from voice.stages import RecognitionHints

# Tuned on half of the 25 place utterances of data/sample_calls/korean_utterances.yaml and
# checked on the other half (docs/benchmarks.md); a plateau: 1.0-2.5 and 0.5-0.75 do as well.
LAMBDA = 1.75  # nats per token: undoes the sum's pull toward short names
ALPHA = 0.75  # weight of the name's likelihood over silence (its prior)
# Right names scored >= 3.4, 20 of the 24 answers that named no place < 3.0 (measured).
MIN_SCORE = 3.0
CLOSE = 3.0  # a runner-up within this many nats is kept as an alternative reading
MAX_NAMES = 200  # a bigger city is not scored: latency grows with the names (~30 ms each)
BATCH = 64  # names aligned at once (memory: the encoder output is repeated per name)
SILENCE_SECONDS = 3
MIN_LIKENESS = 50.0  # a heard word this much like the chosen name is where it was said
_WORD = re.compile(r"^(\D*)(\d.*)?$")  # "경안로123이요" -> letters, then the number part


@dataclass(frozen=True)
class RoadNames:
    """The names a place answer's hints offer for scoring, with what is known of each."""

    names: tuple[str, ...]
    tokens: np.ndarray  # tokens per name
    prior: np.ndarray  # log P(name | silence)

    def __len__(self) -> int:
        return len(self.names)


def scored_names(hints: RecognitionHints) -> tuple[str, ...]:
    """The roads (the prompt's words) and landmarks of a place answer's hints.

    The phrases also hold the geocoder's short forms of the landmarks ("시청" of "광주시청",
    "광주 시청"): a phrase with a space, or the end of another phrase, is such a form and is
    left out (short forms scored alone win on too little audio)."""
    roads = hints.prompt.split()
    phrases = [p.strip() for p in hints.phrases if p.strip() and " " not in p.strip()]
    landmarks = [
        p for p in phrases if not any(o != p and o.endswith(p) for o in phrases) and p not in roads
    ]
    return tuple(dict.fromkeys([*roads, *landmarks]))


def compose(first: str, name: str) -> str:
    """The first pass with `name` in place of the early word most like it, else of its
    first word (the name was scored as the answer's beginning), the number part kept; in
    front when the answer starts with a number. A misheard road-like word left beside the
    name ("태재로 헤네로") makes the geocoder doubt which road was meant."""
    words = first.split()
    if not words:
        return name
    best, at = 0.0, 0
    for i, word in enumerate(words[:3]):  # the place comes first in an answer
        letters = _WORD.match(word)
        likeness = fuzz.ratio(letters.group(1) if letters else word, name)
        if likeness > best:
            best, at = likeness, i
    if best < MIN_LIKENESS:
        at = 0
    letters = _WORD.match(words[at])
    if letters is None or not letters.group(1).strip():
        return " ".join([name, *words])
    number = letters.group(2) if letters and letters.group(2) else ""
    words[at : at + 1] = [name, number] if number else [name]
    return " ".join(words)


@dataclass(frozen=True)
class RoadChoice:
    text: str  # the transcript to use: the first pass, or with the chosen name
    name: str | None  # the chosen name (None: the first pass stands)
    score: float
    alternative: str | None = None  # the runner-up's transcript, when it was close


class RoadScorer:
    """Scores a city's names against one utterance's encoder output. Not locked: the
    transcriber calls it under its own lock."""

    def __init__(
        self,
        rescorer: PlaceRescorer,
        tokenizer: Tokenizer,
        silence: Callable[[], tuple[np.ndarray, int]],
        *,
        max_names: int = MAX_NAMES,
    ) -> None:
        self._rescorer = rescorer
        self._tokenizer = tokenizer
        self._silence = silence  # (encoded, frames) of silence: for the names' prior
        self.max_names = max_names
        self._cache: dict[tuple[str, ...], RoadNames | None] = {}

    def names(self, hints: RecognitionHints | None) -> RoadNames | None:
        """The hints' names with their priors, built once per hint list; None when there
        are none or too many to score in time."""
        if hints is None:
            return None
        key = (hints.prompt, *hints.phrases)
        if key not in self._cache:
            names = scored_names(hints)
            if not names or len(names) > self.max_names:
                self._cache[key] = None
            else:
                tokens = np.array([len(self._tokenizer.encode(" " + n)) for n in names])
                encoded, frames = self._silence()
                prior = np.array(self.scores(encoded, frames, names))
                self._cache[key] = RoadNames(names, tokens, prior)
        return self._cache[key]

    def scores(self, encoded: np.ndarray, frames: int, texts: Sequence[str]) -> list[float]:
        out: list[float] = []
        for begin in range(0, len(texts), BATCH):
            out += self._rescorer.scores(encoded, frames, texts[begin : begin + BATCH])
        return out

    def choose(self, encoded: np.ndarray, frames: int, first: str, names: RoadNames) -> RoadChoice:
        raw = np.array(self.scores(encoded, frames, names.names))
        scores = raw - ALPHA * names.prior + LAMBDA * names.tokens
        order = np.argsort(-scores)
        best = float(scores[order[0]])
        if best < MIN_SCORE:
            return RoadChoice(first, None, round(best, 2))
        name = names.names[order[0]]
        alternative = None
        if len(order) > 1:
            runner_up = float(scores[order[1]])
            if runner_up >= MIN_SCORE and best - runner_up < CLOSE:
                alternative = compose(first, names.names[order[1]])
        return RoadChoice(compose(first, name), name, round(best, 2), alternative)
