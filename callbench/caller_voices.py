"""Caller audio for tests, benchmarks and the simulator: telephone-quality
(8 kHz mu-law, headerless, as Twilio carries it) in voices other than the bot's.

Voices: "espeak:<voice>[+variant]" (espeak-ng, e.g. "espeak:en-us",
"espeak:en-gb-x-rp", "espeak:en-us+f3", "espeak:ko") or "flite:<voice>"
("flite:slt", "flite:rms", "flite:awb", "flite:kal"). sox does the rate and
format conversion (including the anti-alias filter), so the result sounds like
a phone line, not like clean 16 kHz audio.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

ENGINES = ("espeak", "flite")


class CallerAudioError(RuntimeError):
    pass


def _run(command: list[str], *, input_text: str | None = None) -> bytes:
    tool = command[0]
    if shutil.which(tool) is None:
        raise CallerAudioError(f"{tool} is not installed (apt-get install {tool})")
    completed = subprocess.run(
        command,
        input=input_text.encode("utf-8") if input_text is not None else None,
        capture_output=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip()
        raise CallerAudioError(f"{' '.join(command[:3])} failed: {message}")
    return completed.stdout


def _to_ulaw(path: Path, rate_hz: int, before_ms: int, after_ms: int) -> bytes:
    # -D: no dither, so the same text gives the same bytes (reproducible tests, benchmarks)
    command = [
        "sox",
        "-D",
        str(path),
        "-t",
        "raw",
        "-r",
        str(rate_hz),
        "-c",
        "1",
        "-e",
        "u-law",
        "-",
    ]
    if before_ms or after_ms:
        command += ["pad", f"{before_ms / 1000:.3f}", f"{after_ms / 1000:.3f}"]
    return _run(command)


def synthesize_caller(
    text: str,
    *,
    voice: str = "espeak:en-us",
    rate_hz: int = 8000,
    words_per_minute: int | None = None,
    silence_before_ms: int = 0,
    silence_after_ms: int = 0,
) -> bytes:
    """Speak `text` in a caller's voice; returns headerless mu-law at `rate_hz`."""
    engine, _, name = voice.partition(":")
    if engine not in ENGINES or not name:
        raise ValueError(f"voice must look like 'espeak:en-us' or 'flite:slt', not {voice!r}")
    if not text.strip():
        raise ValueError("nothing to say")
    with tempfile.TemporaryDirectory(prefix="dutyline-caller-") as folder:
        wav = Path(folder) / "caller.wav"
        if engine == "espeak":
            command = ["espeak-ng", "-v", name, "-w", str(wav)]
            if words_per_minute:
                command += ["-s", str(words_per_minute)]
            _run([*command, "--stdin"], input_text=text)
        else:
            text_file = Path(folder) / "caller.txt"
            text_file.write_text(text, encoding="utf-8")
            _run(["flite", "-voice", name, "-f", str(text_file), "-o", str(wav)])
        return _to_ulaw(wav, rate_hz, silence_before_ms, silence_after_ms)


def load_wav_as_ulaw(path: str | Path, *, rate_hz: int = 8000) -> bytes:
    """Any audio file sox reads (wav, flac, mp3 if built in, ...) as headerless mu-law."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no audio file at {path}")
    return _to_ulaw(path, rate_hz, 0, 0)
