"""Staff accounts and Open311 keys from the command line.

Two Typer apps, mounted by dutyline/cli.py as `dutyline user ...` and
`dutyline apikey ...`. Tokens and keys are printed once; only hashes are kept.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, select

from dispatch import auth
from dispatch.db import make_engine
from dispatch.dutylog import build_duty_log, parse_day, yesterday
from dispatch.dutylog_files import LogFormat, csv_text, file_name, log_bytes
from dispatch.models import Department, Staff, StaffRole
from dispatch.open311 import keys
from dispatch.settings import DispatchSettings

user_app = typer.Typer(no_args_is_help=True, help="Staff accounts (officers, supervisors, admins).")
apikey_app = typer.Typer(no_args_is_help=True, help="Open311 API keys for partner apps.")
console = Console()

ROLES = [role.value for role in StaffRole]


def _session() -> Session:
    return Session(make_engine(DispatchSettings().database_url), expire_on_commit=False)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/]")
    return typer.Exit(1)


def _department_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    department = session.exec(select(Department).where(Department.code == code)).first()
    if department is None:
        codes = (
            ", ".join(session.exec(select(Department.code)).all()) or "none (run dutyline migrate)"
        )
        raise _fail(f"No department {code!r}. Departments: {codes}")
    return department.id


@user_app.command("add")
def add_user(
    username: str,
    full_name: Annotated[str, typer.Option("--name", help="Full name, as officers see it.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")] = "officer",
    department: Annotated[
        str | None, typer.Option(help="Department code (officers must have one).")
    ] = None,
    phone: Annotated[str | None, typer.Option(help="Mobile number for duty SMS (E.164).")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a staff account and print its API token (shown only this once)."""
    if role not in ROLES:
        raise _fail(f"Unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == StaffRole.OFFICER and department is None:
        raise _fail("An officer needs --department")
    if len(password) < 8:
        raise _fail("The password must be at least 8 characters")
    with _session() as session:
        if auth.staff_by_username(session=session, username=username):
            raise _fail(f"There is already a staff account {username!r}")
        token = auth.new_token()
        staff = Staff(
            username=username,
            full_name=full_name,
            role=role,
            department_id=_department_id(session, department),
            phone=phone,
            password_hash=auth.hash_password(password),
            api_token_hash=auth.token_hash(token),
        )
        session.add(staff)
        session.commit()
    console.print(f"[green]✓[/] {role} {username} created.")
    console.print("API token (keep it safe; it is not shown again):")
    typer.echo(token)


@user_app.command("token")
def new_user_token(username: str) -> None:
    """Replace a staff member's API token (the old one stops working) and print it."""
    with _session() as session:
        staff = auth.staff_by_username(session=session, username=username)
        if staff is None:
            raise _fail(f"No staff account {username!r}")
        token = auth.new_token()
        staff.api_token_hash = auth.token_hash(token)
        session.add(staff)
        session.commit()
    typer.echo(token)


@user_app.command("password")
def set_password(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a new password (signs the account out everywhere)."""
    if len(password) < 8:
        raise _fail("The password must be at least 8 characters")
    with _session() as session:
        staff = auth.staff_by_username(session=session, username=username)
        if staff is None:
            raise _fail(f"No staff account {username!r}")
        staff.password_hash = auth.hash_password(password)
        session.add(staff)
        session.commit()
    console.print(f"[green]✓[/] password of {username} changed")


@user_app.command("disable")
def disable_user(username: str) -> None:
    """Deactivate an account: no sign-in, no API token, no duty SMS."""
    with _session() as session:
        staff = auth.staff_by_username(session=session, username=username)
        if staff is None:
            raise _fail(f"No staff account {username!r}")
        staff.active = False
        session.add(staff)
        session.commit()
    console.print(f"[green]✓[/] {username} disabled")


@user_app.command("list")
def list_users() -> None:
    """Staff accounts with their role and department."""
    with _session() as session:
        departments = {d.id: d.code for d in session.exec(select(Department))}
        table = Table("username", "name", "role", "department", "active")
        for staff in session.exec(select(Staff).order_by(Staff.username)):
            table.add_row(
                staff.username,
                staff.full_name,
                staff.role,
                departments.get(staff.department_id, "") if staff.department_id else "",
                "yes" if staff.active else "no",
            )
    console.print(table)


@apikey_app.command("add")
def add_key(
    name: Annotated[str, typer.Argument(help="The partner app, e.g. 'CitySourced'.")],
) -> None:
    """Issue an Open311 API key and print it (shown only this once)."""
    with _session() as session:
        row, key = keys.create_key(session=session, name=name)
    console.print(f"[green]✓[/] API key {row.id} for {name}:")
    typer.echo(key)


@apikey_app.command("list")
def list_api_keys() -> None:
    with _session() as session:
        table = Table("id", "partner", "created", "active")
        for row in keys.list_keys(session=session):
            table.add_row(
                str(row.id), row.name, f"{row.created_at:%Y-%m-%d}", "yes" if row.active else "no"
            )
    console.print(table)


@apikey_app.command("revoke")
def revoke_api_key(key_id: int) -> None:
    """Stop accepting a key."""
    with _session() as session:
        if keys.revoke_key(session=session, key_id=key_id) is None:
            raise _fail(f"No API key {key_id}")
    console.print(f"[green]✓[/] API key {key_id} revoked")


# --- the duty log (mounted by dutyline/cli.py as `dutyline dutylog`) ---------------------


def _day_option(raw: str) -> date:
    try:
        return parse_day(raw)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def dutylog(
    day: Annotated[
        date | None,
        typer.Option(
            "--date",
            parser=_day_option,
            metavar="YYYY-MM-DD",
            help="The day, in the city's time zone.",
            show_default="yesterday",
        ),
    ] = None,
    log_format: Annotated[
        LogFormat, typer.Option("--format", help="csv, or xlsx for a spreadsheet.")
    ] = LogFormat.CSV,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="The file to write; '-' writes the CSV to standard output.",
            show_default="dutylog-YYYY-MM-DD.csv|xlsx here",
        ),
    ] = None,
) -> None:
    """Export a day's duty log: every call and ticket, times in the city's time zone."""
    if output == "-" and log_format == LogFormat.XLSX:
        raise typer.BadParameter("a spreadsheet needs a file name, not '-'", param_hint="--output")
    settings = DispatchSettings()
    chosen = day or yesterday(settings.timezone)
    with _session() as session:
        log = build_duty_log(session=session, day=chosen, timezone=settings.timezone)
    if output == "-":
        typer.echo(csv_text(log), nl=False)  # for scripts: no byte-order mark
        return
    path = Path(output or file_name(log, log_format))
    try:
        path.write_bytes(log_bytes(log, log_format))
    except OSError as error:
        raise _fail(f"Cannot write {path}: {error.strerror or error}") from None
    console.print(
        f"[green]✓[/] duty log of {chosen} ({log.hours:g} hours, {settings.timezone}): "
        f"{len(log.rows)} row(s) written to {path}"
    )
