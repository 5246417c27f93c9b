"""espeak-ng (Debian's binary) as a stages.Synthesizer: the line's Korean voice.

No offline Korean Piper voice exists, and espeak-ng's formant voice speaks Korean on a
fraction of a core (docs/benchmarks.md has its speed and how well it is understood). It
runs as a subprocess, one per sentence, text on stdin (never on the command line, so no
caller-supplied text is ever read as an option). Like Piper, `synthesize` yields one PCM
chunk per sentence, calls take turns on the engine earliest due first (voice.engine_queue),
and a barge-in stops it between sentences: the generator is simply not resumed.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections.abc import Iterator

import numpy as np

from voice.engine_queue import EngineQueue

PACKAGE_HINT = "install the Debian package espeak-ng (`apt-get install espeak-ng`)"
SENTENCE_GAP_SECONDS = 0.15  # breath between sentences, as Piper's
VOLUME = 0.8  # below full scale, so resampling overshoot doesn't clip
WORDS_PER_MINUTE = 150  # espeak-ng's 175 is hurried on an 8 kHz line
TIMEOUT_SECONDS = 30.0
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")
_WAV_HEADER = 44  # espeak-ng --stdout writes a plain 44-byte RIFF header, then PCM16


class EspeakMissingError(FileNotFoundError):
    """espeak-ng is not installed (or lacks the voice)."""


def split_sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


class EspeakSynthesizer:
    def __init__(
        self, voice: str = "ko", *, binary: str | None = None, speed: int = WORDS_PER_MINUTE
    ) -> None:
        found = binary or shutil.which("espeak-ng")
        if found is None or shutil.which(found) is None:
            raise EspeakMissingError(f"espeak-ng is not on PATH: {PACKAGE_HINT}")
        self._binary = found
        self.voice = voice
        self._speed = speed
        self.name = f"espeak:{voice}"
        self._queue = EngineQueue()
        # A first run: checks the voice exists and learns the rate espeak-ng writes.
        self.sample_rate: int = 22050
        _, rate = self._run("1")
        self.sample_rate = rate
        self._gap = bytes(int(self.sample_rate * SENTENCE_GAP_SECONDS) * 2)

    def _run(self, sentence: str) -> tuple[bytes, int]:
        """One sentence: (PCM16 at the rate espeak-ng wrote, that rate)."""
        command = [self._binary, "-v", self.voice, "-s", str(self._speed), "-b", "1", "--stdout"]
        done = subprocess.run(
            command, input=sentence.encode("utf-8"), capture_output=True, timeout=TIMEOUT_SECONDS
        )
        problem = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode != 0 or len(done.stdout) < _WAV_HEADER or problem:
            raise EspeakMissingError(
                f"espeak-ng could not speak voice {self.voice!r}: {problem or done.returncode} "
                f"(`espeak-ng --voices` lists the installed ones; {PACKAGE_HINT})"
            )
        (rate,) = struct.unpack_from("<I", done.stdout, 24)
        pcm = done.stdout[_WAV_HEADER:]
        return pcm[: len(pcm) // 2 * 2], rate

    def synthesize(self, text: str, *, due: float | None = None) -> Iterator[bytes]:
        """Yield 16-bit PCM at `sample_rate`, one chunk per sentence.

        `due`: time.monotonic() by which the audio must start playing (default: now).
        """
        sentences = split_sentences(" ".join(text.split()))
        for number, sentence in enumerate(sentences):
            with self._queue.turn(due=due):
                pcm, _ = self._run(sentence)
            audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
            peak = float(np.max(np.abs(audio))) if audio.size else 0.0
            if peak > 0:
                audio *= VOLUME * 32767 / peak
            out = np.clip(audio, -32768, 32767).astype("<i2").tobytes()
            yield out + (self._gap if number < len(sentences) - 1 else b"")
