"""Replicas that start together on one PostgreSQL migrate and seed one after the other
(dispatch.db.start_up_lock): real `dutyline migrate` processes, a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import postgres_database

pytestmark = pytest.mark.postgres

LOCK_KEY = 0x44594C4E  # dispatch.db._START_UP_LOCK_KEY


def _migrate(url: str, tmp: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DUTYLINE_DATABASE_URL": url,
        "DUTYLINE_RECORDINGS_DIR": str(tmp / "recordings"),
        "DUTYLINE_SPOOL_DIR": str(tmp / "spool"),
    }
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "dutyline"), "migrate"],
        env=env,
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _blocked_on_advisory_lock(conn: psycopg.Connection) -> bool:
    (waiting,) = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()
    return waiting > 0


def test_replicas_starting_together_migrate_and_seed_once(tmp_path: Path) -> None:
    with postgres_database() as url:
        starting = [_migrate(url, tmp_path) for _ in range(3)]
        outputs = [p.communicate(timeout=240)[0] for p in starting]
        assert [p.returncode for p in starting] == [0, 0, 0], "\n".join(outputs)
        with psycopg.connect(_plain(url)) as conn:
            (versions,) = conn.execute("SELECT count(*) FROM alembic_version").fetchone()
            (departments,) = conn.execute("SELECT count(*) FROM department").fetchone()
            (codes,) = conn.execute("SELECT count(DISTINCT code) FROM department").fetchone()
            (staff,) = conn.execute("SELECT count(*) FROM staff").fetchone()
            (names,) = conn.execute("SELECT count(DISTINCT username) FROM staff").fetchone()
        assert versions == 1
        assert departments == codes > 0 and staff == names > 0


def test_a_replica_waits_while_another_holds_the_start_up_lock(tmp_path: Path) -> None:
    with postgres_database() as url, psycopg.connect(_plain(url), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        waiting = _migrate(url, tmp_path)
        try:
            deadline = time.monotonic() + 120
            while not _blocked_on_advisory_lock(holder):
                assert waiting.poll() is None, (
                    "migrated without waiting: " + waiting.communicate()[0]
                )
                assert time.monotonic() < deadline, "never asked for the start-up lock"
                time.sleep(0.2)
            time.sleep(1)
            assert waiting.poll() is None
            (tables,) = holder.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'staff'"
            ).fetchone()
            assert tables == 0  # nothing migrated behind the holder's back
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        output = waiting.communicate(timeout=240)[0]
        assert waiting.returncode == 0, output
