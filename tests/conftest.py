"""Shared fixtures: settings on a temporary database, PostgreSQL databases, and the
real stack (the app on a free port and a Rasa server trained from the repo)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from dutyline.settings import ROOT, Settings

# `make test` (scripts/with-test-services.sh) sets these to servers that answer, its own
# throw-away ones when none answers at the given addresses.
PG_ADMIN_URL = os.environ.get("DUTYLINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DUTYLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": f"sqlite:///{tmp / 'dutyline.db'}",
        "recordings_dir": tmp / "recordings",
        "spool_dir": tmp / "spool",
        "models_dir": ROOT / "models",
        "data_dir": ROOT / "data",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test or module, dropped afterwards."""
    name = f"dutyline_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def migrate_and_seed(settings: Settings) -> None:
    from dispatch.db import make_engine, upgrade
    from dispatch.seed import seed

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    seed(engine, settings.data_dir)
    engine.dispose()


def seed_every_city(settings: Settings) -> None:
    """The places of every line's city (importing one already there changes nothing). An app that
    shares another's speech models must: loading them sets the place names each line's
    recognizer expects, and a city without places leaves that line without them."""
    from dispatch.db import make_engine
    from dispatch.lines import lines_of
    from dispatch.places.importer import seed_places

    engine = make_engine(settings.database_url)
    try:
        for city in lines_of(settings).cities:
            seed_places(engine, city.source())
    finally:
        engine.dispose()


@pytest.fixture
def migrated_settings(settings: Settings) -> Settings:
    migrate_and_seed(settings)
    return settings


class ThreadedServer(uvicorn.Server):
    """uvicorn in a background thread, so a test can call it over real sockets."""

    def install_signal_handlers(self) -> None:  # the test runner owns signals
        pass

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not self.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app server did not start")
            time.sleep(0.05)
        try:
            yield
        finally:
            self.should_exit = True
            thread.join(15)


def serve_app(app: object, port: int) -> ThreadedServer:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio", lifespan="on"
    )
    return ThreadedServer(config)


@dataclass
class Stack:
    app_url: str
    ws_url: str
    rasa_url: str
    settings: Settings
    services: object  # dutyline.app.Services
    rasa_process: subprocess.Popen[bytes]
    # issue 14: each locale's Rasa server (en is rasa_url), and the Korean line (data/lines.yaml)
    rasa_urls: dict[str, str] = field(default_factory=dict)
    ko: StackLine | None = None


@dataclass(frozen=True)
class StackLine:
    """One line of the stack's deployment: dial `number` (Twilio's `To`) to reach it."""

    number: str
    locale: str
    city: str
    rasa_url: str
    rasa_process: subprocess.Popen[bytes]


def start_rasa(
    settings: Settings, port: int, log: Path, locale: str | None = None
) -> subprocess.Popen[bytes]:
    from dutyline import rasa_env

    locale = locale or settings.locale
    model = rasa_env.model_path(settings, locale)
    if not model.exists():
        raise RuntimeError(f"{model} is missing: run `make test` (it trains the dialogue model)")
    endpoints = rasa_env.write_endpoints(
        log.parent / "endpoints.yml", settings.action_endpoint, settings.action_token_value
    )
    cmd = rasa_env.server_command(settings, locale, port=port, endpoints=endpoints)
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=rasa_env.rasa_environment(),
            cwd=log.parent,
        )


def wait_until_ready(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 240
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Rasa exited during start-up:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/status", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"Rasa did not become ready in {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole phone line, for real: app + models + database + trained Rasa server."""
    from dispatch.lines import lines_of
    from dutyline.app import build_services, create_app

    tmp = tmp_path_factory.mktemp("stack")
    app_port, rasa_port, ko_port = free_port(), free_port(), free_port()
    settings = make_settings(
        tmp,
        port=app_port,
        public_url=f"http://127.0.0.1:{app_port}",
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        rasa_urls={"en": f"http://127.0.0.1:{rasa_port}", "ko": f"http://127.0.0.1:{ko_port}"},
        action_server_url=f"http://127.0.0.1:{app_port}",
    )
    migrate_and_seed(settings)
    seed_every_city(settings)
    lines = lines_of(settings)
    rasa_log, ko_log = tmp / "rasa.log", tmp / "ko" / "rasa.log"
    ko_log.parent.mkdir()
    rasa = start_rasa(settings, rasa_port, rasa_log, "en")
    ko_rasa = start_rasa(settings, ko_port, ko_log, "ko")  # both load at once, in parallel
    ko_line = next(line for line in lines.lines if line.locale == "ko")
    try:
        services = build_services(settings)
        server = serve_app(create_app(settings, services=services), app_port)
        with server.running():
            deadline = time.monotonic() + 240
            while not (services.speech.ready and services.speech.prompts_ready):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"speech models did not load: {services.speech.status()}")
                time.sleep(0.2)
            wait_until_ready(settings.rasa_url, rasa, rasa_log)
            wait_until_ready(f"http://127.0.0.1:{ko_port}", ko_rasa, ko_log)
            yield Stack(
                app_url=f"http://127.0.0.1:{app_port}",
                ws_url=f"ws://127.0.0.1:{app_port}",
                rasa_url=settings.rasa_url,
                settings=settings,
                services=services,
                rasa_process=rasa,
                rasa_urls={"en": settings.rasa_url, "ko": f"http://127.0.0.1:{ko_port}"},
                ko=StackLine(
                    number=ko_line.number,
                    locale="ko",
                    city=ko_line.city,
                    rasa_url=f"http://127.0.0.1:{ko_port}",
                    rasa_process=ko_rasa,
                ),
            )
    finally:
        for process in (rasa, ko_rasa):
            process.terminate()
        for process in (rasa, ko_rasa):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


# --- figures: what benchmark-like tests measured, printed at the end of every run ------------

_FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture
def record_figures(request: pytest.FixtureRequest) -> Callable[[str, object], None]:
    """`record_figures(name, value)`: shown in the run's summary even when output is captured
    and on xdist workers (it travels with the test's report), so CI logs carry the measured
    numbers (load, held-out NLU report), pass or fail."""

    def record(name: str, value: object) -> None:
        text = value if isinstance(value, str) else json.dumps(value)
        request.node.user_properties.append(("figure", f"{name} {text}"))

    return record


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    found = _figures_of(report)
    if found and _CONFIG:
        _CONFIG[0].stash.setdefault(_FIGURES, []).extend(found)


def _figures_of(report: pytest.TestReport) -> list[str]:
    return [str(value) for key, value in report.user_properties if key == "figure"]


_CONFIG: list[pytest.Config] = []


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG[:] = [config]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    found = config.stash.get(_FIGURES, [])
    if found:
        terminalreporter.section("figures measured")
        for line in found:
            terminalreporter.write_line(line)
