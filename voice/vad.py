"""Silero VAD (v6, ONNX) as a stages.VoiceActivityAnalyzer.

One `SileroVadModel` (the onnxruntime session) is shared by every call; each
call gets its own `SileroVadAnalyzer`, which holds the model's recurrent state,
the 64-sample context and the quiet/starting/speaking/stopping state machine.
"""

from __future__ import annotations

from collections import deque
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
        return self.probability_of_rows(window[None, :], h, c)

    def probability_of_rows(
        self, rows: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """The last row's speech probability. The model's first axis is a sequence of one
        stream's consecutive windows sharing one recurrent state (h and c are fixed at
        batch 1, so calls cannot be batched together); the state after the last row."""
        out, h, c = self.session.run(None, {"input": rows, "h": h, "c": c})
        return float(out[-1]), h, c


@dataclass(frozen=True)
class VadParams:
    threshold: float = 0.5  # probability that counts as speech
    release: float = 0.15  # while speaking, speech continues above threshold - release
    start_seconds: float = 0.15  # speech needed before SPEAKING (ignores clicks)
    stop_seconds: float = 0.2  # silence needed before QUIET again
    min_volume_dbfs: float = -55.0  # quieter windows are never speech (line hiss)
    # Quieter windows skip the model; the last few are run when sound returns.
    replay_windows: int = 16


class SileroVadAnalyzer:
    """Per-call VAD. Feed 16 kHz PCM16 in any chunk size; not thread-safe (one per call)."""

    def __init__(self, model: SileroVadModel, params: VadParams | None = None) -> None:
        self.model = model
        self.params = params or VadParams()
        self._start_windows = max(1, round(self.params.start_seconds / WINDOW_SECONDS))
        self._stop_windows = max(1, round(self.params.stop_seconds / WINDOW_SECONDS))
        min_rms = 32768.0 * 10 ** (self.params.min_volume_dbfs / 20)
        self._min_energy = WINDOW_SAMPLES * min_rms * min_rms  # sum of squares at the floor
        self.skipped = 0  # windows below the floor, not run through the model
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        # The quiet windows not run (the last replay_windows, plus one for its context).
        self._quiet: deque[np.ndarray] = deque(maxlen=self.params.replay_windows + 1)
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
        if float(np.dot(window, window)) < self._min_energy:
            # Below the volume floor a window is never speech, whatever Silero says: the
            # inference is skipped (an idle call's largest cost). The window is kept to be
            # run when sound comes back, so the model meets speech after the same recent
            # quiet it would have heard (a cold state detects an onset ~0.25 s late).
            self._quiet.append(scaled)
            self.last_probability = 0.0
            self.skipped += 1
            self._advance(False)
            return
        if self._quiet:
            rows = self._rows([*self._quiet, scaled])
            self._quiet.clear()
        else:
            rows = np.concatenate([self._context, scaled])[None, :]
        self._context = scaled[-CONTEXT_SAMPLES:]
        probability, self._h, self._c = self.model.probability_of_rows(rows, self._h, self._c)
        self.last_probability = probability
        speaking = self.state in (VadState.SPEAKING, VadState.STOPPING)
        limit = self.params.threshold - (self.params.release if speaking else 0.0)
        self._advance(probability >= limit)

    def _rows(self, windows: list[np.ndarray]) -> np.ndarray:
        """(context + window) rows for consecutive windows; the oldest kept quiet window
        only lends its tail as the first row's context."""
        if len(windows) > self.params.replay_windows:
            context, windows = windows[0][-CONTEXT_SAMPLES:], windows[1:]
        else:
            context = self._context
        rows = np.empty((len(windows), CONTEXT_SAMPLES + WINDOW_SAMPLES), dtype=np.float32)
        for i, window in enumerate(windows):
            rows[i, :CONTEXT_SAMPLES] = context
            rows[i, CONTEXT_SAMPLES:] = window
            context = window[-CONTEXT_SAMPLES:]
        return rows

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
