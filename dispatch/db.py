"""Engine, sessions, migrations and the health check.

SQLite (one server, the default) and PostgreSQL (psycopg 3) are both supported.
On SQLite, writing transactions start with BEGIN IMMEDIATE so that concurrent
writers wait on the busy timeout instead of failing with "database is locked"
when a read transaction tries to become a write one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

log = logging.getLogger("dutyline.dispatch.db")

ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = ROOT / "alembic.ini"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_BUSY_SECONDS = 30


def normalize_url(database_url: str) -> str:
    """psycopg 3 is the PostgreSQL driver; plain postgresql:// URLs are rewritten to it."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def make_engine(database_url: str) -> Engine:
    # hide_parameters: a failed statement's error (logged) never carries what callers said.
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        return create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
        )
    raise ValueError(f"unsupported database: {url.get_backend_name()} (use sqlite or postgresql)")


def _sqlite_engine(url: Any) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS},
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so we can emit BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("immediate"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, marked so that SQLite transactions take the write lock up front."""
    return engine.execution_options(immediate=True)


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back on error.

    `write=True` for transactions that will write (BEGIN IMMEDIATE on SQLite).
    Objects stay readable after commit (expire_on_commit=False).
    """
    session = Session(writer(engine) if write else engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    return config


_START_UP_LOCK_KEY = 0x44594C4E  # pg advisory lock: one replica migrates and seeds at a time


@contextmanager
def start_up_lock(database_url: str) -> Iterator[None]:
    """Replicas starting together migrate and seed one after the other: a PostgreSQL
    session advisory lock held on its own connection (the next one then finds the schema
    at head and the roster loaded). SQLite serves one machine: its file lock suffices."""
    if not normalize_url(database_url).startswith("postgresql"):
        yield
        return
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _START_UP_LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _START_UP_LOCK_KEY}
                )
                connection.commit()
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply the migrations (alembic upgrade head). A start-up step, never run at import."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def check(engine: Engine) -> str | None:
    """None when the database answers and is migrated, else the reason (for /healthz)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            version = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except Exception as exc:  # the reason is the health check's answer
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "alembic_version" in reason:
            return "database not migrated (migrations have not run)"
        return f"database unavailable: {reason}"
    if version is None:
        return "database not migrated (migrations have not run)"
    return None
