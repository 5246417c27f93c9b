"""Task success, part 4 of `dutyline bench accuracy`: scripted calls through the running
app in real time (callbench/simulator.simulate_call), each ticket read back from the app's
database and judged.

A call succeeds when its ticket has the right kind, department and place. The place is
`location_contains` for data/sample_calls/calls.yaml; for calls with a true place
(data/sample_calls/riverton_places.yaml, callbench/place_checks.py) it is the city's street
(both streets at a corner, the landmark), and the report adds how many tickets carry the
right house number and a point within 50 m of the true one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from callbench.calls import ScriptedCall, load_calls
from callbench.place_checks import check_ticket
from dutyline.settings import Settings

CALLERS = ("scripted", "responsive")


class _NoSms:
    def send_sms(self, to: str, body: str) -> str:  # the benchmark only reads tickets
        raise RuntimeError("the accuracy benchmark sends no SMS")


def ticket_reader(settings: Settings) -> Callable[[str], Any]:
    """Reads a filed ticket from the app's database (the running app's Settings)."""
    from dispatch.db import make_engine
    from dispatch.service import DispatchService

    service = DispatchService(make_engine(settings.database_url), settings, sms=_NoSms())
    return service.get_ticket


def judge(expected: ScriptedCall, ticket: Any) -> dict[str, bool]:
    """kind, department and place right; the three a call's success needs."""
    if expected.place is not None:
        place = check_ticket(expected.place, ticket).street_right
    else:
        said = ""
        if ticket:
            words = [ticket.location_text, ticket.location_normalized, ticket.place_name]
            said = " ".join(filter(None, words)).lower()
        place = bool(ticket) and expected.location_contains.lower() in said
    return {
        "kind": bool(ticket) and ticket.kind == expected.kind,
        "department": bool(ticket) and ticket.department_code == expected.department,
        "place": place,
    }


def place_figures(expected: ScriptedCall, ticket: Any) -> dict[str, Any] | None:
    """House number and distance, for calls that know their true place."""
    if expected.place is None:
        return None
    verdict = check_ticket(expected.place, ticket)
    return {
        "kind": expected.place.kind,
        "number_right": verdict.number_right,
        # the ticket's place is the city's (False: the caller's words, unverified)
        "verified": bool(ticket) and getattr(ticket, "place_verified", None) is True,
        "within_50m": verdict.within_50m,
        "distance_m": verdict.distance_m,
    }


