"""The speech models a running line needs, loaded once and shared by all calls.

`SpeechModels(settings).load()` loads the Silero VAD, one recognizer per locale
(`VoiceSettings.asr_models`, e.g. {"en": "whisper:tiny.en", "ko": "whisper:base"}) and one
voice per locale (`VoiceSettings.voice_specs`, e.g. {"en": "piper:en_US-joe-medium",
"ko": "espeak:ko"}), all from `VoiceSettings.models_dir` (espeak-ng is Debian's binary).
Nothing is downloaded: a missing file raises `ModelMissingError` naming `dutyline setup`
(or, for espeak-ng, the Debian package).

Everything handed out is shared and read-only; inference is blocking, so run it
with `asyncio.to_thread`. Each engine serialises its own heavy work (a lock for
Whisper and Piper, a semaphore for Vosk) so calls on a small machine queue
instead of oversubscribing the cores.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from voice.codec import Resampler
from voice.espeak_synthesizer import PACKAGE_HINT, EspeakSynthesizer
from voice.expectations import NO_EXPECTATIONS, Expectations
from voice.piper_synthesizer import PiperSynthesizer
from voice.settings import VoiceSettings
from voice.stages import PHONE_RATE, Synthesizer, Transcriber
from voice.turn import EndOfTurn
from voice.vad import SileroVadAnalyzer, SileroVadModel, VadParams
from voice.vosk_transcriber import VoskTranscriber
from voice.whisper_transcriber import WhisperTranscriber

SETUP_HINT = "run `dutyline setup`"
ESPEAK = Path("espeak-ng")  # stands for the binary among the model files (found on PATH)


# A long read-back, as one sentence: the longest thing the line says in one breath.
_WARM_UP_SENTENCE = (
    "So that is a car blocking a driveway at the corner of Fifth Avenue and Elm Street, "
    "next to the big gas station across from the primary school, the vehicle is a grey "
    "pickup truck and it has been there since about ten o'clock tonight, is that right"
)
# Two seconds of faint noise at 16 kHz: enough to run recognition end to end.
_WARM_UP_AUDIO = (np.random.default_rng(0).normal(0, 30, 32000)).astype("<i2").tobytes()


class ModelMissingError(FileNotFoundError):
    """A model file is not in models/; `dutyline setup` puts it there."""


def to_phone_audio(chunks: Iterable[bytes], sample_rate: int) -> Iterator[bytes]:
    """Resample a synthesizer's PCM chunks to 8 kHz PCM16, chunk by chunk, without clicks."""
    resampler = Resampler(sample_rate, PHONE_RATE)
    for chunk in chunks:
        out = resampler.process(chunk)
        if out:
            yield out
    tail = resampler.flush()
    if tail:
        yield tail


def speak(synthesizer: Synthesizer, text: str, *, due: float | None = None) -> Iterator[bytes]:
    """8 kHz PCM16 of `text`, sentence by sentence (the serializer mu-law-encodes it)."""
    return to_phone_audio(synthesizer.synthesize(text, due=due), synthesizer.sample_rate)


