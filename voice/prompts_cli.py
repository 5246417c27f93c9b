"""`dutyline prompts`: which fixed prompts of a locale the city has recorded, and a script
of the missing ones for its voice talent (voice/recorded_prompts.py)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from voice.recorded_prompts import UnusableRecording, catalogue, decode, recording_files
from voice.settings import VoiceSettings
from voice.stages import PHONE_RATE

SCRIPT_COLUMNS = ("key", "text", "file")


def prompts(
    locale: Annotated[
        str | None, typer.Option(help="The prompts' language; default: the line's.")
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(help="Write the missing prompts as a CSV script (key, text, file to record)."),
    ] = None,
    prompts_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the recordings are; default: DUTYLINE_PROMPTS_DIR or data/prompts."
        ),
    ] = None,
) -> None:
    """List a locale's fixed prompts, their text, and whether the city has recorded them."""
    settings = VoiceSettings()
    locale = locale or settings.locale
    directory = prompts_dir or settings.recorded_prompts_dir
    console = Console()
    files = recording_files(directory, locale)
    table = Table(title=f"Prompts for {locale} ({directory / locale})")
    for column in ("key", "text", "recording"):
        table.add_column(column, overflow="fold")
    missing = []
    for prompt in catalogue(locale, settings):
        path = files.get(prompt.key)
        state = "[red]none[/]"
        if path is not None:
            try:
                seconds = len(decode(path)) / (2 * PHONE_RATE)
                state = f"[green]{path.name}[/] ({seconds:.1f} s)"
            except UnusableRecording as error:
                state = f"[yellow]{path.name}: unusable, {error}[/]"
                path = None
        if path is None:
            missing.append(prompt)
        table.add_row(prompt.key, prompt.text, state)
    console.print(table)
    total = table.row_count
    console.print(f"{total - len(missing)} of {total} prompts recorded for {locale}.")
    if export is not None:
        with export.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(SCRIPT_COLUMNS)
            for prompt in missing:
                writer.writerow((prompt.key, prompt.text, f"{locale}/{prompt.key}.wav"))
        console.print(f"Script of the {len(missing)} missing prompts written to {export}.")
