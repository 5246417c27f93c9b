"""What the place prompt and a stronger model buy, and what they cost (issue 9 item 3).

    .venv/bin/python -m callbench.place_hints_bench [--limit N] [--voices a,b] [--json]

The place answers of data/sample_calls/riverton_places.yaml (drawn at random, seeded, from
the demo city's data), in each caller voice, through the 8 kHz line, recognized by tiny.en
and by the multilingual base model, each utterance twice in a row: without and with the
place prompt a call gives the recognizer when the bot asked where (voice/expectations.py).
Paired runs make the prompt's cost a per-utterance difference, which a busy machine's
drift does not swamp. Per way: the street's name in the transcript (case-insensitive,
numbered streets either way), the street right after the city's geocoder, the house
number right, recognition time p50/p95, and the time the prompt added (median and p95 of
the paired differences). Audio, geocoder and checks are callbench/place_bench.py's.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable, Sequence
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


def _rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def run(
    settings: Settings,
    *,
    voices: Sequence[str] = bench.VOICES,
    models: Sequence[str] = MODELS,
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
        transcriber.transcribe(first)  # the first decodes pay for loading: not measured
        transcriber.transcribe(first, hints)
        ways: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for voice in voices:
            for answer in answers:
                pcm = bench.line_to_pipeline(audio[(voice, answer.said)])
                for hinted in (False, True):
                    heard = transcriber.transcribe(pcm, hints if hinted else None)
                    verdict = check_candidate(answer.expected, locator.locate(heard.text).best)
                    ways[hinted].append(
                        {
                            "voice": voice,
                            "said": answer.said,
                            "heard": heard.text,
                            "in_transcript": names_in(answer.expected, heard.text),
                            "street_right": verdict.street_right,
                            "number_right": verdict.number_right,
                            "ms": heard.seconds * 1000,
                        }
                    )
                plain, prompted = ways[False][-1], ways[True][-1]
                progress(f"{model} {voice}: {plain['heard']!r} / {prompted['heard']!r}")
        added = [p["ms"] - q["ms"] for q, p in zip(ways[False], ways[True], strict=True)]
        for hinted, runs in ways.items():
            numbered = [r["number_right"] for r in runs if r["number_right"] is not None]
            rows.append(
                {
                    "model": model,
                    "prompt": hinted,
                    "prompt_tokens": len(transcriber.prompt_tokens(hints if hinted else None)),
                    "answers": len(runs),
                    "street_in_transcript": _rate([r["in_transcript"] for r in runs]),
                    "street_right_geocoded": _rate([r["street_right"] for r in runs]),
                    "number_right": _rate(numbered),
                    "recognition_p50_ms": percentile([r["ms"] for r in runs], 50),
                    "recognition_p95_ms": percentile([r["ms"] for r in runs], 95),
                    "prompt_added_p50_ms": percentile(added, 50) if hinted else None,
                    "prompt_added_p95_ms": percentile(added, 95) if hinted else None,
                    "runs": runs,
                }
            )
    return {"machine": machine(), "voices": list(voices), "prompt": hints.prompt, "ways": rows}


def print_table(result: dict[str, Any]) -> None:
    print(f"voices: {', '.join(result['voices'])}; {describe(result['machine'])}")
    columns = (
        ("model", "model"), ("prompt", "prompt"), ("tokens", "prompt_tokens"),
        ("answers", "answers"), ("street in transcript", "street_in_transcript"),
        ("street right (geocoded)", "street_right_geocoded"), ("number right", "number_right"),
        ("p50 ms", "recognition_p50_ms"), ("p95 ms", "recognition_p95_ms"),
        ("prompt adds p50/p95 ms", "prompt_added_p50_ms"),
    )  # fmt: skip
    print(" | ".join(name for name, _ in columns))
    for row in result["ways"]:
        cells = [str(row[key]) for _, key in columns]
        cells[1] = "yes" if row["prompt"] else "no"
        if row["prompt"]:
            cells[-1] = f"{row['prompt_added_p50_ms']} / {row['prompt_added_p95_ms']}"
        print(" | ".join(cells))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--voices", default=",".join(bench.VOICES))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--limit", type=int, default=None, help="only the first N calls")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--verbose", action="store_true", help="print every answer")
    args = parser.parse_args(argv)
    result = run(
        get_settings(),
        voices=[v for v in args.voices.split(",") if v],
        models=[m for m in args.models.split(",") if m],
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