class PromptCache:
    """8 kHz PCM of fixed prompts and sentences, synthesized once. Thread-safe.

    What `warm` makes at start-up (the line's own prompts, the dialogue's sentences without
    a slot) is kept for good; what `get` makes on demand is kept LRU, `max_prompts` of it.
    """

    def __init__(
        self, synthesizer_for: Callable[[str], Synthesizer], *, max_prompts: int = 256
    ) -> None:
        self._synthesizer_for = synthesizer_for
        self._max = max_prompts
        self._kept: dict[tuple[str, str], bytes] = {}
        self._audio: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(text: str, locale: str) -> tuple[str, str]:
        return locale, " ".join(text.split())

    def get(self, text: str, locale: str = "en") -> bytes:
        """The prompt's audio; synthesized now (blocking) if it was not cached."""
        key = self._key(text, locale)
        audio = self.cached(text, locale)
        if audio is not None:
            return audio
        audio = b"".join(speak(self._synthesizer_for(locale), key[1]))
        with self._lock:
            self._audio[key] = audio
            self._audio.move_to_end(key)
            while len(self._audio) > self._max:
                self._audio.popitem(last=False)
        return audio

    def cached(self, text: str, locale: str = "en") -> bytes | None:
        """The prompt's audio if cached, without synthesizing."""
        key = self._key(text, locale)
        with self._lock:
            if key in self._kept:
                return self._kept[key]
            if key in self._audio:
                self._audio.move_to_end(key)
                return self._audio[key]
        return None

    def warm(
        self,
        texts: Iterable[str],
        locale: str = "en",
        *,
        timed: Callable[[str, float, float], None] | None = None,
    ) -> int:
        """Synthesize and keep for good (blocking); returns how many were made now.

        Due a minute from now: a call that needs the voice meanwhile goes first.
        `timed(text, audio seconds, making seconds)` is told how long each one took.
        """
        made = 0
        for text in texts:
            key = self._key(text, locale)
            if not key[1] or key in self._kept:
                continue
            synthesizer = self._synthesizer_for(locale)
            began = time.monotonic()
            audio = b"".join(speak(synthesizer, key[1], due=began + 60))
            if timed is not None:
                timed(key[1], len(audio) / (2 * PHONE_RATE), time.monotonic() - began)
            with self._lock:
                self._kept[key] = audio
                self._audio.pop(key, None)
            made += 1
        return made

    def keep(self, text: str, locale: str, audio: bytes) -> None:
        """Keep this audio for good as the text's (a city's recording, 8 kHz PCM16)."""
        key = self._key(text, locale)
        with self._lock:
            self._kept[key] = audio
            self._audio.pop(key, None)

    @property
    def audio_bytes(self) -> int:
        with self._lock:
            return sum(map(len, self._kept.values())) + sum(map(len, self._audio.values()))

    def __len__(self) -> int:
        return len(self._kept) + len(self._audio)


