"""`dutyline places import FILE...` and `dutyline places show` (mounted by dutyline/cli.py).

Importing replaces the city's places in one transaction, so it is safe while the line
runs: calls in progress keep the places they loaded, new lookups see the new data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, inspect

from dispatch.db import make_engine
from dispatch.places.addresses import AddressFormatError
from dispatch.places.aliases import AliasError
from dispatch.places.importer import PlacesImportError, PlaceSource, import_city
from dispatch.places.osm import OsmFormatError
from dispatch.places.store import city_counts
from dispatch.settings import DispatchSettings

app = typer.Typer(no_args_is_help=True, help="The city's places: import and show.")
console = Console()

NOT_MIGRATED = "the database has no place tables: run `dutyline migrate` first"


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/]")
    return typer.Exit(1)


def _migrated(engine: Engine) -> Engine:
    if not inspect(engine).has_table("place_city"):
        engine.dispose()
        raise _fail(NOT_MIGRATED)
    return engine


@app.command("import")
def import_files(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="OpenStreetMap (.osm, .osm.pbf) and OpenAddresses (.csv, .csv.gz) files; "
            "default: DUTYLINE_PLACES_FILES."
        ),
    ] = None,
    city: Annotated[
        str | None, typer.Option(help="The city's name (default: DUTYLINE_PLACES_CITY).")
    ] = None,
    aliases: Annotated[
        Path | None,
        typer.Option(help="The city's aliases YAML (default: DUTYLINE_PLACES_ALIASES)."),
    ] = None,
) -> None:
    """Import (or re-import) a city's streets, addresses, landmarks and aliases.

    The city's old places are replaced in one transaction: a running line keeps working.
    """
    settings = DispatchSettings()
    source = PlaceSource(
        city=city or settings.places_city,
        files=tuple(files) if files else tuple(settings.places_paths),
        aliases=aliases or settings.places_aliases_path,
    )
    if aliases is not None and not aliases.is_file():
        raise _fail(f"{aliases}: no such file")
    engine = _migrated(make_engine(settings.database_url))
    try:
        report = import_city(engine, source)
    except (OsmFormatError, AddressFormatError, AliasError, PlacesImportError) as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    table = Table("", "imported", title=f"{report.city} (import {report.generation})")
    table.add_row("streets", str(report.streets))
    table.add_row("address points", str(report.addresses))
    table.add_row("address rows skipped", str(report.rows_skipped))
    table.add_row("addresses on streets not on the map", str(report.addresses_off_map))
    table.add_row("intersections", str(report.intersections))
    table.add_row("landmarks", str(report.landmarks))
    table.add_row("aliases", str(report.aliases))
    console.print(table)
    for problem in report.problems:
        console.print(f"[yellow]skipped[/] {problem}")
    if report.rows_skipped > len(report.problems):
        console.print(f"[yellow]... and {report.rows_skipped - len(report.problems)} more[/]")
    if report.off_map_streets:
        console.print(
            "[yellow]address points on streets the map does not have[/] (kept under their "
            f"own name): {', '.join(report.off_map_streets)}"
        )
    if report.ways_missing_nodes:
        console.print(
            f"[yellow]{report.ways_missing_nodes} ways left out: their nodes are not in the file[/]"
        )
    console.print(
        f"[green]✓[/] read in {report.read_seconds:.2f} s, saved in {report.save_seconds:.2f} s"
    )


@app.command("show")
def show() -> None:
    """The cities in the database, with their places counted."""
    settings = DispatchSettings()
    engine = _migrated(make_engine(settings.database_url))
    try:
        cities = city_counts(engine)
    finally:
        engine.dispose()
    if not cities:
        console.print("No places imported: `dutyline places import FILE...`")
        return
    table = Table(
        "city", "import", "streets", "addresses", "ranges", "intersections", "landmarks",
        "aliases",
    )  # fmt: skip
    for c in cities:
        table.add_row(
            c.city + (" *" if c.city == settings.places_city else ""), str(c.generation),
            str(c.streets), str(c.addresses), str(c.ranges), str(c.intersections),
            str(c.landmarks), str(c.aliases),
        )  # fmt: skip
    console.print(table)
    for c in cities:
        console.print(
            f"{c.city}: import {c.generation} at {c.imported_at:%Y-%m-%d %H:%M} UTC "
            f"from {', '.join(c.sources) or '-'}"
        )
    console.print(f"* the configured city (DUTYLINE_PLACES_CITY={settings.places_city})")
