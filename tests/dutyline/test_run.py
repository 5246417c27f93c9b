"""`dutyline run` brings the whole line up to a healthy /healthz and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest

from dutyline.settings import ROOT
from tests.conftest import free_port


@pytest.mark.slow
def test_run_starts_rasa_and_the_app_then_stops_both(tmp_path: Path) -> None:
    app_port, rasa_port = free_port(), free_port()
    env = dict(os.environ)
    env.update(
        DUTYLINE_PORT=str(app_port),
        DUTYLINE_RASA_URL=f"http://127.0.0.1:{rasa_port}",
        DUTYLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
        DUTYLINE_RECORDINGS_DIR=str(tmp_path / "recordings"),
    )
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "dutyline"), "run"],
        cwd=tmp_path,  # not the repo: it must not depend on the working directory
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 240
        body: dict = {}
        while time.monotonic() < deadline:
            assert proc.poll() is None, Path(log.name).read_text()[-3000:]
            try:
                r = httpx.get(f"http://127.0.0.1:{app_port}/healthz", timeout=5)
                body = r.json()
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            pytest.fail(f"never healthy: {body}\n{Path(log.name).read_text()[-3000:]}")
        assert body["rasa"] == "ok" and body["database"] == "ok"
        assert body["models"] and all(state == "loaded" for state in body["models"].values())
        children = psutil.Process(proc.pid).children(recursive=True)
        assert any("rasa" in " ".join(c.cmdline()) for c in children)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        time.sleep(0.5)
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        output = Path(log.name).read_text()
        assert "rasa |" in output and " app |" in output  # each process's lines are prefixed
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