async def scripted_calls(
    settings: Settings,
    *,
    app_url: str,
    public_url: str,
    token: str,
    calls_file: Path,
    voices: Sequence[str],
    parallel: int,
    limit: int | None = None,
    caller: str = "scripted",
    voices_take_turns: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> list[dict[str, Any]]:
    """Every call in every voice, or (`voices_take_turns`) each call once, in the voices
    in turn: all fifty place calls in three voices fit in a quarter of an hour that way."""
    scripts = load_calls(calls_file)[:limit] if limit else load_calls(calls_file)
    if voices_take_turns:
        progress(f"task success: {len(scripts)} scripted calls, voices in turn ({caller})")
        jobs = [(script, voices[i % len(voices)]) for i, script in enumerate(scripts)]
    else:
        progress(f"task success: {len(scripts)} scripted calls x {len(voices)} voices ({caller})")
        jobs = [(script, voice) for voice in voices for script in scripts]
    return await run_scripts(
        settings, app_url=app_url, public_url=public_url, token=token, jobs=jobs,
        parallel=parallel, caller=caller, progress=progress,
    )  # fmt: skip


async def run_scripts(
    settings: Settings,
    *,
    app_url: str,
    public_url: str,
    token: str,
    jobs: Sequence[tuple[ScriptedCall, str]],
    parallel: int,
    caller: str = "scripted",
    progress: Callable[[str], None] = lambda line: None,
) -> list[dict[str, Any]]:
    """Each (call, caller voice) through the app, at most `parallel` at once; one row each.

    `caller`: "scripted" says the call's `says` in order, whatever the bot asks;
    "responsive" answers what the bot asks (callbench/responsive_caller.py).
    """
    from callbench.responsive_caller import kind_names, questions, responsive_call
    from callbench.simulator import Turn, simulate_call

    if caller not in CALLERS:
        raise ValueError(f"caller must be one of {', '.join(CALLERS)}, not {caller!r}")
    asked = questions(settings.data_dir / "complaint_kinds.yaml")
    kinds = kind_names(settings.data_dir / "complaint_kinds.yaml")
    read_ticket = ticket_reader(settings)
    slots = asyncio.Semaphore(parallel)

    async def one(index: int, script: ScriptedCall, voice: str) -> dict[str, Any]:
        async with slots:
            row: dict[str, Any] = {"name": script.name, "voice": voice}
            line = {
                "public_url": public_url,
                "token": token,
                "voice": voice,
                "caller_number": f"+1555{3_000_000 + index:07d}",
            }
            try:
                if caller == "responsive":
                    result = await responsive_call(app_url, script, asked, kinds=kinds, **line)
                else:
                    says = [Turn("say", text) for text in script.says]
                    result = await simulate_call(app_url, says, **line)
            except Exception as error:
                row.update(error=f"{type(error).__name__}: {error}", success=False)
                return row
            ticket = None
            if result.ticket_number:
                ticket = await asyncio.to_thread(read_ticket, result.ticket_number)
            checks = judge(script, ticket)
            row.update(
                ticket=result.ticket_number,
                outcome=result.outcome,
                kind=ticket.kind if ticket else None,
                department=ticket.department_code if ticket else None,
                place=(ticket.place_name or ticket.location_text) if ticket else None,
                checks=checks,
                place_figures=place_figures(script, ticket),
                success=all(checks.values()),
                needs_triage=ticket.needs_triage if ticket else None,
                triage_reason=ticket.triage_reason if ticket else None,
                conversation=[f"{t['speaker']}: {t['text']}" for t in result.turns],
            )
            mark = "ok" if row["success"] else "MISS"
            progress(f"  {mark:<4} {script.name} ({voice}): {row['kind']} / {row['place']}")
            return row

    return list(await asyncio.gather(*(one(i, s, v) for i, (s, v) in enumerate(jobs))))


def task_success(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def share(flags: list[bool]) -> float | None:
        return round(sum(flags) / len(flags), 3) if flags else None

    def rate(key: str) -> float | None:
        return share([bool(r.get("checks", {}).get(key)) for r in rows])

    placed = [r["place_figures"] for r in rows if r.get("place_figures")]
    numbered = [p for p in placed if p["number_right"] is not None]
    return {
        "calls": len(rows),
        "success_rate": share([bool(r.get("success")) for r in rows]) or 0.0,
        "ticket_rate": share([bool(r.get("ticket")) for r in rows]) or 0.0,
        "kind_rate": rate("kind") or 0.0,
        "department_rate": rate("department") or 0.0,
        "place_rate": rate("place") or 0.0,
        # calls with a true place only
        "number_calls": len(numbered),
        "number_rate": share([p["number_right"] for p in numbered]),
        "within_50m_rate": share([p["within_50m"] for p in placed]),
        "verified_rate": share([p["verified"] for p in placed]),
        "rows": rows,
    }


def print_table(success: dict[str, Any], console: Console) -> None:
    placed = success.get("within_50m_rate") is not None
    numbers = (
        f"; house number {success['number_rate']:.0%} of {success['number_calls']}, "
        f"within 50 m {success['within_50m_rate']:.0%}, "
        f"a place of the city's data {success['verified_rate']:.0%}"
        if placed and success["number_rate"] is not None
        else ""
    )
    table = Table(
        "call", "voice", "ticket", "kind", "department", "place",
        *(["number", "metres"] if placed else []), "result",
        title=f"Task success: {success['success_rate']:.0%} of {success['calls']} scripted "
        f"calls (kind {success['kind_rate']:.0%}, department {success['department_rate']:.0%}, "
        f"place {success['place_rate']:.0%}, any ticket {success['ticket_rate']:.0%}{numbers})",
    )  # fmt: skip
    for row in success["rows"]:
        checks = row.get("checks", {})
        figures = row.get("place_figures") or {}
        extra = []
        if placed:
            number = figures.get("number_right")
            extra = [
                "-" if number is None else ("[green]yes[/]" if number else "[red]no[/]"),
                "-" if figures.get("distance_m") is None else f"{figures['distance_m']:.0f}",
            ]
        table.add_row(
            row["name"],
            row["voice"],
            str(row.get("ticket") or row.get("error") or "-"),
            _tick(row.get("kind"), checks.get("kind")),
            _tick(row.get("department"), checks.get("department")),
            _tick(row.get("place"), checks.get("place")),
            *extra,
            "[green]ok[/]" if row.get("success") else "[red]miss[/]",
        )
    console.print(table)
    for row in success["rows"]:
        if not row.get("success"):
            console.print(
                f"[bold]{row['name']} ({row['voice']})[/]: triage reason "
                f"{row.get('triage_reason')!r}; error {row.get('error')!r}"
            )
            for line in row.get("conversation", []):
                console.print(f"    {line}", markup=False, highlight=False)


def _tick(value: Any, ok: bool | None) -> str:
    text = str(value) if value else "-"
    return f"[green]{text}[/]" if ok else f"[red]{text}[/]"
