"""Several lines at the deployment's level (issue 14): set-up trains a dialogue model per
locale a line uses and imports every line's city; `dutyline run` starts a Rasa server per
locale; the app's dialogue client sends each call to its locale's servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from rich.console import Console
from sqlalchemy.engine import make_url

from dutyline import rasa_env
from dutyline.runner import rasa_children
from nlu.client import RasaDialogue
from nlu.rasa_servers import rasa_urls_of
from tests.conftest import (
    free_port,
    make_settings,
    postgres_database,
    start_rasa,
    wait_until_ready,
)

DUTYLINE = str(Path(sys.executable).parent / "dutyline")


def _env(tmp: Path, **more: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DUTYLINE_DATABASE_URL": f"sqlite:///{tmp / 'setup.db'}",
        "DUTYLINE_RECORDINGS_DIR": str(tmp / "recordings"),
        "DUTYLINE_SPOOL_DIR": str(tmp / "spool"),
    }
    env.pop("DUTYLINE_LINES", None)
    return env | more


def test_each_locale_has_its_rasa_servers(tmp_path: Path) -> None:
    plain = make_settings(tmp_path, rasa_url="http://127.0.0.1:5005")
    assert rasa_urls_of(plain) == {"en": ["http://127.0.0.1:5005"], "ko": ["http://127.0.0.1:5006"]}
    several = make_settings(tmp_path, rasa_url="http://rasa:5005,http://rasa2:5007")
    assert rasa_urls_of(several)["ko"] == ["http://rasa:5008"]  # after the highest port
    told = make_settings(tmp_path, rasa_urls={"ko": "http://rasa-ko:5005, http://rasa-ko2:5005"})
    assert rasa_urls_of(told)["ko"] == ["http://rasa-ko:5005", "http://rasa-ko2:5005"]
    single = make_settings(tmp_path, lines="")  # the older one-locale deployment
    assert rasa_urls_of(single) == {"en": ["http://127.0.0.1:5005"]}


def test_the_rasa_urls_setting_reads_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from dutyline.settings import Settings

    monkeypatch.setenv("DUTYLINE_RASA_URLS", json.dumps({"ko": "http://10.0.0.9:5005"}))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert rasa_urls_of(settings)["ko"] == ["http://10.0.0.9:5005"]


def test_run_starts_one_rasa_server_per_locale_with_its_model(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rasa_url="http://127.0.0.1:5105")
    children = rasa_children(settings, Console(file=open(os.devnull, "w")))  # noqa: SIM115
    models = {child.name: child.cmd[child.cmd.index("--model") + 1] for child in children}
    ports = {child.name: child.cmd[child.cmd.index("--port") + 1] for child in children}
    assert models == {
        "rasa": str(rasa_env.model_path(settings, "en")),
        "ko": str(rasa_env.model_path(settings, "ko")),
    }
    assert ports == {"rasa": "5105", "ko": "5106"}
    assert [child.url for child in children] == ["http://127.0.0.1:5105", "http://127.0.0.1:5106"]


async def test_each_call_goes_to_its_locale_servers() -> None:
    # A unit's edge: which server each request reaches (the real exchange: test_korean_line).
    seen: list[tuple[str, str]] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.url.path))
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_file": f"{request.url.host}.tar.gz"})
        if request.url.path.endswith("/tracker"):
            return httpx.Response(200, json={"events": []})
        return httpx.Response(200, json=[{"text": request.url.host}])

    dialogue = RasaDialogue(
        {"en": "http://en.test", "ko": "http://ko.test"},
        timeout=5,
        locale="en",
        transport=httpx.MockTransport(rasa),
    )
    try:
        assert (await dialogue.start("CAko", {"locale": "ko"}))[0].text == "ko.test"
        assert (await dialogue.say("CAko", "중앙로 12"))[0].text == "ko.test"
        assert (await dialogue.keypad("CAko", "1"))[0].text == "ko.test"  # no locale: the call's
        assert (await dialogue.event("CAko", "no_input"))[0].text == "ko.test"
        await dialogue.understood("CAko", "x")
        assert (await dialogue.start("CAen", {"locale": "en"}))[0].text == "en.test"
        assert (await dialogue.say("CAnew", "hello"))[0].text == "en.test"  # default locale
        assert (await dialogue.say("CAfr", "bonjour", {"locale": "fr"}))[0].text == "en.test"
        assert await dialogue.ready()
        assert {host for host, path in seen if path == "/status"} == {"en.test", "ko.test"}
        assert ("ko.test", "/conversations/CAko/tracker") in seen
        assert dialogue.urls == {"en": ["http://en.test"], "ko": ["http://ko.test"]}
    finally:
        await dialogue.aclose()


def test_a_bad_lines_stops_migrate_saying_why(tmp_path: Path) -> None:
    bad = tmp_path / "lines.yaml"
    bad.write_text("lines:\n  - {number: '+15555550100', locale: en, city: Atlantis}\ncities: {}\n")
    result = subprocess.run(
        [DUTYLINE, "migrate"],
        env=_env(tmp_path, DUTYLINE_LINES=str(bad)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Atlantis" in result.stdout and "Traceback" not in result.stdout + result.stderr


@pytest.mark.postgres
def test_migrate_imports_every_line_city_on_postgresql(tmp_path: Path) -> None:
    with postgres_database() as url:
        result = subprocess.run(
            [DUTYLINE, "migrate"],
            env=_env(tmp_path, DUTYLINE_DATABASE_URL=url),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "places of Riverton, Gwangju" in result.stdout
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain) as conn:
            cities = {row[0] for row in conn.execute("SELECT name FROM place_city")}
        assert cities == {"Riverton", "Gwangju"}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # when nlu/ changed, each model retrains (10 min on a busy machine)
def test_setup_trains_a_model_per_locale_and_imports_every_city(tmp_path: Path) -> None:
    """Real `dutyline setup` (idempotent: models trained and inputs unchanged take seconds)."""
    result = subprocess.run(
        [DUTYLINE, "setup"],
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "dialogue model en" in output and "dialogue model ko" in output
    assert "places of Riverton, Gwangju" in output
    settings = make_settings(tmp_path)
    for locale in ("en", "ko"):
        model = rasa_env.model_path(settings, locale)
        assert model.is_file() and model.stat().st_size > 1_000_000
        stamp = settings.rasa_dir / f"{locale}.sha256"
        assert stamp.is_file()  # trained from the locale's current inputs


@pytest.mark.slow
def test_the_korean_rasa_server_memory_and_start_up(
    tmp_path: Path, record_figures: Callable[[str, object], None]
) -> None:
    """What the Korean line's dialogue server costs (docs/architecture.md's figures): from
    start to its model loaded, and its memory after a first parse."""
    settings = make_settings(tmp_path)
    port = free_port()
    log = tmp_path / "rasa-ko.log"
    started = time.monotonic()
    rasa = start_rasa(settings, port, log, "ko")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url, rasa, log)
        ready = time.monotonic() - started
        parsed = httpx.post(
            f"{url}/model/parse", json={"text": "경안로 123에 차가 서 있어요"}, timeout=60
        )
        assert parsed.status_code == 200 and parsed.json()["intent"]["name"]
        process = psutil.Process(rasa.pid)
        rss = process.memory_info().rss + sum(
            child.memory_info().rss for child in process.children(recursive=True)
        )
    finally:
        rasa.terminate()
        rasa.wait(30)
    record_figures("rasa ko server", {"start_up_s": round(ready, 1), "rss_mb": rss // 2**20})
    assert rss < 2 * 2**30  # docker-compose's mem_limit for a Rasa server
    assert ready < 240


def test_a_line_whose_city_has_no_places_is_logged_and_gets_no_place_names(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each line's place answers are heard with its own city's names; a city without places
    (the Korean city not imported) is said in the log, and its answers get no hints, not
    another city's. Real SQLite, real dispatch, the real data/lines.yaml."""
    from dutyline.app import build_services, line_vocabularies
    from nlu.contract import Expect
    from tests.conftest import migrate_and_seed, seed_every_city
    from voice.expectations import Expectations

    settings = make_settings(tmp_path)
    migrate_and_seed(settings)  # the first line's city only: Riverton
    services = build_services(settings)
    try:
        with caplog.at_level("WARNING", logger="dutyline"):
            vocabularies = line_vocabularies(services)
        assert set(vocabularies) == {"en", "ko"}
        warned = [r.getMessage() for r in caplog.records if "has no places" in r.getMessage()]
        assert len(warned) == 1 and "ko line's city (Gwangju)" in warned[0], warned
        hints = Expectations(vocabularies["en"], other_places={"ko": vocabularies["ko"].places})
        assert hints.hints_for(Expect.PLACE, "ko") is None
        caplog.clear()
        services.dispatch.engine.dispose()
        seed_every_city(settings)
        services = build_services(settings)  # a city's places are read when it starts
        with caplog.at_level("WARNING", logger="dutyline"):
            vocabularies = line_vocabularies(services)
        assert not [r for r in caplog.records if "has no places" in r.getMessage()]
        hints = Expectations(vocabularies["en"], other_places={"ko": vocabularies["ko"].places})
        korean = hints.hints_for(Expect.PLACE, "ko")
        assert korean is not None and "광주대로" in korean.prompt.split()
    finally:
        services.dispatch.engine.dispose()
