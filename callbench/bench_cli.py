"""`dutyline bench latency`, `accuracy` and `places` (mounted by dutyline/cli.py).

latency and accuracy run against an already running dutyline (`make run`); addresses
default to Settings, so run them with the same environment as the app. places needs no
running app: it loads the recognizer and the city's geocoder itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from callbench.calls import CALLER_VOICES
from callbench.machine import describe
from dutyline.settings import get_settings

app = typer.Typer(help="Benchmarks: latency and accuracy figures.", no_args_is_help=True)
# Wide tables: piped into a file or docs they must not wrap at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 180)
errors = Console(stderr=True)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _words(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.0f}"


def _met(value: bool | None) -> str:
    return {True: "[green]met[/]", False: "[red]not met[/]", None: "not measured"}[value]


AppUrl = Annotated[
    str | None, typer.Option(help="The running app (default: Settings host and port).")
]
PublicUrl = Annotated[
    str | None, typer.Option(help="The URL signatures are made over (default: Settings).")
]
RasaUrl = Annotated[str | None, typer.Option(help="The Rasa server (default: Settings).")]
CallsFile = Annotated[
    Path | None, typer.Option(help="Scripted calls (default: data/sample_calls/calls.yaml).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
Save = Annotated[Path | None, typer.Option(help="Also write the result as JSON to this file.")]


def _output(result: dict[str, Any], as_json: bool, save: Path | None, show: Any) -> None:
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    if as_json:
        print(json.dumps(result, indent=1, default=str))
    else:
        show(result)


def _addresses(
    app_url: str | None, public_url: str | None, rasa_url: str | None, calls: Path | None
) -> tuple[str, str, str, Path]:
    settings = get_settings()
    return (
        (app_url or f"http://{settings.host}:{settings.port}").rstrip("/"),
        (public_url or settings.public_url).rstrip("/"),
        (rasa_url or settings.rasa_url).rstrip("/"),
        calls or settings.data_dir / "sample_calls" / "calls.yaml",
    )


def _check_running(app_url: str) -> None:
    import httpx

    try:
        health = httpx.get(f"{app_url}/healthz", timeout=5)
    except httpx.HTTPError as error:
        errors.print(f"[red]No dutyline at {app_url} ({error}). Start it with `make run`.[/]")
        raise typer.Exit(2) from error
    if health.status_code != 200:
        errors.print(f"[red]{app_url}/healthz says {health.status_code}: {health.text[:300]}[/]")
        raise typer.Exit(2)


@app.command()
def latency(
    concurrency: Annotated[
        str, typer.Option(help="Concurrent calls per level, comma-separated.")
    ] = "1,4,8,12",
    calls: Annotated[
        str | None,
        typer.Option(
            help="Calls per level: one number, or one per level (default: twice the level, "
            "at least 4)."
        ),
    ] = None,
    voices: Annotated[str, typer.Option(help="Caller voices.")] = ",".join(CALLER_VOICES),
    stagger: Annotated[float, typer.Option(help="Seconds between the first calls' starts.")] = 1.5,
    app_url: AppUrl = None,
    public_url: PublicUrl = None,
    rasa_url: RasaUrl = None,
    calls_file: CallsFile = None,
    as_json: AsJson = False,
    save: Save = None,
) -> None:
    """Voice-to-voice latency, its breakdown, CPU, memory and audio gaps per concurrency."""
    from callbench import latency as bench

    app_url, public_url, rasa_url, calls_file = _addresses(
        app_url, public_url, rasa_url, calls_file
    )
    _check_running(app_url)
    result = bench.run(
        app_url=app_url,
        public_url=public_url,
        rasa_url=rasa_url,
        token=get_settings().signing_token,
        calls_file=calls_file,
        concurrency=_ints(concurrency),
        calls_per_level=_ints(calls) if calls else None,
        voices=_words(voices),
        stagger=stagger,
        progress=lambda line: errors.print(f"[dim]{line}[/]"),
    )
    _output(result, as_json, save, print_latency)


def print_latency(result: dict[str, Any]) -> None:
    console.print(f"[bold]Latency[/] measured {describe(result['machine'])}")
    table = Table(
        "calls at once",
        "calls",
        "bot turns",
        "p50 ms",
        "p95 ms",
        "caller p50/p95",
        "end of turn",
        "recognition",
        "dialogue",
        "synthesis",
        "gaps",
        "tickets",
        title="Voice-to-voice latency, as the app stores it (end of caller speech -> first bot "
        "audio sent) and as the caller gets it (end of speech -> first bot audio received); "
        "stages: p50/p95 ms",
    )
    for level in result["levels"]:
        p50, p95 = level["stage_p50_ms"], level["stage_p95_ms"]
        table.add_row(
            str(level["concurrency"]),
            str(level["calls"]),
            str(level["bot_turns"]),
            _ms(level["p50_ms"]),
            _ms(level["p95_ms"]),
            f"{_ms(level.get('caller_p50_ms'))}/{_ms(level.get('caller_p95_ms'))}",
            *(f"{_ms(p50.get(s))}/{_ms(p95.get(s))}" for s in bench_stages()),
            f"{level['gap_events']} ({level['gap_frames'] * 20} ms)",
            f"{level['tickets']}/{level['calls']}",
        )
    console.print(table)
    processes = Table(
        "calls at once", "process", "pid", "CPU mean %", "CPU max %", "RSS start MB", "RSS max MB",
        title="Processes (100% = one core)",
    )  # fmt: skip
    for level in result["levels"]:
        for proc in level["processes"]:
            processes.add_row(
                str(level["concurrency"]),
                proc["name"],
                str(proc["pid"]),
                str(proc["cpu_mean_percent"]),
                str(proc["cpu_max_percent"]),
                str(proc["rss_start_mb"]),
                str(proc["rss_max_mb"]),
            )
    console.print(processes)
    targets = Table("target", "measured", "verdict", title="Targets (issue 6)")
    for row in result["targets"]:
        targets.add_row(row["target"], str(row["measured"]), _met(row["met"]))
    console.print(targets)
    for level in result["levels"]:
        for error in level["errors"]:
            console.print(f"[red]{level['concurrency']} at once: {error}[/]")


def bench_stages() -> tuple[str, ...]:
    from callbench.latency import STAGES

    return STAGES


@app.command()
def accuracy(
    models: Annotated[str, typer.Option(help="Whisper models for the WER table.")] = "tiny.en,base",
    windows: Annotated[str, typer.Option(help="Encoder windows, seconds.")] = "30,10,5",
    voices: Annotated[
        str | None,
        typer.Option(help="Caller voices for WER (default: espeak-ng, flite, festival)."),
    ] = None,
    utterances: Annotated[int, typer.Option(help="Utterances per voice for WER.")] = 12,
    silences: Annotated[str, typer.Option(help="End-of-turn silences to try, ms.")] = "600,450,300",
    call_voices: Annotated[
        str, typer.Option(help="Caller voices for the scripted calls.")
    ] = "flite:slt,espeak:en-us",
    parallel: Annotated[int, typer.Option(help="Scripted calls at once.")] = 2,
    parts: Annotated[
        str, typer.Option(help="Which parts: wer, turn, nlu, calls.")
    ] = "wer,turn,nlu,calls",
    limit: Annotated[int | None, typer.Option(help="Only the first N scripted calls.")] = None,
    caller: Annotated[
        str,
        typer.Option(
            help="scripted: say the call's lines in order; responsive: answer what the bot "
            "asks (repeat, pick, spell, key the number), for calls with a true place."
        ),
    ] = "scripted",
    app_url: AppUrl = None,
    public_url: PublicUrl = None,
    rasa_url: RasaUrl = None,
    calls_file: Annotated[
        Path | None,
        typer.Option(
            "--calls-file",
            "--calls",
            help="Scripted calls (default: data/sample_calls/calls.yaml; "
            "data/sample_calls/riverton_places.yaml adds house number and distance).",
        ),
    ] = None,
    as_json: AsJson = False,
    save: Save = None,
) -> None:
    """WER per voice, model and window; end-of-turn cuts; held-out NLU; task success."""
    from callbench import accuracy as bench

    settings = get_settings()
    app_url, public_url, rasa_url, calls_file = _addresses(
        app_url, public_url, rasa_url, calls_file
    )
    wanted = _words(parts)
    if "calls" in wanted:
        _check_running(app_url)
    result = bench.run(
        settings,
        app_url=app_url,
        public_url=public_url,
        rasa_url=rasa_url,
        token=settings.signing_token,
        calls_file=calls_file,
        models=_words(models),
        windows=_ints(windows),
        voices=_words(voices) if voices else None,
        call_voices=_words(call_voices),
        utterances=utterances,
        silences_ms=_ints(silences),
        parallel=parallel,
        parts=wanted,
        limit=limit,
        caller=caller,
        progress=lambda line: errors.print(f"[dim]{line}[/]"),
    )
    _output(result, as_json, save, print_accuracy)


def print_accuracy(result: dict[str, Any]) -> None:
    console.print(f"[bold]Accuracy[/] measured {describe(result['machine'])}")
    recognition = result.get("recognition")
    if recognition:
        voices = recognition["voices"]
        table = Table(
            "model", "window s", "WER", *voices, "empty", "p50 ms", "p95 ms",
            title=f"Word error rate, {recognition['utterances']} utterances over 8 kHz mu-law "
            f"(mean {recognition['mean_utterance_s']} s); * = as configured",
        )  # fmt: skip
        for row in recognition["rows"]:
            table.add_row(
                row["model"] + (" *" if row["configured"] else ""),
                str(row["window_s"]),
                f"{row['wer']:.3f}",
                *(f"{row['wer_by_voice'][v]:.3f}" for v in voices),
                str(row["empty"]),
                _ms(row["p50_ms"]),
                _ms(row["p95_ms"]),
            )
        console.print(table)
    turns = result.get("end_of_turn")
    if turns:
        table = Table(
            "end-of-turn silence ms", "sentences", "cut in two", "rate",
            title=f"Callers pausing {turns[0]['pauses_ms']} ms mid-sentence; * = as configured",
        )  # fmt: skip
        for row in turns:
            table.add_row(
                f"{row['end_silence_ms']}{' *' if row['configured'] else ''}",
                str(row["sentences"]),
                str(row["cut_in_two"]),
                f"{row['cut_rate']:.3f}",
            )
        console.print(table)
    nlu = result.get("nlu")
    if nlu:
        console.print(nlu["text"], markup=False, highlight=False)
    success = result.get("task_success")
    if success:
        from callbench.task_success import print_table

        print_table(success, console)


@app.command()
def places(
    voices: Annotated[
        str, typer.Option(help="Caller voices, comma-separated.")
    ] = "flite:slt,espeak:en-us,flite:rms",
    model: Annotated[
        str | None, typer.Option(help="Recognizer, e.g. whisper:base (default: as configured).")
    ] = None,
    hints: Annotated[
        bool, typer.Option(help="Give the recognizer the place hints a call gives it.")
    ] = True,
    calls_file: Annotated[
        Path | None,
        typer.Option(
            "--calls-file",
            "--calls",
            help="Calls with true places (default: data/sample_calls/riverton_places.yaml).",
        ),
    ] = None,
    cache: Annotated[
        Path | None, typer.Option(help="Keep synthesized caller audio here between runs.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N calls.")] = None,
    verbose: Annotated[bool, typer.Option(help="Print every answer as it is measured.")] = False,
    as_json: AsJson = False,
    save: Save = None,
) -> None:
    """Place answers heard and geocoded, straight from audio (no running app needed)."""
    import tempfile

    from callbench import place_bench as bench

    result = bench.run(
        get_settings(),
        calls_file=calls_file,
        voices=_words(voices),
        model=model,
        hints=hints,
        cache=cache or Path(tempfile.gettempdir()) / "dutyline-place-audio",
        limit=limit,
        progress=(lambda line: errors.print(line, markup=False, highlight=False))
        if verbose
        else (lambda line: None),
    )
    _output(result, as_json, save, lambda result: bench.print_table(result, console))
