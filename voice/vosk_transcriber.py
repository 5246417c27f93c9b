"""Vosk (Kaldi) as a stages.Transcriber, used for Korean (models/vosk/ko).

The Vosk `Model` is loaded once and shared; a `KaldiRecognizer` is cheap and
holds per-utterance state, so each `transcribe` call makes its own: the object
is thread-safe without a lock.

Hints: the Korean model is a small one with a run-time grammar (Gr.fst/HCLr.fst), so a
phrase list can restrict what it writes. For a place answer (`place_grammar=True`) the
grammar is the city's road names, split as the model's vocabulary spells them ("경안 로"),
the Sino-Korean numerals, counters and place words, and "[unk]" where a model has it (this
one has not, so whatever else the caller says is forced onto the grammar's words). Off by
default: measured on espeak-ng's Korean through the 8 kHz line (callbench/korean_speech.py,
docs/benchmarks.md) it got no more streets right (0 of 21 either way) and was slower.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import vosk

from nlu.contract import Expect
from voice.stages import PIPELINE_RATE, RecognitionHints, Transcript

vosk.SetLogLevel(-1)  # Kaldi logs every decoder step to stderr otherwise

# Words of a place answer besides the road: numerals (the model spells "백 이 십 삼"),
# counters, and what callers say around an address.
_PLACE_WORDS_TEXT = (
    "영 공 일 이 삼 사 오 육 칠 팔 구 십 백 천 번지 번 번길 길 로 대로 호 "
    "앞 뒤 옆 근처 건너편 사거리 골목 입구 쪽 이요 이에요 예요 요 시청 역 시장 광주"
)
_PLACE_WORDS = tuple(_PLACE_WORDS_TEXT.split())
_ROAD_ENDINGS = ("대로", "로", "길")


def place_grammar(phrases: tuple[str, ...]) -> str:
    """A Vosk grammar (JSON list) for a place answer from the city's names.

    Each name goes in whole and split before its ending ("경안로", "경안 로"): the model
    leaves out words its vocabulary lacks (most road names whole), so the split form is
    what it can write. Words it lacks are skipped by Vosk with a warning, harmlessly.
    """
    words: list[str] = []
    for phrase in phrases:
        for name in phrase.split():
            words.append(name)
            for ending in _ROAD_ENDINGS:
                if name.endswith(ending) and len(name) > len(ending):
                    words.append(f"{name[: -len(ending)]} {ending}")
                    break
    return json.dumps([*dict.fromkeys([*words, *_PLACE_WORDS]), "[unk]"], ensure_ascii=False)


class VoskTranscriber:
    def __init__(
        self, model_dir: Path | str, *, max_concurrent: int = 2, place_grammar: bool = False
    ) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "am" / "final.mdl").is_file():
            raise FileNotFoundError(
                f"{model_dir / 'am' / 'final.mdl'} is missing (run `dutyline setup`)"
            )
        self.name = f"vosk:{model_dir.name}"
        self.model_dir = model_dir
        self.place_grammar = place_grammar
        self._grammars: dict[tuple[str, ...], str] = {}  # place names -> grammar JSON
        self._model = vosk.Model(str(model_dir))
        # Decoding is single-threaded per recognizer; cap how many run at once.
        self._slots = threading.Semaphore(max_concurrent)

    def transcribe(self, pcm16k: bytes, hints: RecognitionHints | None = None) -> Transcript:
        started = time.perf_counter()
        pcm16k = pcm16k[: len(pcm16k) // 2 * 2]
        with self._slots:
            grammar = self._grammar(hints)
            recognizer = (
                vosk.KaldiRecognizer(self._model, PIPELINE_RATE, grammar)
                if grammar
                else vosk.KaldiRecognizer(self._model, PIPELINE_RATE)
            )
            recognizer.SetWords(True)
            # Vosk closes an utterance at each pause it detects; collect every one.
            results = []
            step = PIPELINE_RATE * 2  # one second of audio per call
            for begin in range(0, len(pcm16k), step):
                if recognizer.AcceptWaveform(pcm16k[begin : begin + step]):
                    results.append(json.loads(recognizer.Result()))
            results.append(json.loads(recognizer.FinalResult()))
        words = [word for result in results for word in result.get("result") or []]
        text = " ".join(" ".join(result.get("text", "") for result in results).split())
        confidence = sum(float(w.get("conf", 0.0)) for w in words) / len(words) if words else None
        return Transcript(
            text=text,
            confidence=confidence if text else None,
            engine=self.name,
            seconds=time.perf_counter() - started,
        )

    def _grammar(self, hints: RecognitionHints | None) -> str | None:
        if not self.place_grammar or hints is None or hints.expect != Expect.PLACE.value:
            return None
        if not hints.phrases:
            return None
        grammar = self._grammars.get(hints.phrases)
        if grammar is None:  # a few place lists per city, built once each
            grammar = self._grammars[hints.phrases] = place_grammar(hints.phrases)
        return grammar
