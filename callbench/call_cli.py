"""`dutyline call`: try a call against a running dutyline, acting as Twilio does.

    dutyline call --say "There is a car blocking my driveway" --say "12 Oak Street" --json
    dutyline call --audio data/sample_calls/pothole.wav --press 1 --save-bot bot.wav

Turns are played in the order given on the command line, each after the bot
has finished speaking.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from typer.core import TyperCommand

from callbench.simulator import Turn, simulate_call
from dutyline.settings import get_settings

app = typer.Typer(help="Telephony tools.", no_args_is_help=True)
console = Console(stderr=True)

_TURN_OPTIONS = {"--say": "say", "--audio": "audio", "--press": "press"}


class _KeepsTurnOrder(TyperCommand):
    """Remembers the raw arguments, so --say/--audio/--press keep their interleaved order."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["voice_raw_args"] = list(args)
        return super().parse_args(ctx, args)


def ordered_turns(
    raw_args: list[str] | None, say: list[str], audio: list[Path], press: list[str]
) -> list[Turn]:
    values: dict[str, list[str]] = {
        "say": list(say),
        "audio": [str(p) for p in audio],
        "press": list(press),
    }
    kinds: list[str] = []
    for token in raw_args or []:
        option = token.split("=", 1)[0]
        if option in _TURN_OPTIONS:
            kinds.append(_TURN_OPTIONS[option])
    if sorted(kinds) != sorted(k for k, v in values.items() for _ in v):
        kinds = [k for k, v in values.items() for _ in v]  # order unknown: say, audio, press
    return [Turn(kind, values[kind].pop(0)) for kind in kinds]  # type: ignore[arg-type]


CallCommand = _KeepsTurnOrder  # mount with app.command("call", cls=CallCommand)(call)


@app.callback()
def main() -> None:
    """Telephony tools."""


@app.command("call", cls=_KeepsTurnOrder)
def call(
    ctx: typer.Context,
    say: Annotated[
        list[str], typer.Option("--say", help="A caller turn, spoken with espeak-ng/flite.")
    ] = [],  # noqa: B006
    audio: Annotated[
        list[Path], typer.Option("--audio", help="A caller turn from an audio file.", exists=True)
    ] = [],  # noqa: B006
    press: Annotated[
        list[str], typer.Option("--press", help="A caller turn on the keypad, e.g. 1 or 1234#.")
    ] = [],  # noqa: B006
    url: Annotated[
        str | None, typer.Option(help="The running dutyline (default: from settings).")
    ] = None,
    voice: Annotated[
        str, typer.Option(help="Caller voice: espeak:<voice> or flite:<voice>.")
    ] = "flite:rms",
    caller: Annotated[str, typer.Option(help="The caller's number.")] = "+15555550123",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable summary.")
    ] = False,
    save_bot: Annotated[
        Path | None, typer.Option(help="Save what the caller heard to this WAV.")
    ] = None,
    turn_timeout: Annotated[float, typer.Option(help="Seconds to wait for each bot reply.")] = 60.0,
) -> None:
    """Call dutyline as Twilio would: signed webhook, Media Stream, playback emulated."""
    settings = get_settings()
    app_url = url or f"http://{settings.host}:{settings.port}"
    turns = ordered_turns(ctx.meta.get("voice_raw_args"), say, audio, press)

    def show(who: str, text: str) -> None:
        style = "bold cyan" if who == "bot" else "bold green"
        console.print(f"[{style}]{who:>14}[/] {text}", highlight=False)

    try:
        result = asyncio.run(
            simulate_call(
                app_url,
                turns,
                public_url=settings.public_url,
                token=settings.signing_token,
                voice=voice,
                caller_number=caller,
                turn_timeout=turn_timeout,
                save_bot=save_bot,
                on_line=show,
            )
        )
    except (OSError, RuntimeError) as error:
        console.print(f"[red]call failed:[/] {error}")
        raise typer.Exit(1) from None
    summary: dict[str, Any] = result.as_dict()
    console.print(
        f"call {result.call_sid}: {result.outcome}, ticket {result.ticket_number or '-'}, "
        f"hung up by {result.hung_up_by}; latencies (ms) {result.latencies_ms}"
    )
    if save_bot:
        console.print(f"the bot's side: {save_bot}")
    if as_json:
        typer.echo(json.dumps(summary, indent=2))


if __name__ == "__main__":
    app()
