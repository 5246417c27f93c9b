"""The tables `dutyline bench latency` and `accuracy` print (callbench/bench_cli.py)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from callbench.machine import describe

# Wide tables: piped into a file or docs they must not wrap at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 180)


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.0f}"


def _met(value: bool | None) -> str:
    return {True: "[green]met[/]", False: "[red]not met[/]", None: "not measured"}[value]


def print_latency(result: dict[str, Any]) -> None:
    console.print(f"[bold]Latency[/] measured {describe(result['machine'])}")
    table = Table(
        "calls at once",
        "calls",
        "caller turns",
        "at the caller p50 ms",
        "p95 ms",
        "max ms",
        "app's clock p50/p95",
        "end of turn",
        "recognition",
        "dialogue",
        "synthesis",
        "inbound > 100 ms late",
        "worst lag ms",
        "gaps",
        "tickets",
        title="Voice-to-voice latency at the caller (the caller's last voiced frame -> first bot "
        "audio received), then by the app's clock (end of speech as processed -> first bot audio "
        "sent; stages p50/p95 ms); inbound: frames (seconds of audio) reaching the pipeline "
        "> 100 ms late, the worst lag's histogram bound",
    )
    for level in result["levels"]:
        p50, p95 = level["stage_p50_ms"], level["stage_p95_ms"]
        inbound = level.get("inbound") or {}
        late = inbound.get("late_frames")
        table.add_row(
            str(level["concurrency"]),
            str(level["calls"]),
            str(level.get("caller_turns", "-")),
            _ms(level.get("caller_p50_ms")),
            _ms(level.get("caller_p95_ms")),
            _ms(level.get("caller_max_ms")),
            f"{_ms(level['p50_ms'])}/{_ms(level['p95_ms'])}",
            *(f"{_ms(p50.get(s))}/{_ms(p95.get(s))}" for s in bench_stages()),
            "-" if late is None else f"{late} ({inbound['late_seconds']}/{inbound['seconds']} s)",
            "-" if inbound.get("max_lag_ms") is None else f"<= {inbound['max_lag_ms']}",
            f"{level['gap_events']} ({level['gap_frames'] * 20} ms)",
            f"{level['tickets']}/{level['calls']}"
            + (f" ({level['at_capacity']} at capacity)" if level.get("at_capacity") else ""),
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
    targets = Table(
        "target", "measured", "verdict", title="Targets (issue 12 at the caller, issue 6)"
    )
    for row in result["targets"]:
        targets.add_row(row["target"], str(row["measured"]), _met(row["met"]))
    console.print(targets)
    for level in result["levels"]:
        for error in level["errors"]:
            console.print(f"[red]{level['concurrency']} at once: {error}[/]")


def bench_stages() -> tuple[str, ...]:
    from callbench.latency import STAGES

    return STAGES


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
    early = result.get("early_end")
    if early:
        table = Table(
            "transcript back", "paused cut", "rate", "complete ended early", "rate",
            "by expected answer", "early silence p50 ms", "saved ms (mean)",
            title=f"Early end at the first pause ({early['pause_ms']} ms) when the transcript "
            f"is a complete answer, else {early['end_silence_ms']} ms; {early['recognizer']}, "
            f"recognition p50 {early['recognition_ms_p50']} / p95 {early['recognition_ms_p95']} ms",
        )  # fmt: skip
        for clock in ("real_time", "instant"):
            row = early[clock]
            table.add_row(
                clock.replace("_", " "),
                f"{row['cut_in_two']}/{row['paused']}",
                f"{row['cut_rate']:.3f}",
                f"{row['early']}/{row['complete']}",
                f"{row['early_rate']:.3f}",
                " ".join(f"{k} {v}" for k, v in row["early_by_expect"].items()),
                _ms(row["early_silence_ms_p50"]),
                str(row["saved_ms_mean"]),
            )
        console.print(table)
        for clock in ("real_time", "instant"):
            for cut in early[clock]["cut"]:
                console.print(f"  cut ({clock}): {cut}", markup=False, highlight=False)
    nlu = result.get("nlu")
    if nlu:
        console.print(nlu["text"], markup=False, highlight=False)
    success = result.get("task_success")
    if success:
        from callbench.task_success import print_table

        print_table(success, console)
