"""Vosk (Kaldi) as a stages.Transcriber, used for Korean (models/vosk/ko).

The Vosk `Model` is loaded once and shared; a `KaldiRecognizer` is cheap and
holds per-utterance state, so each `transcribe` call makes its own: the object
is thread-safe without a lock.

Recognition hints are not used: the Korean model's grammar would restrict what a caller
may say to the phrases listed, and a place answer holds more than a road's name.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import vosk

from voice.stages import PIPELINE_RATE, RecognitionHints, Transcript

vosk.SetLogLevel(-1)  # Kaldi logs every decoder step to stderr otherwise


class VoskTranscriber:
    def __init__(self, model_dir: Path | str, *, max_concurrent: int = 2) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "am" / "final.mdl").is_file():
            raise FileNotFoundError(
                f"{model_dir / 'am' / 'final.mdl'} is missing (run `dutyline setup`)"
            )
        self.name = f"vosk:{model_dir.name}"
        self.model_dir = model_dir
        self._model = vosk.Model(str(model_dir))
        # Decoding is single-threaded per recognizer; cap how many run at once.
        self._slots = threading.Semaphore(max_concurrent)

    def transcribe(self, pcm16k: bytes, hints: RecognitionHints | None = None) -> Transcript:
        started = time.perf_counter()
        pcm16k = pcm16k[: len(pcm16k) // 2 * 2]
        with self._slots:
            recognizer = vosk.KaldiRecognizer(self._model, PIPELINE_RATE)
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
