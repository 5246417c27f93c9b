"""What the place prompt, a small beam, rescoring against the city's names and a stronger
model buy, and what they cost (issue 9 item 3).

    .venv/bin/python -m callbench.place_hints_bench [--limit N] [--voices a,b] [--json]

The place answers of data/sample_calls/riverton_places.yaml (drawn at random, seeded, from
the demo city's data), in each caller voice, through the 8 kHz line, recognized by tiny.en
and by the multilingual base model, each utterance once per way in a row (`WAYS`): without
the place prompt; with it (what a call's place answer got before rescoring); with it and a
beam of 3; with it and the city's look-alike places rescored against the audio
(voice/place_rescoring.py); with both (what a call's place answer gets now). Paired runs
make each way's cost a per-utterance difference from the prompt alone, which a busy
machine's drift does not swamp. Per way: the street's name in the transcript
(case-insensitive, numbered streets either way), the street right after the city's
geocoder, the house number right, located within 50 m, recognition time p50/p95, and the
time added over the prompt alone (median and p95 of the paired differences). Audio,
geocoder and checks are callbench/place_bench.py's.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callbench import place_bench as bench
from callbench.calls import load_calls
from callbench.latency import percentile
from callbench.machine import describe, machine
from callbench.place_checks import check_candidate, names_in
from dutyline.settings import Settings, get_settings
from voice.expectations import place_hints

MODELS = ("whisper:tiny.en", "whisper:base")


@dataclass(frozen=True)
class Way:
    name: str
    prompt: bool
    beam: int  # the beam of a place answer
    rescore: bool


BASELINE = "prompt"  # the way the others' added time is measured against
WAYS = (
    Way("no prompt", False, 1, False),
    Way(BASELINE, True, 1, False),
    Way("prompt + beam 3", True, 3, False),
    Way("prompt + rescoring", True, 1, True),
    Way("prompt + beam 3 + rescoring", True, 3, True),
)


def _rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def run(
    settings: Settings,
    *,
    voices: Sequence[str] = bench.VOICES,
    models: Sequence[str] = MODELS,
    ways: Sequence[Way] = WAYS,
    limit: int | None = None,
    cache: Path | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    calls = load_calls(settings.data_dir / bench.CALLS_FILE)
    answers = bench.place_answers(calls[:limit] if limit else calls)
    audio = bench.synthesize_all(answers, voices, cache)
    locator = bench.load_locator(settings)
    hints = place_hints(locator)
    rows: list[dict[str, Any]] = []
    for model in models:
        transcriber = bench.load_transcriber(settings, model)
        first = bench.line_to_pipeline(audio[(voices[0], answers[0].said)])
        for way in ways:  # the first decodes pay for loading: not measured
            _recognize(transcriber, first, hints, way)
        runs: dict[str, list[dict[str, Any]]] = {way.name: [] for way in ways}
        for voice in voices:
            for answer in answers:
                pcm = bench.line_to_pipeline(audio[(voice, answer.said)])
                for way in ways:
                    heard = _recognize(transcriber, pcm, hints, way)
                    verdict = check_candidate(answer.expected, locator.locate(heard.text).best)
                    runs[way.name].append(
                        {
                            "voice": voice,
                            "said": answer.said,
                            "heard": heard.text,
                            "first_pass": heard.alternatives[0] if heard.alternatives else None,
                            "in_transcript": names_in(answer.expected, heard.text),
                            "street_right": verdict.street_right,
                            "number_right": verdict.number_right,
                            "within_50m": verdict.within_50m,
                            "ms": heard.seconds * 1000,
                        }
                    )
                progress(
                    f"{model} {voice}: " + " / ".join(repr(r[-1]["heard"]) for r in runs.values())
                )
        base = runs.get(BASELINE)
        for way in ways:
            done = runs[way.name]
            added = (
                [r["ms"] - b["ms"] for r, b in zip(done, base, strict=True)]
                if base is not None and way.name != BASELINE
                else None
            )
            numbered = [r["number_right"] for r in done if r["number_right"] is not None]
            rows.append(
                {
                    "model": model,
                    "way": way.name,
                    "prompt_tokens": len(transcriber.prompt_tokens(hints if way.prompt else None)),
                    "answers": len(done),
                    "street_in_transcript": _rate([r["in_transcript"] for r in done]),
                    "street_right_geocoded": _rate([r["street_right"] for r in done]),
                    "number_right": _rate(numbered),
                    "within_50m": _rate([r["within_50m"] for r in done]),
                    "by_voice": {
                        v: _rate([r["street_right"] for r in done if r["voice"] == v])
                        for v in voices
                    },
                    "recognition_p50_ms": percentile([r["ms"] for r in done], 50),
                    "recognition_p95_ms": percentile([r["ms"] for r in done], 95),
                    "added_p50_ms": percentile(added, 50) if added else None,
                    "added_p95_ms": percentile(added, 95) if added else None,
                    "runs": done,
                }
            )
    return {"machine": machine(), "voices": list(voices), "prompt": hints.prompt, "ways": rows}


def _recognize(transcriber: Any, pcm: bytes, hints: Any, way: Way) -> Any:
    transcriber.place_beam_size = way.beam
    transcriber.rescore_places = way.rescore
    return transcriber.transcribe(pcm, hints if way.prompt else None)


def print_table(result: dict[str, Any]) -> None:
    print(f"voices: {', '.join(result['voices'])}; {describe(result['machine'])}")
    columns = (
        ("model", "model"), ("way", "way"), ("tokens", "prompt_tokens"),
        ("answers", "answers"), ("street in transcript", "street_in_transcript"),
        ("street right (geocoded)", "street_right_geocoded"), ("number right", "number_right"),
        ("within 50 m", "within_50m"), ("street right by voice", "by_voice"),
        ("p50 ms", "recognition_p50_ms"), ("p95 ms", "recognition_p95_ms"),
        (f"adds over {BASELINE!r} p50/p95 ms", "added_p50_ms"),
    )  # fmt: skip
    print(" | ".join(name for name, _ in columns))
    for row in result["ways"]:
        cells = [str(row[key]) for _, key in columns]
        cells[8] = " ".join(f"{v}" for v in row["by_voice"].values())
        cells[-1] = "-" if row["added_p50_ms"] is None else (
            f"{row['added_p50_ms']} / {row['added_p95_ms']}"
        )  # fmt: skip
        print(" | ".join(cells))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--voices", default=",".join(bench.VOICES))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument(
        "--ways", default=",".join(w.name for w in WAYS), help="comma-separated, of: "
        + ", ".join(w.name for w in WAYS)
    )  # fmt: skip
    parser.add_argument("--limit", type=int, default=None, help="only the first N calls")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--verbose", action="store_true", help="print every answer")
    args = parser.parse_args(argv)
    result = run(
        get_settings(),
        voices=[v for v in args.voices.split(",") if v],
        models=[m for m in args.models.split(",") if m],
        ways=[w for w in WAYS if w.name in args.ways.split(",")],
        limit=args.limit,
        cache=Path(tempfile.gettempdir()) / "dutyline-place-audio",
        progress=print if args.verbose else (lambda line: None),
    )
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
