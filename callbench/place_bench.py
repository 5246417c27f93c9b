"""`dutyline bench places`: the place answers of the scripted calls, heard and geocoded,
straight from audio and faster than real time (issue 9 item 6a).

For every call of data/sample_calls/riverton_places.yaml and every caller voice, the answer
to "Where is it?" is synthesized (callbench/caller_voices.py: 8 kHz mu-law, the phone line),
decoded and resampled as voice/ does (voice/codec.py), recognized by the configured Whisper
model with the hints voice/ gives it when the bot asked for a place (`hints=False` measures
without), which for a place answer also means a beam of 3 and rescoring against the city's
names (voice/place_rescoring.py), and located by the city's geocoder
(dispatch/places/geocoder.py). No call, no real-time frames: recognition and geocoding are
the same code a call runs, everything around them is left out.

Per voice and overall: street right, house number right (house number answers only),
located within 50 m, and recognition time p50/p95. Synthesized audio is cached on disk by
(voice, text), so a second run costs recognition and geocoding only.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table

from callbench.caller_voices import synthesize_caller
from callbench.calls import ScriptedCall, load_calls
from callbench.latency import percentile
from callbench.machine import describe, machine
from callbench.place_checks import ExpectedPlace, PlaceVerdict, check_candidate, names_in
from dutyline.settings import Settings
from voice.codec import resample, ulaw_decode
from voice.stages import PHONE_RATE, PIPELINE_RATE

VOICES = ("flite:slt", "espeak:en-us", "flite:rms")
CALLS_FILE = Path("sample_calls") / "riverton_places.yaml"  # under Settings.data_dir


class Locator(Protocol):
    """dispatch.places.geocoder.Geocoder: the caller's words -> dispatch.contract.PlaceMatch."""

    def locate(self, text: str) -> Any: ...


@dataclass(frozen=True)
class PlaceAnswer:
    call: str
    said: str
    expected: ExpectedPlace


@dataclass(frozen=True)
class AnswerRun:
    call: str
    voice: str
    kind: str
    said: str
    heard: str
    first_pass: str | None  # what Whisper heard before rescoring changed it
    found: str | None  # the best candidate's label
    confident: bool
    heard_right: bool  # the expected names are in the transcript itself, before geocoding
    verdict: PlaceVerdict
    audio_ms: int
    recognition_ms: float
    locate_ms: float


def place_answers(calls: Iterable[ScriptedCall]) -> list[PlaceAnswer]:
    answers = []
    for call in calls:
        if call.place is None or call.place_turn is None:
            raise ValueError(f"{call.name!r} has no expected place (place_turn, expect.place)")
        answers.append(PlaceAnswer(call.name, call.says[call.place_turn], call.place))
    return answers


# --- audio ------------------------------------------------------------------------------


def caller_audio(text: str, voice: str, cache: Path | None) -> bytes:
    """8 kHz mu-law of a caller saying `text` (200 ms silence before, 300 after), cached."""
    path = None
    if cache is not None:
        key = hashlib.sha256(f"{voice}\n{text}\n200/300".encode()).hexdigest()[:24]
        path = cache / f"{key}.ulaw"
        if path.is_file():
            return path.read_bytes()
    ulaw = synthesize_caller(text, voice=voice, silence_before_ms=200, silence_after_ms=300)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.part")
        temporary.write_bytes(ulaw)
        temporary.replace(path)  # a parallel run never reads half a file
    return ulaw


def synthesize_all(
    answers: Sequence[PlaceAnswer], voices: Sequence[str], cache: Path | None
) -> dict[tuple[str, str], bytes]:
    """Every (voice, text) once; synthesizers are subprocesses, so threads overlap them."""
    jobs = sorted({(voice, answer.said) for voice in voices for answer in answers})
    with ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
        audio = list(pool.map(lambda job: caller_audio(job[1], job[0], cache), jobs))
    return dict(zip(jobs, audio, strict=True))


