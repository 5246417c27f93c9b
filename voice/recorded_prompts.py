"""The city's own recordings of the fixed prompts, played instead of the synthetic voice.

As telephone systems do: a voice talent records each prompt, one file per prompt key and
locale, `<prompts dir>/<locale>/<key>.<wav|mp3|ogg|flac|...>` (DUTYLINE_PROMPTS_DIR, by
default data/prompts). At start-up each file is decoded (PyAV, any format ffmpeg reads),
made the line's 8 kHz mono PCM16, and kept in the PromptCache under the prompt's exact
text, so the line plays it whenever it would say that text and synthesizes only what
changes (ticket numbers, places, read-backs). A file that cannot be used is logged and
skipped: the synthesizer says that prompt, as if there were no file.

Prompt keys: the line's own prompts (voice/prompts.py, voice/capacity.py) by field name,
e.g. `not_heard`, `voicemail_leave_message`, `capacity_take_message`; the dialogue's
responses by Rasa response name, e.g. `utter_ask_location` (a second variant is
`utter_x-2`); a sentence without a slot inside a response with slots is `<name>.<n>`,
its n-th sentence (the read-back's "Is that right?").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from nlu.fixed_replies import fixed_sentences, response_texts, split_sentences
from voice.capacity import capacity_prompts
from voice.prompts import line_prompts, voicemail_prompts
from voice.stages import PHONE_RATE

log = logging.getLogger("dutyline.voice.prompts")

EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a")
MIN_SECONDS, MAX_SECONDS = 0.2, 120.0
VOLUME = 0.8  # peak, as the synthetic voices: a recording is as loud as what follows it
SILENCE = 0.02  # of full scale: quieter at the ends is trimmed (a talent's breath, hiss)
MARGIN_SECONDS = 0.05  # kept before and after the voice


class UnusableRecording(ValueError):
    """A prompt's file that cannot be played (unreadable, silent, too short or too long)."""


@dataclass(frozen=True)
class Prompt:
    key: str
    text: str
    source: str  # "line" | "dialogue"


@dataclass
class RecordingsLoaded:
    locale: str
    loaded: list[str] = field(default_factory=list)  # keys now played from a recording
    skipped: dict[str, str] = field(default_factory=dict)  # file name -> why


# --- which prompts there are -----------------------------------------------------------


def line_catalogue(locale: str, settings: Any) -> list[Prompt]:
    """The line's own prompts: the call pipeline's, voicemail's and the full line's."""
    line, voicemail = line_prompts(locale), voicemail_prompts(locale)
    capacity = capacity_prompts(locale, settings)
    named = {
        "not_heard": line.not_heard,
        "still_there": line.still_there,
        "no_input_goodbye": line.no_input_goodbye,
        "too_long": line.too_long,
        "trouble": line.trouble,
        "voicemail_leave_message": voicemail.leave_message,
        "voicemail_saved_for_later": voicemail.saved_for_later,
        "voicemail_not_saved": voicemail.not_saved,
        "capacity_take_message": capacity.take_message,
        "capacity_saved": capacity.saved,
        "capacity_no_message": capacity.no_message,
        "capacity_not_saved": capacity.not_saved,
    }
    return [Prompt(key, " ".join(text.split()), "line") for key, text in named.items()]


def dialogue_catalogue(locale: str, data_dir: Path) -> list[Prompt]:
    """The dialogue's responses without a slot, and the slot-free sentences of the others."""
    spoken = set(fixed_sentences(locale, data_dir))  # what the dialogue says as it is
    found = []
    for name, texts in response_texts(locale, data_dir).items():
        for number, raw in enumerate(texts, start=1):
            key = name if number == 1 else f"{name}-{number}"
            text = " ".join(raw.split())
            sentences = split_sentences(text)
            if "{" not in text:
                if sentences and all(s in spoken for s in sentences):
                    found.append(Prompt(key, text, "dialogue"))
                continue
            for index, sentence in enumerate(sentences, start=1):
                if "{" not in sentence and sentence in spoken:
                    found.append(Prompt(f"{key}.{index}", sentence, "dialogue"))
    return found