class SpeechModels:
    """Loads and hands out the shared speech models. Thread-safe."""

    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings
        self.models_dir = Path(settings.models_dir)
        self._lock = threading.Lock()
        self._status: dict[str, str] = {}
        self._vad: SileroVadModel | None = None
        self._transcribers: dict[str, Transcriber] = {}
        self._synthesizers: dict[str, Synthesizer] = {}  # locale -> voice
        self.prompt_cache = PromptCache(self.synthesizer)
        # Hints and snapping per expected answer, from the city's names; the app factory
        # sets them once the city's vocabulary is known (dutyline/app.py).
        self.expectations: Expectations = NO_EXPECTATIONS
        # Recognitions running or queued, all calls together (changed on the event loop).
        self.recognitions_in_flight = 0
        self.prompts_ready = False  # the fixed sentences are made (readiness waits for it)

    # --- where things live ----------------------------------------------------
    @property
    def vad_path(self) -> Path:
        return self.models_dir / "silero_vad.onnx"

    @property
    def voice_path(self) -> Path:
        """The English (default) Piper voice's file."""
        return self.models_dir / "piper" / f"{self.settings.piper_voice}.onnx"

    def synthesizer_files(self, spec: str) -> list[Path]:
        """What must exist for a voice spec like "piper:en_US-joe-medium" or "espeak:ko"."""
        engine, _, name = spec.partition(":")
        if engine == "piper":
            model = self.models_dir / "piper" / f"{name}.onnx"
            return [model, Path(f"{model}.json")]
        if engine == "espeak":
            return [ESPEAK]
        raise ValueError(f"unknown voice {spec!r} (expected piper:<voice> or espeak:<voice>)")

    @staticmethod
    def _absent(paths: list[Path]) -> list[Path]:
        return [
            p for p in paths if (shutil.which(str(p)) is None if p == ESPEAK else not p.is_file())
        ]

    @staticmethod
    def _missing_state(path: Path) -> str:
        hint = PACKAGE_HINT if path == ESPEAK else SETUP_HINT
        return f"missing: {path} ({hint})"

    def recognizer_path(self, spec: str) -> Path:
        """The file that must exist for a recognizer spec like "whisper:tiny.en"."""
        engine, _, name = spec.partition(":")
        if engine == "whisper":
            return self.models_dir / "whisper" / name / "model.bin"
        if engine == "vosk":
            return self.models_dir / "vosk" / name / "am" / "final.mdl"
        raise ValueError(f"unknown recognizer {spec!r} (expected whisper:<name> or vosk:<name>)")

    def _required(self) -> dict[str, list[Path]]:
        files: dict[str, list[Path]] = {"vad": [self.vad_path]}
        for locale, spec in self.settings.asr_models.items():
            try:
                path = self.recognizer_path(spec)
            except ValueError:
                files[f"asr:{locale}"] = []  # status() and load() report the bad spec
                continue
            extra = [path.parent / "tokenizer.json"] if spec.startswith("whisper:") else []
            files[f"asr:{locale}"] = [path, *extra]
        for locale, spec in self.settings.voice_specs.items():
            try:
                files[f"tts:{locale}"] = self.synthesizer_files(spec)
            except ValueError:
                files[f"tts:{locale}"] = []  # status() and load() report the bad spec
        return files

    def _bad_spec(self, key: str) -> str:
        """Why a key without files is wrong (its spec names no known engine)."""
        kind, _, locale = key.partition(":")
        if kind == "asr":
            spec = self.settings.asr_models[locale]
            return f"unknown recognizer {spec!r} (expected whisper:<name> or vosk:<name>)"
        spec = self.settings.voice_specs[locale]
        return f"unknown voice {spec!r} (expected piper:<voice> or espeak:<voice>)"

    # --- loading ---------------------------------------------------------------
    def load(self) -> None:
        """Load every configured model (once; later calls return at once).

        Raises ModelMissingError (naming `dutyline setup`) if a file is missing,
        after trying the others, so `status()` shows everything that is wrong.
        """
        with self._lock:
            if self.ready:
                return
            failures: list[Exception] = []
            absent: list[Path] = []
            for key, paths in self._required().items():
                if self._status.get(key) == "loaded":
                    continue
                missing = self._absent(paths)
                if missing:
                    self._status[key] = self._missing_state(missing[0])
                    absent.extend(missing)
                    continue
                self._status[key] = "loading"
                try:
                    if not paths:
                        raise ValueError(self._bad_spec(key))
                    self._load_one(key)
                except Exception as error:  # reported by status(), re-raised below
                    self._status[key] = f"error: {error}"
                    failures.append(error)
                else:
                    self._status[key] = "loaded"
            if absent:
                names = ", ".join(str(p) for p in absent)
                hint = SETUP_HINT + (f"; for espeak-ng, {PACKAGE_HINT}" if ESPEAK in absent else "")
                raise ModelMissingError(f"speech model files missing: {names}; {hint}")
            if failures:
                raise failures[0]

    def _load_one(self, key: str) -> None:
        threads = min(4, os.cpu_count() or 1)
        if key == "vad":
            self._vad = SileroVadModel(self.vad_path)
        elif key.startswith("tts:"):
            locale = key.removeprefix("tts:")
            spec = self.settings.voice_specs[locale]
            same = [
                self._synthesizers[other]
                for other, other_spec in self.settings.voice_specs.items()
                if other_spec == spec and other in self._synthesizers
            ]
            if same:  # one engine per voice, however many locales it speaks for
                self._synthesizers[locale] = same[0]
            elif spec.startswith("piper:"):
                model = self.synthesizer_files(spec)[0]
                self._synthesizers[locale] = PiperSynthesizer(model, cpu_threads=threads)
            else:
                self._synthesizers[locale] = EspeakSynthesizer(spec.partition(":")[2])
        else:
            locale = key.removeprefix("asr:")
            spec = self.settings.asr_models[locale]
            engine, _, _ = spec.partition(":")
            folder = self.recognizer_path(spec).parent
            if engine == "whisper":
                self._transcribers[locale] = WhisperTranscriber(
                    folder,
                    language=locale.split("-")[0],
                    window_seconds=self.settings.whisper_window_seconds,
                    cpu_threads=threads,
                )
            else:
                self._transcribers[locale] = VoskTranscriber(folder.parent)

    def status(self) -> dict[str, str]:
        """Per model: "loaded" | "loading" | "not loaded" | "missing: ..." | "error: ..."."""
        with_status = dict(self._status)  # read without the lock: load() may hold it
        result = {}
        for key, paths in self._required().items():
            state = with_status.get(key)
            if state is None and not paths:
                state = f"error: {self._bad_spec(key)}"
            elif state is None:
                missing = self._absent(paths)
                state = self._missing_state(missing[0]) if missing else "not loaded"
            result[key] = state
        return result

    @property
    def ready(self) -> bool:
        return bool(self._status) and all(
            self._status.get(key) == "loaded" for key in self._required()
        )

    def warm_up(self) -> None:
        """Run each engine once on a call-sized input (blocking; after `load`).

        The first inference allocates the engines' working memory (onnxruntime's
        arena grows to the longest sentence it has spoken); doing it now makes the
        first caller's reply as quick as the rest and memory flat from the start.
        """
        longest = max(self.expectations.hints.values(), key=lambda h: len(h.prompt), default=None)
        for transcriber in {id(t): t for t in self._transcribers.values()}.values():
            transcriber.transcribe(_WARM_UP_AUDIO)
            if longest:  # a prompted decode holds the longest context a call will use
                transcriber.transcribe(_WARM_UP_AUDIO, longest)
        for synthesizer in {id(s): s for s in self._synthesizers.values()}.values():
            if synthesizer.name.startswith("piper:"):  # espeak-ng keeps no arena to grow
                for _ in synthesizer.synthesize(_WARM_UP_SENTENCE):
                    pass

    # --- handing out ------------------------------------------------------------
    def transcriber(self, locale: str) -> Transcriber:
        """The recognizer for a locale ("en", "en-US" -> "en")."""
        for candidate in (locale, locale.split("-")[0].split("_")[0]):
            if candidate in self._transcribers:
                return self._transcribers[candidate]
        if locale in self.settings.asr_models or locale.split("-")[0] in self.settings.asr_models:
            raise RuntimeError(f"the recognizer for {locale!r} is not loaded; call load() first")
        raise LookupError(f"no recognizer configured for locale {locale!r} (DUTYLINE_ASR_MODELS)")

    def synthesizer(self, locale: str = "en") -> Synthesizer:
        """The bot's voice for a locale ("ko", "ko-KR" -> "ko"); a locale without a voice
        of its own is spoken by the English one (DUTYLINE_VOICES)."""
        for candidate in (locale, locale.split("-")[0].split("_")[0], "en"):
            if candidate in self._synthesizers:
                return self._synthesizers[candidate]
        raise RuntimeError(f"no voice for {locale!r} is loaded; call load() first")

    def new_vad(self, params: VadParams | None = None) -> SileroVadAnalyzer:
        """A fresh per-call VAD on the shared Silero model."""
        if self._vad is None:
            raise RuntimeError("the VAD model is not loaded; call load() first")
        return SileroVadAnalyzer(self._vad, params)

    def new_end_of_turn(self, **overrides: float) -> EndOfTurn:
        """A fresh per-call end-of-turn detector using VoiceSettings.end_of_turn_silence_ms."""
        return EndOfTurn.from_settings(self.settings, **overrides)