def line_to_pipeline(ulaw: bytes) -> bytes:
    """What voice/ hands the recognizer: the line's mu-law decoded and resampled to 16 kHz."""
    return resample(ulaw_decode(ulaw), PHONE_RATE, PIPELINE_RATE)


# --- the pieces under test ---------------------------------------------------------------


def load_transcriber(settings: Settings, model: str | None = None) -> Any:
    from voice.whisper_transcriber import WhisperTranscriber

    configured = settings.asr_models.get("en", "whisper:tiny.en")
    engine, _, name = (model or configured).partition(":")
    if engine != "whisper" or not name:
        raise ValueError(f"the place benchmark runs a Whisper model, not {model or configured!r}")
    return WhisperTranscriber(
        settings.models_dir / "whisper" / name,
        language="en",
        window_seconds=settings.whisper_window_seconds,
        cpu_threads=os.cpu_count(),
    )


def load_locator(settings: Settings) -> Locator:
    """The default city's geocoder, as the app builds it."""
    from dispatch.places.geocoder import Geocoder

    return Geocoder(load_city(settings))


def load_city(settings: Settings) -> Any:
    """The configured city (Riverton by default) read from its files as the importer reads
    them, aliases included: what set-up imports into the database."""
    from dispatch.places.importer import PlaceSource, read_city

    city, _report = read_city(PlaceSource.from_settings(settings))
    return city


def place_hints(locator: Locator) -> Any:
    """The hints voice/ gives the recognizer when the bot asked where (voice/expectations.py)."""
    from voice.expectations import place_hints as hints_for

    return hints_for(locator)


# --- the run -----------------------------------------------------------------------------


