"""`dutyline webhook ...`: subscriptions of the city's systems to ticket events.

Mounted by dutyline/cli.py. The signing secret is printed once, by `add`.
Bad input (a URL that is not http(s), an unknown event) exits with status 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from dispatch.db import make_engine, session_scope
from dispatch.settings import DispatchSettings
from dispatch.webhooks.payloads import EVENT_TYPES
from dispatch.webhooks.subscriptions import (
    WebhookInputError,
    add_subscription,
    list_subscriptions,
    remove_subscription,
    set_active,
)

webhook_app = typer.Typer(
    no_args_is_help=True, help="Webhooks: ticket events sent to the city's own systems."
)
console = Console()
errors = Console(stderr=True)


@contextmanager
def _session() -> Iterator[Session]:
    engine = make_engine(DispatchSettings().database_url)
    try:
        with session_scope(engine, write=True) as session:
            yield session
    finally:
        engine.dispose()


def _bad_input(message: str) -> typer.Exit:
    errors.print(f"[red]{message}[/]")
    return typer.Exit(2)


def _no_such(subscription_id: int) -> typer.Exit:
    errors.print(f"[red]No webhook {subscription_id} (see `dutyline webhook list`)[/]")
    return typer.Exit(1)


@webhook_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Where to POST, e.g. https://works.city.gov/hook.")],
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--events",
            help=f"Comma-separated, or repeated; default all: {', '.join(EVENT_TYPES)}.",
        ),
    ] = None,
    internal: Annotated[
        bool, typer.Option(help="A city system allowed the caller's number and words.")
    ] = False,
    description: Annotated[str | None, typer.Option(help="What the receiver is.")] = None,
) -> None:
    """Subscribe a URL to ticket events and print its signing secret (shown only once)."""
    wanted = [e for option in events or [] for e in option.split(",")]
    try:
        with _session() as session:
            row = add_subscription(
                session, url=url, events=wanted, internal=internal, description=description
            )
            subscription_id, secret, chosen = row.id, row.secret, list(row.events)
    except WebhookInputError as error:
        raise _bad_input(str(error)) from None
    kind = "internal (with callers' numbers and words)" if internal else "without caller data"
    console.print(f"[green]✓[/] webhook {subscription_id} to {url}: {', '.join(chosen)}; {kind}")
    console.print("Signing secret (keep it safe; it is not shown again):")
    typer.echo(secret)


@webhook_app.command("list")
def list_webhooks() -> None:
    """Subscriptions with their events (never their secrets)."""
    with _session() as session:
        table = Table("id", "url", "events", "internal", "active", "description")
        for row in list_subscriptions(session):
            table.add_row(
                str(row.id),
                row.url,
                ", ".join(row.events),
                "yes" if row.internal else "no",
                "yes" if row.active else "no",
                row.description or "",
            )
    console.print(table)


@webhook_app.command("disable")
def disable(subscription_id: int) -> None:
    """Stop queueing events for it; what is queued waits until it is enabled again."""
    with _session() as session:
        if set_active(session, subscription_id, False) is None:
            raise _no_such(subscription_id)
    console.print(f"[green]✓[/] webhook {subscription_id} disabled")


@webhook_app.command("enable")
def enable(subscription_id: int) -> None:
    """Send to it again, from the first message it has not had."""
    with _session() as session:
        if set_active(session, subscription_id, True) is None:
            raise _no_such(subscription_id)
    console.print(f"[green]✓[/] webhook {subscription_id} enabled")


@webhook_app.command("remove")
def remove(subscription_id: int) -> None:
    """Delete a subscription and its delivery log."""
    with _session() as session:
        if not remove_subscription(session, subscription_id):
            raise _no_such(subscription_id)
    console.print(f"[green]✓[/] webhook {subscription_id} removed")
