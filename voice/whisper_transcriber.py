"""faster-whisper (CTranslate2) as a stages.Transcriber.

We drive the CTranslate2 model directly (features -> encode -> generate) instead
of `WhisperModel.transcribe` for two reasons:
- the encoder window: faster-whisper always pads the mel features to 30 s,
  while CTranslate2's Whisper encoder accepts shorter inputs; a caller's turn is
  a few seconds, so a 10 s window cuts encoder work about threefold
  (`Settings.whisper_window_seconds`; accuracy cost measured in callbench/speech_bench.py);
- one greedy pass with the scores we need to refuse invented text
  (no-speech probability, average log-probability, compression ratio).
Our own VAD gates the audio, so faster-whisper's VAD filter is not used.

Hints (`stages.RecognitionHints.prompt`, e.g. the city's street names when the bot asked
where) go in as Whisper's previous text, as faster-whisper's `initial_prompt`/`hotwords` do:
[sot_prev, prompt tokens..., sot sequence, no_timestamps]. Whisper conditions on them as on
earlier speech, so it spells a heard name as the prompt does. At most `MAX_PROMPT_TOKENS`
(Whisper's text context is 448: half of it, less one, as Whisper itself allows); a longer
hint loses its commonest words first.

A place answer (hints for `Expect.PLACE`, an English model) gets more: a small beam
(`place_beam_size`) and then the city's look-alike places scored against the same encoder
output (voice/place_rescoring.py), which puts a misheard street right; the first pass's
text stays in `Transcript.alternatives`. What each bought, and cost, is measured by
callbench/place_hints_bench.py. Another language's place answer (Korean) has the city's
road and landmark names scored whole against the same encoder output instead
(voice/road_scoring.py; measured by callbench/korean_speech.py); a close runner-up's
reading comes first in `alternatives`, then the first pass's text.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer

from nlu.contract import Expect
from voice.place_rescoring import PlaceNames, PlaceRescorer
from voice.road_scoring import RoadNames, RoadScorer
from voice.stages import PIPELINE_RATE, RecognitionHints, Transcript

FRAMES_PER_SECOND = 100  # mel frames (hop 160 at 16 kHz)
MAX_WINDOW_SECONDS = 30
MAX_TEXT_TOKENS = 448  # Whisper's decoder context
MAX_PROMPT_TOKENS = MAX_TEXT_TOKENS // 2 - 1

# Whole outputs Whisper is known to invent on silence, music or line noise.
_ALWAYS_INVENTED = re.compile(
    r"thanks? (you )?for watching|(like and|please) subscribe|subscribe to (my|our|the) channel|"
    r"subtitles|captions by|amara\.org|"
    r"transcribed by|translated by|www\.|\.com\b|^\W*(music|applause|silence)\W*$",
    re.IGNORECASE,
)
# Plausible on a call, so only refused when the scores also look doubtful.
_OFTEN_INVENTED = {"you", "thank you", "thanks", "bye", "okay", "oh", "so", "uh", "um", ""}


def _normalise(text: str) -> str:
    return re.sub(r"[^\w' ]+", "", text.lower()).strip()


def _drop_repeats(tokens: list[int]) -> list[int]:
    """Keep one copy of a transcript Whisper looped on ("A. A. A. A" -> "A.")."""
    n = len(tokens)
    for period in range(3, n // 2 + 1):
        if tokens[period:] == tokens[: n - period]:
            return tokens[:period]
    return _collapse_runs(tokens)


def _collapse_runs(tokens: list[int], longest: int = 4, times: int = 3) -> list[int]:
    """Keep one copy of a short phrase repeated `times` or more in a row ("a P P P P" -> "a P")."""
    out: list[int] = []
    i = 0
    while i < len(tokens):
        for size in range(1, longest + 1):
            unit = tokens[i : i + size]
            if len(unit) < size:
                break
            count = 1
            while tokens[i + count * size : i + (count + 1) * size] == unit:
                count += 1
            if count >= times:
                out += unit
                i += count * size
                break
        else:
            out.append(tokens[i])
            i += 1
            continue
        if len(unit) < size:
            out += tokens[i:]
            break
    return out


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


@dataclass(frozen=True)
class _Window:
    """Up to 30 s of audio, encoded: kept so a place answer's candidates are scored on it."""

    encoded: np.ndarray  # [1, time, width], the encoder's output
    frames: int  # mel frames that hold the audio (the rest is padding)
    seconds: float


