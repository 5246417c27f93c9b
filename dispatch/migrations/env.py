"""Alembic environment: runs on the connection dispatch.db.upgrade passes in, or,
from the command line (`alembic upgrade head`), on the app's DUTYLINE_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

# Importing the modules registers their tables on SQLModel.metadata.
import dispatch.models
import dispatch.places.tables
import dispatch.sms_consent
import dispatch.throttle  # noqa: F401
from dispatch.db import make_engine
from dispatch.settings import DispatchSettings

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    # From the command line: the app's own settings (environment, .env).
    return config.get_main_option("sqlalchemy.url") or DispatchSettings().database_url


def run_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
