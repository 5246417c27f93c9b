"""`dutyline`: the one entry point for people and scripts."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console

from dutyline.settings import Settings, get_settings

app = typer.Typer(
    help="dutyline: an on-premises AI phone line for civil complaints.", no_args_is_help=True
)
console = Console()
T = TypeVar("T")


def _mount() -> None:
    # Each package owns its commands; they are mounted here, the only place that knows all.
    from dispatch.cli import apikey_app, user_app
    from dispatch.places.cli import app as places_app
    from nlu.cli import app as nlu_app

    app.add_typer(user_app, name="user", help="Staff accounts (officers, supervisors, admins).")
    app.add_typer(apikey_app, name="apikey", help="Open311 API keys for partner apps.")
    app.add_typer(places_app, name="places", help="The city's places: import and show.")
    app.add_typer(nlu_app, name="nlu", help="The dialogue model: held-out report.")
    from dispatch.webhooks.cli import webhook_app

    app.add_typer(webhook_app, name="webhook", help="Ticket events sent to the city's systems.")
    from dispatch.cli import dutylog

    app.command("dutylog")(dutylog)
    from voice.prompts_cli import prompts

    app.command("prompts")(prompts)  # the city's recorded prompts (issue 14)
    # The tools (callbench/) are the CLI's alone; the app never imports them.
    from callbench.bench_cli import app as bench_app
    from callbench.call_cli import CallCommand, call

    # CallCommand keeps --say/--audio/--press turns in command-line order.
    app.command(
        "call", cls=CallCommand, help="Place a simulated phone call against a running dutyline."
    )(call)
    app.add_typer(bench_app, name="bench", help="Benchmarks: latency and accuracy figures.")


@app.command()
def setup(
    train: bool = typer.Option(True, help="Train the dialogue model when nlu/ changed."),
    force_train: bool = typer.Option(False, help="Train even if nothing changed."),
) -> None:
    """Set up whatever is missing: speech models, Rasa's environment and model, the database."""
    from dutyline import rasa_env
    from dutyline.setup_models import assemble

    settings = get_settings()
    started = time.monotonic()
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        console.print(
            f"[yellow]Not found: {', '.join(missing)} (test and simulator caller voices); "
            "`make` installs them with apt-get.[/]"
        )
    assemble(settings.models_dir, console=console)
    console.print("[green]✓[/] speech models in models/")
    rasa_env.ensure_venv(console)
    console.print("[green]✓[/] Rasa environment in .venv-rasa/")
    if train:  # one model per locale a line uses (data/lines.yaml; issue 14)
        for locale in _or_exit(rasa_env.line_locales, settings):
            trained = rasa_env.train(settings, locale, console, force=force_train)
            state = "trained" if trained else "up to date"
            console.print(f"[green]✓[/] dialogue model {locale} {state}")
    _migrate_and_seed(settings)
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"Set-up done in {time.monotonic() - started:.1f} s")


def _or_exit(read: Callable[[Settings], T], settings: Settings) -> T:
    """A bad lines file (dispatch/lines.py) stops the command with its reason, no trace."""
    from dispatch.lines import LinesError

    try:
        return read(settings)
    except LinesError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Upgrade the database to the latest schema; load departments, the roster and (when
    the database has none yet) the city's places."""
    _migrate_and_seed(get_settings())


def _migrate_and_seed(settings: Settings) -> None:
    from dispatch.db import make_engine, start_up_lock, upgrade
    from dispatch.lines import lines_of
    from dispatch.places.importer import seed_places
    from dispatch.seed import seed

    cities = _or_exit(lines_of, settings).cities  # every line's city (issue 14)
    with start_up_lock(settings.database_url):  # replicas starting at once take turns
        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            seed(engine, settings.data_dir, places=cities[0].source())
            for city in cities[1:]:
                seed_places(engine, city.source())
        finally:
            engine.dispose()
    names = ", ".join(city.name for city in cities)
    console.print(f"[green]✓[/] database migrated and seeded (places of {names})")


@app.command()
def run() -> None:
    """Start the dialogue server and the app; Ctrl-C stops both."""
    from dutyline.logs import configure_logging
    from dutyline.runner import run as run_all

    configure_logging()  # this process's own lines (migrations); the app sets up its own
    settings = get_settings()
    migrate()
    raise typer.Exit(run_all(settings, console=console))


@app.command()
def serve() -> None:
    """Start only the app (the dialogue server runs elsewhere, as in docker-compose.yml)."""
    import uvicorn

    from dutyline.logs import configure_logging

    configure_logging()
    settings = get_settings()
    uvicorn.run(
        "dutyline.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,  # uvicorn's loggers keep ours (JSON, numbers masked, no query strings)
    )


_mount()