class WhisperTranscriber:
    """Shared by all calls. Thread-safe; calls are serialised by a lock so two
    calls on a 2-core machine don't fight over the same cores (CTranslate2 uses
    `cpu_threads` for each one)."""

    def __init__(
        self,
        model_dir: Path | str,
        *,
        language: str = "en",
        window_seconds: int = 30,
        margin_seconds: float = 2.0,
        cpu_threads: int | None = None,
        beam_size: int = 1,
        no_speech_threshold: float = 0.6,
        log_prob_threshold: float = -1.0,
        min_log_prob: float = -1.8,
        compression_ratio_threshold: float = 2.4,
        pad_seconds: float = 0.3,
        place_beam_size: int = 3,
        rescore_places: bool = True,
    ) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "model.bin").is_file():
            raise FileNotFoundError(f"{model_dir / 'model.bin'} is missing (run `dutyline setup`)")
        if not 1 <= window_seconds <= MAX_WINDOW_SECONDS:
            raise ValueError("window_seconds must be between 1 and 30")
        threads = cpu_threads or min(4, os.cpu_count() or 1)
        self.name = f"whisper:{model_dir.name}"
        self.model_dir = model_dir
        self.window_seconds = window_seconds
        self.margin_seconds = margin_seconds
        self.beam_size = beam_size
        self.no_speech_threshold = no_speech_threshold
        self.log_prob_threshold = log_prob_threshold
        self.min_log_prob = min_log_prob
        self.compression_ratio_threshold = compression_ratio_threshold
        self.pad_seconds = pad_seconds
        self.place_beam_size = place_beam_size
        self.rescore_places = rescore_places
        self._whisper = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1
        )
        self._model: ctranslate2.models.Whisper = self._whisper.model
        multilingual = self._model.is_multilingual
        self.language = language if multilingual else "en"
        self._tokenizer = Tokenizer(
            self._whisper.hf_tokenizer, multilingual, task="transcribe", language=self.language
        )
        self._prompt = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        self._prompts: dict[str, list[int]] = {"": self._prompt}  # hint text -> prompt tokens
        self._suppress = sorted(
            {
                *self._tokenizer.non_speech_tokens,
                self._tokenizer.transcribe,
                self._tokenizer.translate,
                self._tokenizer.sot,
                self._tokenizer.sot_prev,
                self._tokenizer.sot_lm,
                self._tokenizer.no_speech,
            }
        )
        self._lock = threading.Lock()
        self._queued = 0  # transcriptions waiting for the model (under _counting)
        self._counting = threading.Lock()
        # Place answers rescored against the city's names: English only (the names are
        # compared by English sounds); scored without the hints' prompt.
        english = self.language == "en"
        self._rescorer = (
            PlaceRescorer(self._model, self._tokenizer, self._prompt) if english else None
        )
        self._place_names: dict[tuple[str, ...], PlaceNames] = {}
        # Another language's place answers: the city's names scored whole against the
        # audio instead (voice/road_scoring.py).
        self._road_scorer = (
            None
            if english
            else RoadScorer(
                PlaceRescorer(self._model, self._tokenizer, self._prompt),
                self._tokenizer,
                self._silence,
            )
        )

    def prompt_tokens(self, hints: RecognitionHints | None = None) -> list[int]:
        """The decoder's prompt: the hint's text as previous text, then the start sequence."""
        text = " ".join(hints.prompt.split()) if hints is not None else ""
        prompt = self._prompts.get(text)
        if prompt is None:
            prompt = [self._tokenizer.sot_prev, *self._previous_text(text), *self._prompt]
            with self._lock:  # a handful of hint texts, built once each
                self._prompts[text] = prompt
        return prompt

    def _previous_text(self, text: str) -> list[int]:
        """The hint's tokens, at most MAX_PROMPT_TOKENS: over that, the commonest one-token
        words go first ("State", "Park": Whisper spells them unaided; a token's id is its
        rank in the tokenizer's merges, so a low id is a frequent word)."""
        words = [self._tokenizer.encode(" " + word) for word in text.split()]
        excess = sum(len(tokens) for tokens in words) - MAX_PROMPT_TOKENS
        if excess > 0:
            common = sorted((t[0], i) for i, t in enumerate(words) if len(t) == 1)
            dropped = {i for _, i in common[:excess]}
            words = [tokens for i, tokens in enumerate(words) if i not in dropped]
        return [token for tokens in words for token in tokens][:MAX_PROMPT_TOKENS]

    def transcribe(self, pcm16k: bytes, hints: RecognitionHints | None = None) -> Transcript:
        started = time.perf_counter()
        prompt = self.prompt_tokens(hints)
        place = hints is not None and hints.expect == Expect.PLACE.value
        rescoring = place and self.rescore_places and self._rescorer is not None
        names = self._names(hints) if rescoring else None
        scoring_roads = place and self.rescore_places and self._road_scorer is not None
        road_names: RoadNames | None = None
        beam = max(self.beam_size, self.place_beam_size) if place else self.beam_size
        pcm16k = pcm16k[: len(pcm16k) // 2 * 2]  # a stray odd byte is not worth an error
        audio = np.frombuffer(pcm16k, dtype="<i2").astype(np.float32) / 32768.0
        if len(audio) < PIPELINE_RATE // 10:  # under 100 ms: nothing to hear
            return Transcript("", None, None, self.name, time.perf_counter() - started)
        if self.pad_seconds:
            # A turn cut close to its words ("There is a P...") decodes worse than the same
            # words with a little silence around them, as Whisper was trained on.
            pad = np.zeros(int(self.pad_seconds * PIPELINE_RATE), dtype=np.float32)
            audio = np.concatenate([pad, audio, pad])
        first = None  # the first pass's text, when rescoring changed it
        runner_up = None  # a close second road's reading (voice/road_scoring.py)
        with self._counting:
            self._queued += 1
        with self._lock:
            with self._counting:
                self._queued -= 1
                others_waiting = self._queued > 0
            if others_waiting and not scoring_roads:
                # Under load the wider beam's cost lands on every call queued behind this
                # one; the rescoring against the city's names (most of the gain) stays.
                # Not for road scoring (Korean): it only chooses among roads the first
                # pass comes near, so that pass keeps its beam.
                beam = self.beam_size
            if scoring_roads and self._road_scorer is not None:
                road_names = self._road_scorer.names(hints)
            texts, log_probs, no_speech = [], [], []
            step = MAX_WINDOW_SECONDS * PIPELINE_RATE
            for begin in range(0, len(audio), step):
                window = self._encode(audio[begin : begin + step])
                text, avg_log_prob, no_speech_prob = self._decode(window, prompt, beam)
                if text and names and self._rescorer and len(audio) <= step:
                    rescored = self._rescorer.rescore(window.encoded, window.frames, text, names)
                    if rescored.text != text:
                        first, text = text, rescored.text
                elif text and road_names and self._road_scorer and len(audio) <= step:
                    choice = self._road_scorer.choose(
                        window.encoded, window.frames, text, road_names
                    )
                    runner_up = choice.alternative
                    if choice.text != text:
                        first, text = text, choice.text
                if text:
                    texts.append(text)
                    log_probs.append(avg_log_prob)
                no_speech.append(no_speech_prob)
        seconds = time.perf_counter() - started
        no_speech_prob = min(no_speech) if no_speech else None
        if not texts:
            return Transcript("", None, no_speech_prob, self.name, seconds)
        avg_log_prob = sum(log_probs) / len(log_probs)
        confidence = min(1.0, math.exp(avg_log_prob))
        alternatives = tuple(a for a in (runner_up, first) if a is not None)
        return Transcript(
            " ".join(texts), confidence, no_speech_prob, self.name, seconds, alternatives
        )

    def _names(self, hints: RecognitionHints | None) -> PlaceNames | None:
        """The city's place names of a place answer's hints, built once per hint list."""
        if hints is None or not hints.phrases:
            return None
        names = self._place_names.get(hints.phrases)
        if names is None:
            names = PlaceNames.from_phrases(hints.phrases)
            with self._lock:
                self._place_names[hints.phrases] = names
        return names

    def _silence(self) -> tuple[np.ndarray, int]:
        """Silence, encoded: what the road names' priors are scored on (under the lock)."""
        window = self._encode(np.zeros(3 * PIPELINE_RATE, dtype=np.float32))
        return window.encoded, window.frames

    def raw_decode(self, pcm16k: bytes) -> tuple[str, float, float]:
        """One window's text, average log-probability and no-speech probability, unfiltered."""
        audio = np.frombuffer(pcm16k, dtype="<i2").astype(np.float32) / 32768.0
        with self._lock:
            window = self._encode(audio[: MAX_WINDOW_SECONDS * PIPELINE_RATE])
            return self._generate(window, self._prompt, self.beam_size)

    def _decode(self, window: _Window, prompt: list[int], beam: int) -> tuple[str, float, float]:
        """Text of up to 30 s of audio, or "" when it looks invented."""
        text, avg_log_prob, no_speech_prob = self._generate(window, prompt, beam)
        if self._looks_invented(text, avg_log_prob, no_speech_prob):
            return "", avg_log_prob, no_speech_prob
        return text, avg_log_prob, no_speech_prob

    def _encode(self, audio: np.ndarray) -> _Window:
        features = self._whisper.feature_extractor(audio)[..., :-1]
        seconds = len(audio) / PIPELINE_RATE
        # The window is at least the configured one and always holds the audio plus
        # some silence: a window that the speech fills makes Whisper repeat itself.
        wanted = math.ceil(seconds + self.margin_seconds)
        window = min(MAX_WINDOW_SECONDS, max(self.window_seconds, wanted))
        frames = window * FRAMES_PER_SECOND
        padded = np.zeros((features.shape[0], frames), dtype=np.float32)
        used = min(frames, features.shape[1])
        padded[:, :used] = features[:, :used]
        encoded = self._model.encode(ctranslate2.StorageView.from_array(padded[None]))
        return _Window(np.asarray(encoded), used, seconds)

    def _generate(self, window: _Window, prompt: list[int], beam: int) -> tuple[str, float, float]:
        # Speech runs at ~3 tokens/s; a cap stops runaway repetition early.
        # max_length counts the prompt too (CTranslate2's Whisper).
        max_new = min(MAX_TEXT_TOKENS - 8 - len(prompt), int(24 + 10 * window.seconds))
        result = self._model.generate(
            ctranslate2.StorageView.from_array(window.encoded),
            [prompt],
            beam_size=beam,
            max_length=len(prompt) + max_new,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        tokens = _drop_repeats(result.sequences_ids[0])
        text = self._tokenizer.decode(tokens).strip()
        # generate() returns the length-normalised score; recover faster-whisper's avg.
        avg_log_prob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -10.0
        return text, avg_log_prob, float(result.no_speech_prob)

    def _looks_invented(self, text: str, avg_log_prob: float, no_speech_prob: float) -> bool:
        if not text or _ALWAYS_INVENTED.search(text):
            return True
        # Whisper's own silence rule: probably no speech and not confident either.
        if no_speech_prob > self.no_speech_threshold and avg_log_prob < self.log_prob_threshold:
            return True
        if avg_log_prob < self.min_log_prob:
            return True
        if _compression_ratio(text) > self.compression_ratio_threshold:
            return True  # "the the the the ..."
        doubtful = no_speech_prob > 0.3 or avg_log_prob < -0.8
        return _normalise(text) in _OFTEN_INVENTED and doubtful
