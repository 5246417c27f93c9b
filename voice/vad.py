"""Silero VAD (v6, ONNX) as a stages.VoiceActivityAnalyzer.

One `SileroVadModel` (the onnxruntime session) is shared by every call; each
call gets its own `SileroVadAnalyzer`, which holds the model's recurrent state,
the 64-sample context and the quiet/starting/speaking/stopping state machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime

from voice.stages import PIPELINE_RATE, VadState

WINDOW_SAMPLES = 512  # what Silero takes at 16 kHz: 32 ms
CONTEXT_SAMPLES = 64  # v5/v6 models want the previous window's tail prepended
WINDOW_SECONDS = WINDOW_SAMPLES / PIPELINE_RATE


class SileroVadModel:
    """The loaded ONNX model. Thread-safe: onnxruntime allows concurrent `run` calls."""

    def __init__(self, path: Path | str) -> None:
        options = onnxruntime.SessionOptions()
        # One 512-sample window is tiny; threads would cost more than they save.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 4
        self.path = Path(path)
        self.session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        names = {i.name for i in self.session.get_inputs()}
        if names != {"input", "h", "c"}:
            raise ValueError(f"{path} is not a Silero VAD v6 model (inputs {sorted(names)})")

    def probability(
        self, window: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Speech probability of one (context + window) float32 row; returns the new state."""
        out, h, c = self.session.run(None, {"input": window[None, :], "h": h, "c": c})
        return float(out[0]), h, c


@dataclass(frozen=True)
class VadParams:
    threshold: float = 0.5  # probability that counts as speech
    release: float = 0.15  # while speaking, speech continues above threshold - release
    start_seconds: float = 0.15  # speech needed before SPEAKING (ignores clicks)
    stop_seconds: float = 0.2  # silence needed before QUIET again
    min_volume_dbfs: float = -55.0  # quieter windows are never speech (line hiss)


class SileroVadAnalyzer:
    """Per-call VAD. Feed 16 kHz PCM16 in any chunk size; not thread-safe (one per call)."""

    def __init__(self, model: SileroVadModel, params: VadParams | None = None) -> None:
        self.model = model
        self.params = params or VadParams()
        self._start_windows = max(1, round(self.params.start_seconds / WINDOW_SECONDS))
        self._stop_windows = max(1, round(self.params.stop_seconds / WINDOW_SECONDS))
        self._min_rms = 32768.0 * 10 ** (self.params.min_volume_dbfs / 20)
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._count = 0
        self.state = VadState.QUIET
        self.last_probability = 0.0

    def analyze(self, pcm16k: bytes) -> VadState:
        samples = np.frombuffer(pcm16k, dtype="<i2").astype(np.float32)
        self._pending = np.concatenate([self._pending, samples])
        while len(self._pending) >= WINDOW_SAMPLES:
            window = self._pending[:WINDOW_SAMPLES]
            self._pending = self._pending[WINDOW_SAMPLES:]
            self._step(window)
        return self.state

    def _step(self, window: np.ndarray) -> None:
        scaled = window / 32768.0
        row = np.concatenate([self._context, scaled])
        self._context = scaled[-CONTEXT_SAMPLES:]
        probability, self._h, self._c = self.model.probability(row, self._h, self._c)
        self.last_probability = probability
        loud = float(np.sqrt(np.mean(window * window))) >= self._min_rms
        speaking = self.state in (VadState.SPEAKING, VadState.STOPPING)
        limit = self.params.threshold - (self.params.release if speaking else 0.0)
        self._advance(loud and probability >= limit)

    def _advance(self, voiced: bool) -> None:
        state = self.state
        if state is VadState.QUIET:
            if voiced:
                self._count = 1
                self.state = VadState.STARTING
                if self._count >= self._start_windows:
                    self.state = VadState.SPEAKING
        elif state is VadState.STARTING:
            if voiced:
                self._count += 1
                if self._count >= self._start_windows:
                    self.state = VadState.SPEAKING
            else:
                self.state = VadState.QUIET
        elif state is VadState.SPEAKING:
            if not voiced:
                self._count = 1
                self.state = VadState.STOPPING
                if self._count >= self._stop_windows:
                    self.state = VadState.QUIET
        elif voiced:  # STOPPING
            self.state = VadState.SPEAKING
        else:
            self._count += 1
            if self._count >= self._stop_windows:
                self.state = VadState.QUIET
