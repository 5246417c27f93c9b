"""scripts/with-test-services.sh, which `make test` runs the suite through: with nothing
answering at the addresses it is given, it starts a PostgreSQL and a Redis of its own,
hands their addresses to the command and stops them afterwards, even when the command
fails; servers that answer are used as they are."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg
import pytest

from dutyline.settings import ROOT
from tests.conftest import free_port

SCRIPT = ROOT / "scripts" / "with-test-services.sh"

# Runs inside the wrapper: uses both servers the way the tests do, then fails on purpose.
PROBE = """
import json, os, socket, psycopg
pg, redis = os.environ["DUTYLINE_TEST_PG_ADMIN"], os.environ["DUTYLINE_TEST_REDIS_URL"]
with psycopg.connect(pg, autocommit=True) as conn:
    conn.execute('CREATE DATABASE "probe"')
    data_dir = conn.execute("SHOW data_directory").fetchone()[0]
host, port = redis.removeprefix("redis://").split("/")[0].split(":")
with socket.create_connection((host, int(port)), timeout=5) as s:
    s.sendall(b"PING\\r\\n")
    pong = s.recv(16).decode()
print(json.dumps({"pg": pg, "redis": redis, "data_dir": data_dir, "pong": pong}))
raise SystemExit(3)
"""


def run_wrapper(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def unused_addresses() -> dict[str, str]:
    pg_port, redis_port = free_port(), free_port()
    assert not answers(pg_port) and not answers(redis_port)
    return {
        "DUTYLINE_TEST_PG_ADMIN": f"postgresql://postgres@127.0.0.1:{pg_port}/test",
        "DUTYLINE_TEST_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
    }


def test_starts_its_own_servers_and_stops_them_even_on_failure(
    unused_addresses: dict[str, str],
) -> None:
    result = run_wrapper([sys.executable, "-c", PROBE], **unused_addresses)

    assert result.returncode == 3, result.stderr  # the command's own exit status
    seen = json.loads(result.stdout)
    assert seen["pg"] != unused_addresses["DUTYLINE_TEST_PG_ADMIN"]
    assert seen["redis"] != unused_addresses["DUTYLINE_TEST_REDIS_URL"]
    assert seen["pong"] == "+PONG\r\n"
    assert "started PostgreSQL" in result.stderr and "started Redis" in result.stderr

    # Stopped and deleted: nothing answers, no server process is left, no data directory.
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(seen["pg"], connect_timeout=3).close()
    redis_port = int(seen["redis"].rsplit(":", 1)[1].split("/")[0])
    assert not answers(redis_port)
    data_dir = Path(seen["data_dir"])
    assert not data_dir.exists() and not data_dir.parent.exists()
    leftovers = [
        p.info["pid"]
        for p in psutil.process_iter(["pid", "cmdline"])
        if str(data_dir) in " ".join(p.info["cmdline"] or [])
        or f"127.0.0.1:{redis_port}" in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []


def test_servers_that_answer_are_used_as_they_are(unused_addresses: dict[str, str]) -> None:
    # The outer run starts servers; the inner one, given their addresses, must use them.
    inner = [
        "bash",
        str(SCRIPT),
        sys.executable,
        "-c",
        "import os; print(os.environ['DUTYLINE_TEST_PG_ADMIN'], "
        "os.environ['DUTYLINE_TEST_REDIS_URL'])",
    ]
    outer = [
        "bash",
        "-c",
        'echo "$DUTYLINE_TEST_PG_ADMIN $DUTYLINE_TEST_REDIS_URL"; "$@"',
        "outer",
        *inner,
    ]
    result = run_wrapper(outer, **unused_addresses)

    assert result.returncode == 0, result.stderr
    given, used = result.stdout.splitlines()
    assert used == given
    assert "using the PostgreSQL at" in result.stderr and "using the Redis at" in result.stderr