def measure(
    answers: Sequence[PlaceAnswer],
    voices: Sequence[str],
    *,
    transcriber: Any,
    locator: Locator,
    hints: Any = None,
    cache: Path | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> list[AnswerRun]:
    started = time.perf_counter()
    audio = synthesize_all(answers, voices, cache)
    progress(
        f"places: {len(answers)} answers x {len(voices)} voices synthesized in "
        f"{time.perf_counter() - started:.1f} s"
    )
    warm = line_to_pipeline(audio[(voices[0], answers[0].said)])
    _transcribe(transcriber, warm, hints)  # the first decode pays for loading; not measured
    runs = []
    for voice in voices:
        for answer in answers:
            ulaw = audio[(voice, answer.said)]
            pcm = line_to_pipeline(ulaw)
            transcript = _transcribe(transcriber, pcm, hints)
            located = time.perf_counter()
            match = locator.locate(transcript.text)
            locate_ms = (time.perf_counter() - located) * 1000
            best = match.best
            verdict = check_candidate(answer.expected, best)
            runs.append(
                AnswerRun(
                    call=answer.call,
                    voice=voice,
                    kind=answer.expected.kind,
                    said=answer.said,
                    heard=transcript.text,
                    first_pass=transcript.alternatives[0] if transcript.alternatives else None,
                    found=best.label if best is not None else None,
                    confident=bool(match.confident),
                    heard_right=names_in(answer.expected, transcript.text),
                    verdict=verdict,
                    audio_ms=round(len(ulaw) / PHONE_RATE * 1000),
                    recognition_ms=round(transcript.seconds * 1000, 1),
                    locate_ms=round(locate_ms, 2),
                )
            )
            mark = "ok  " if verdict.street_right else "MISS"
            heard = f"{answer.said!r} -> {transcript.text!r} -> {runs[-1].found}"
            progress(f"  {mark} {voice:<13} {heard}")
    return runs


def _transcribe(transcriber: Any, pcm: bytes, hints: Any) -> Any:
    # Before helper code passes hints, a transcriber takes only the audio.
    return transcriber.transcribe(pcm, hints) if hints is not None else transcriber.transcribe(pcm)


def _rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def summarize(runs: Sequence[AnswerRun]) -> dict[str, Any]:
    numbered = [r for r in runs if r.verdict.number_right is not None]
    recognition = [r.recognition_ms for r in runs]
    audio_s = sum(r.audio_ms for r in runs) / 1000
    busy_s = sum(r.recognition_ms + r.locate_ms for r in runs) / 1000
    return {
        "answers": len(runs),
        "street_right": _rate([r.verdict.street_right for r in runs]),
        "number_right": _rate([bool(r.verdict.number_right) for r in numbered]),
        "number_answers": len(numbered),
        "within_50m": _rate([r.verdict.within_50m for r in runs]),
        "confident": _rate([r.confident for r in runs]),
        "heard_right": _rate([r.heard_right for r in runs]),
        "recognition_p50_ms": percentile(recognition, 50),
        "recognition_p95_ms": percentile(recognition, 95),
        "locate_p95_ms": percentile([r.locate_ms for r in runs], 95),
        # recognition + geocoding time over the audio's length: below 1 is faster than real time
        "real_time_factor": round(busy_s / audio_s, 3) if audio_s else None,
    }


def report(runs: Sequence[AnswerRun], voices: Sequence[str]) -> dict[str, Any]:
    kinds = sorted({r.kind for r in runs})
    return {
        "overall": summarize(runs),
        "by_voice": {v: summarize([r for r in runs if r.voice == v]) for v in voices},
        "by_kind": {k: summarize([r for r in runs if r.kind == k]) for k in kinds},
        "rows": [{**asdict(r), "verdict": asdict(r.verdict)} for r in runs],
    }


def run(
    settings: Settings,
    *,
    calls_file: Path | None = None,
    voices: Sequence[str] = VOICES,
    model: str | None = None,
    hints: bool = True,
    cache: Path | None = None,
    limit: int | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    calls = load_calls(calls_file or settings.data_dir / CALLS_FILE)
    answers = place_answers(calls[:limit] if limit else calls)
    transcriber = load_transcriber(settings, model)
    locator = load_locator(settings)
    given = place_hints(locator) if hints else None
    runs = measure(
        answers,
        list(voices),
        transcriber=transcriber,
        locator=locator,
        hints=given,
        cache=cache,
        progress=progress,
    )
    return {
        "machine": machine(),
        "model": transcriber.name,
        "hints": bool(given),
        "place_beam": transcriber.place_beam_size if given else None,
        "rescoring": bool(given) and transcriber.rescore_places,
        "voices": list(voices),
        **report(runs, voices),
    }


# --- the table `dutyline bench places` prints ------------------------------------------


def print_table(result: dict[str, Any], console: Console) -> None:
    console.print(
        f"[bold]Places[/] measured {describe(result['machine'])}; {result['model']}, "
        f"hints {'on' if result['hints'] else 'off'}"
        + (f", beam {result['place_beam']}" if result.get("place_beam") else "")
        + (", rescoring on" if result.get("rescoring") else "")
    )
    table = Table(
        "voice", "answers", "street right", "house number right", "within 50 m",
        "heard right", "recognition p50/p95 ms", "x real time",
        title="Place answers over the 8 kHz line: recognized, then geocoded (street right: "
        "the city's street, both at a corner, the landmark; house number: number answers only; "
        "heard right: the names already in the transcript)",
    )  # fmt: skip
    rows = [*result["by_voice"].items(), ("overall", result["overall"])]
    rows += [(f"  {kind}", figures) for kind, figures in result["by_kind"].items()]
    for name, figures in rows:
        table.add_row(
            name,
            str(figures["answers"]),
            _percent(figures["street_right"]),
            f"{_percent(figures['number_right'])} of {figures['number_answers']}",
            _percent(figures["within_50m"]),
            _percent(figures["heard_right"]),
            f"{_ms(figures['recognition_p50_ms'])}/{_ms(figures['recognition_p95_ms'])}",
            f"{figures['real_time_factor']}",
        )
    console.print(table)
    misses = [r for r in result["rows"] if not r["verdict"]["street_right"]]
    for row in misses:
        console.print(
            f"  miss {row['voice']}: {row['said']!r} heard {row['heard']!r} -> {row['found']}"
            + (f" (first pass {row['first_pass']!r})" if row.get("first_pass") else ""),
            markup=False,
            highlight=False,
        )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
