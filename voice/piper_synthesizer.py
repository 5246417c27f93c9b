"""Piper (VITS, ONNX) as a stages.Synthesizer.

`synthesize` yields one PCM chunk per sentence, so the first sentence can be
on the line while the rest is still being made. Shared by all calls and
thread-safe: espeak-ng's phonemizer inside Piper is global C state, and on a
2-core machine two ONNX runs at once only slow each other, so calls take turns
sentence by sentence, earliest due first (voice.engine_queue).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime
from piper import PiperVoice
from piper.config import PiperConfig

from voice.engine_queue import EngineQueue

SENTENCE_GAP_SECONDS = 0.15  # breath between sentences
VOLUME = 0.8  # below full scale, so resampling overshoot doesn't clip


class PiperSynthesizer:
    def __init__(self, model_path: Path | str, *, cpu_threads: int | None = None) -> None:
        model_path = Path(model_path)
        config_path = Path(f"{model_path}.json")
        for path in (model_path, config_path):
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing (run `dutyline setup`)")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = cpu_threads or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle pool threads would spin-wait for the next sentence: ~25% more CPU per
        # sentence for <10 ms less latency, a bad trade with calls queueing for the cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._voice = PiperVoice(session=session, config=config)
        self.name = f"piper:{model_path.stem}"
        self.model_path = model_path
        self.sample_rate: int = config.sample_rate
        self._gap = bytes(int(self.sample_rate * SENTENCE_GAP_SECONDS) * 2)
        self._queue = EngineQueue()

    def synthesize(self, text: str, *, due: float | None = None) -> Iterator[bytes]:
        """Yield 16-bit PCM at `sample_rate`, one chunk per sentence.

        `due`: time.monotonic() by which the audio must start playing (default: now).
        """
        text = " ".join(text.split())
        if not text:
            return
        with self._queue.turn(due=due):
            sentences = [s for s in self._voice.phonemize(text) if s]
        for number, phonemes in enumerate(sentences):
            with self._queue.turn(due=due):
                ids = self._voice.phonemes_to_ids(phonemes)
                audio = self._voice.phoneme_ids_to_audio(ids)
            if isinstance(audio, tuple):  # (audio, alignments) from patched voices
                audio = audio[0]
            audio = np.asarray(audio, dtype=np.float32).reshape(-1)
            peak = float(np.max(np.abs(audio))) if audio.size else 0.0
            if peak > 1e-8:
                audio = audio * (VOLUME / peak)
            pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
            yield pcm + (self._gap if number < len(sentences) - 1 else b"")
