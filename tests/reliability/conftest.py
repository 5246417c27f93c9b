"""A private phone line for fault injection: its own app (sharing the session stack's
loaded speech models), its own PostgreSQL database and its own Rasa server whose
actions call this app. Killing its Rasa or its database leaves the session `stack`
alone; `ensure_rasa()` brings a killed Rasa back for the next test."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from callbench.caller_voices import synthesize_caller
from callbench.calls import MeteredLine
from dutyline.settings import Settings
from tests.conftest import (
    PG_ADMIN_URL,
    free_port,
    make_settings,
    migrate_and_seed,
    postgres_database,
    seed_every_city,
    serve_app,
    start_rasa,
    wait_until_ready,
)

VOICE = "flite:rms"  # not the bot's voice; the one tiny.en hears best (docs/benchmarks.md)


def caller(text: str, voice: str = VOICE) -> bytes:
    return synthesize_caller(text, voice=voice, silence_before_ms=200)


async def wait_until(predicate: Any, timeout: float = 60.0, every: float = 0.2) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(every)


async def wait_for_value(read: Any, timeout: float = 60.0, every: float = 0.5) -> Any:
    """Poll a blocking read (run in a thread) until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while True:
            value = await asyncio.to_thread(read)
            if value:
                return value
            await asyncio.sleep(every)


def line_for(app_url: str, settings: Settings, **options: Any) -> MeteredLine:
    return MeteredLine(
        app_url, public_url=settings.public_url, token=settings.signing_token, **options
    )


async def connect(app_url: str, settings: Settings, **options: Any) -> MeteredLine:
    line = line_for(app_url, settings, **options)
    dialed = await line.dial()
    assert dialed.status_code == 200, dialed.twiml
    await line.open_stream(dialed)
    return line


async def bot_text(line: MeteredLine) -> list[str]:
    summary = await line.summary() or {}
    return [t["text"] for t in summary.get("turns", []) if t["speaker"] == "bot"]


@dataclass
class PrivateStack:
    app_url: str
    settings: Settings
    services: Any  # dutyline.app.Services
    database: str  # the PostgreSQL database's name
    rasa_port: int
    rasa_log: Path
    rasa_process: subprocess.Popen[bytes] | None = None

    def ensure_rasa(self) -> None:
        """Start the Rasa server again if a test killed it."""
        if self.rasa_process is not None and self.rasa_process.poll() is None:
            return
        self.rasa_process = start_rasa(self.settings, self.rasa_port, self.rasa_log)
        wait_until_ready(self.settings.rasa_url, self.rasa_process, self.rasa_log)

    def stop_rasa(self) -> None:
        if self.rasa_process is not None and self.rasa_process.poll() is None:
            self.rasa_process.terminate()
            try:
                self.rasa_process.wait(20)
            except subprocess.TimeoutExpired:
                self.rasa_process.kill()

    def line(self, **options: Any) -> MeteredLine:
        return line_for(self.app_url, self.settings, **options)

    async def connect(self, **options: Any) -> MeteredLine:
        return await connect(self.app_url, self.settings, **options)

    @contextlib.contextmanager
    def database_down(self) -> Iterator[None]:
        """The database refuses connections (and drops the open ones) until the block ends."""
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{self.database}" WITH ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (self.database,),
            )
        try:
            yield
        finally:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{self.database}" WITH ALLOW_CONNECTIONS true')


@pytest.fixture(scope="session")
def private_stack(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    from dutyline.app import build_services, create_app

    tmp = tmp_path_factory.mktemp("private-stack")
    app_port, rasa_port = free_port(), free_port()
    with postgres_database() as url:
        settings = make_settings(
            tmp,
            database_url=url,
            port=app_port,
            public_url=f"http://127.0.0.1:{app_port}",
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            action_server_url=f"http://127.0.0.1:{app_port}",
        )
        migrate_and_seed(settings)
        # Its app loads the shared models again, setting each line's place names from
        # this database: without Gwangju's places the stack's Korean calls lost theirs.
        seed_every_city(settings)
        services = build_services(settings, speech=stack.services.speech)
        private = PrivateStack(
            app_url=f"http://127.0.0.1:{app_port}",
            settings=settings,
            services=services,
            database=url.rsplit("/", 1)[1],
            rasa_port=rasa_port,
            rasa_log=tmp / "rasa.log",
        )
        server = serve_app(create_app(settings, services=services), app_port)
        try:
            with server.running():
                private.ensure_rasa()
                yield private
        finally:
            private.stop_rasa()
            services.dispatch.engine.dispose()
