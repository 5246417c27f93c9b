"""Fixtures for dispatch tests: every database test runs on SQLite and PostgreSQL.

One database per test module and backend (migrated and seeded once); the tables
a test writes to are emptied before each test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, bindparam, text

from dispatch.db import make_engine, upgrade
from dispatch.roster import load_roster
from dispatch.seed import seed
from dispatch.service import DispatchService
from dutyline.settings import ROOT, Settings
from tests.conftest import postgres_database

CITY = ZoneInfo("America/New_York")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
# Child tables first, so foreign keys never object.
WORK_TABLES = [
    "webhook_delivery",
    "webhook_subscription",
    "handover",
    "notification",
    "escalation",
    "ticket_event",
    "ticket_note",
    "ticket",
    "turn",
    "call",
    "ticket_counter",
    "api_key",
]


def city_time(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An instant given in the city's wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=CITY)


def dispatch_settings(database_url: str, tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": database_url,
        "recordings_dir": tmp / "recordings",
        "data_dir": ROOT / "data",
        "timezone": "America/New_York",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'dutyline.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture(scope="module")
def migrated_url(database_url: str) -> str:
    upgrade(database_url)
    engine = make_engine(database_url)
    seed(engine, ROOT / "data")
    engine.dispose()
    return database_url


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """The module's database as seeded: work tables empty, staff and departments reset."""
    engine = make_engine(migrated_url)
    roster = [s.username for s in load_roster(ROOT / "data").staff]
    with engine.begin() as connection:
        for table in WORK_TABLES:
            connection.execute(text(f'DELETE FROM "{table}"'))
        connection.execute(text("DELETE FROM duty_shift WHERE source <> 'roster'"))
        connection.execute(
            text("DELETE FROM staff WHERE username NOT IN :names").bindparams(
                bindparam("names", expanding=True)
            ),
            {"names": roster},
        )
        connection.execute(text("UPDATE staff SET active = true"))
    seed(engine, ROOT / "data")  # departments and roster back to data/
    yield engine
    engine.dispose()


class ManualClock:
    """The service's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class RecordingSms:
    """An SmsSender that keeps what it sent; `failures` makes the next n sends raise."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures = failures
        self.attempts = 0
        self._lock = threading.Lock()

    def send_sms(self, to: str, body: str) -> str:
        with self._lock:
            self.attempts += 1
            if self.failures > 0:
                self.failures -= 1
                raise ConnectionError("SMS provider unreachable")
            self.sent.append((to, body))
            return f"SM{self.attempts:030d}"

    def to(self, number: str) -> list[str]:
        return [body for to, body in self.sent if to == number]


@pytest.fixture
def clock() -> ManualClock:
    # A Saturday, 03:00 in the city: the night the line is for.
    return ManualClock(city_time(2026, 11, 21, 3, 0).astimezone(UTC))


@pytest.fixture
def sms() -> RecordingSms:
    return RecordingSms()


@pytest.fixture
def settings_for(migrated_url: str, tmp_path: Path):
    def make(**overrides: object) -> Settings:
        return dispatch_settings(migrated_url, tmp_path, **overrides)

    return make


@pytest.fixture
def service(engine: Engine, settings_for, sms: RecordingSms, clock: ManualClock) -> DispatchService:
    return DispatchService(engine, settings_for(), sms=sms, clock=clock)
