"""`dutyline bench latency`, `accuracy` and `places` (mounted by dutyline/cli.py).

latency and accuracy run against an already running dutyline (`make run`); addresses
default to Settings, so run them with the same environment as the app. places needs no
running app: it loads the recognizer and the city's geocoder itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from callbench.bench_tables import console, print_accuracy, print_latency
from callbench.calls import CALLER_VOICES
from dutyline.settings import get_settings

app = typer.Typer(help="Benchmarks: latency and accuracy figures.", no_args_is_help=True)
errors = Console(stderr=True)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _words(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


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
        metrics_token=_metrics_token(),
    )
    _output(result, as_json, save, print_latency)


def _metrics_token() -> str | None:
    token = get_settings().metrics_token  # the app's, when it runs with the same environment
    return token.get_secret_value() if token is not None else None


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
    voices_take_turns: Annotated[
        bool,
        typer.Option(
            help="Each scripted call once, the call voices taking turns, instead of "
            "every call in every voice."
        ),
    ] = False,
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
        voices_take_turns=voices_take_turns,
        progress=lambda line: errors.print(f"[dim]{line}[/]"),
    )
    _output(result, as_json, save, print_accuracy)


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


@app.command()
def frames(
    calls: Annotated[int, typer.Option(help="Calls connected at once.")] = 10,
    seconds: Annotated[float, typer.Option(help="Seconds measured per mode.")] = 30.0,
    modes: Annotated[
        str, typer.Option(help="idle (silence after the greeting), talk (speech without end).")
    ] = "idle,talk",
    app_url: Annotated[
        str | None,
        typer.Option(help="Measure this running app (default: start one with a quiet dialogue)."),
    ] = None,
    as_json: AsJson = False,
    save: Save = None,
) -> None:
    """CPU of a connected call (idle and talking) as % of one core, and the per-frame path."""
    from callbench import frame_cost

    result = frame_cost.run(
        calls=calls,
        seconds=seconds,
        modes=tuple(_words(modes)),
        app_url=app_url,
        progress=lambda line: errors.print(f"[dim]{line}[/]"),
    )
    _output(result, as_json, save, lambda r: frame_cost.print_result(r, console.print))