def catalogue(locale: str, settings: Any) -> list[Prompt]:
    """Every prompt of a locale a city can record, in a stable order."""
    prompts = line_catalogue(locale, settings)
    try:
        prompts += dialogue_catalogue(locale, Path(settings.data_dir))
    except Exception:  # the line's own prompts can still be recorded
        log.exception("the dialogue's responses for %s are unknown", locale)
    return prompts


# --- the files -------------------------------------------------------------------------


def recording_files(directory: Path, locale: str) -> dict[str, Path]:
    """The locale's files by key (the first of a key's files in name order)."""
    found: dict[str, Path] = {}
    folder = directory / locale
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in EXTENSIONS:
            if path.stem in found:
                log.warning("prompt %s/%s has two files; %s is used", locale, path.stem,
                            found[path.stem].name)  # fmt: skip
                continue
            found[path.stem] = path
    return found


def decode(path: Path) -> bytes:
    """The file as the line's audio: 8 kHz mono PCM16, ends trimmed, peak at VOLUME.

    Raises UnusableRecording saying why."""
    try:
        with av.open(str(path)) as container:
            streams = [s for s in container.streams if s.type == "audio"]
            if not streams:
                raise UnusableRecording("no audio stream in it")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=PHONE_RATE)
            out = bytearray()
            for frame in container.decode(streams[0]):
                for piece in resampler.resample(frame):
                    out += bytes(piece.planes[0])[: piece.samples * 2]
            for piece in resampler.resample(None):
                out += bytes(piece.planes[0])[: piece.samples * 2]
    except UnusableRecording:
        raise
    except Exception as error:  # PyAV's errors name the problem (bad data, no codec)
        raise UnusableRecording(f"not readable audio: {error}") from error
    return _tidy(np.frombuffer(bytes(out), dtype="<i2"))


def _tidy(samples: np.ndarray) -> bytes:
    audio = samples.astype(np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < 32768 * SILENCE:
        raise UnusableRecording("silent")
    voiced = np.flatnonzero(np.abs(audio) >= peak * 0.1)
    margin = int(MARGIN_SECONDS * PHONE_RATE)
    audio = audio[max(0, voiced[0] - margin) : voiced[-1] + margin + 1]
    seconds = audio.size / PHONE_RATE
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise UnusableRecording(f"{seconds:.1f} s long (a prompt is {MIN_SECONDS}-{MAX_SECONDS})")
    audio *= VOLUME * 32767 / peak
    return np.clip(audio, -32768, 32767).astype("<i2").tobytes()


def load_recordings(
    prompt_cache: Any, locale: str, directory: Path, prompts: list[Prompt]
) -> RecordingsLoaded:
    """Put the locale's recordings into the cache (before the synthetic warm-up, which then
    skips them). Never raises for a file: a bad one is logged and its prompt synthesized."""
    result = RecordingsLoaded(locale)
    texts = {p.key: p.text for p in prompts}
    for key, path in recording_files(directory, locale).items():
        if key not in texts:
            result.skipped[path.name] = "no prompt has this key (`dutyline prompts`)"
            log.warning("recorded prompt %s: no prompt has the key %r", path, key)
            continue
        try:
            audio = decode(path)
        except UnusableRecording as error:
            result.skipped[path.name] = str(error)
            log.warning("recorded prompt %s skipped, synthesized instead: %s", path, error)
            continue
        prompt_cache.keep(texts[key], locale, audio)
        result.loaded.append(key)
    log.info(
        "recorded prompts for %s: %d played from %s, %d skipped",
        locale,
        len(result.loaded),
        directory / locale,
        len(result.skipped),
    )
    return result


def load_for_locale(prompt_cache: Any, locale: str, settings: Any) -> tuple[str, ...]:
    """Start-up: the locale's recordings into the cache; returns the line's own prompts'
    texts (voicemail and at-capacity ones too), for the synthetic warm-up of the rest."""
    line = line_catalogue(locale, settings)
    try:
        prompts = line + dialogue_catalogue(locale, Path(settings.data_dir))
    except Exception:
        log.exception("the dialogue's responses for %s are unknown", locale)
        prompts = line
    try:
        load_recordings(prompt_cache, locale, Path(settings.recorded_prompts_dir), prompts)
    except Exception:  # a broken folder must not keep the line from answering
        log.exception("the recorded prompts for %s were not loaded", locale)
    return tuple(p.text for p in line)
