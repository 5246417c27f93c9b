"""GET /metrics, /livez and /readyz on the real app over HTTP (SQLite and PostgreSQL), the
voice recorders, and the Grafana dashboard: it parses and queries only series the app has.
The whole call through the real stack is tests/voice/test_call_metrics.py."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from dutyline.settings import ROOT
from tests.conftest import free_port, make_settings, migrate_and_seed, postgres_database, serve_app
from voice import metrics
from voice.twilio_serializer import TwilioSerializer

DASHBOARD = ROOT / "deploy" / "grafana-dashboard.json"
TOKEN = "scrape-secret"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> tuple[set[str], dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """The series names a query may use, and each sample's value."""
    names: set[str] = set()
    samples = {}
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return names, samples


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The real app (no speech models, no Rasa), its metrics behind a token. Its database
    URL is the `database_url` attribute of the test's node."""
    from dutyline.app import create_app

    sqlite = contextlib.nullcontext(f"sqlite:///{tmp_path / 'dutyline.db'}")
    with postgres_database() if request.param == "postgresql" else sqlite as url:
        port = free_port()
        settings = make_settings(
            tmp_path,
            database_url=url,
            public_url=f"http://127.0.0.1:{port}",
            rasa_url=f"http://127.0.0.1:{free_port()}",  # nobody there: not ready
            metrics_token=TOKEN,
        )
        migrate_and_seed(settings)
        request.node.database_url = url
        with serve_app(create_app(settings, load_models=False), port).running():
            yield f"http://127.0.0.1:{port}"


def test_liveness_readiness_and_metrics(app_url: str, request: pytest.FixtureRequest) -> None:
    with httpx.Client(base_url=app_url, timeout=30) as http:
        assert http.get("/livez").json() == {"status": "ok"}
        ready = http.get("/readyz")
        assert ready.status_code == 503  # Rasa is not there and the models are not loaded
        assert ready.json()["rasa"] == "not ready" and ready.json()["database"] == "ok"
        assert ready.json()["prompts"] == "being made"  # none made without the models
        assert http.get("/healthz").json() == ready.json()

        assert http.get("/metrics").status_code == 401
        wrong = http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        before = http.get("/metrics", headers=auth)
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("text/plain")
        # Refused: an unsigned Twilio webhook, a forged dialogue action, an API call
        # without a staff token.
        assert http.post("/twilio/voice", data={"CallSid": "CA1"}).status_code == 403
        assert http.post("/rasa/actions", json={}).status_code == 401
        assert http.get("/api/tickets").status_code == 401
        after = http.get("/metrics", headers=auth)
        served, counted = steady_backlog(http, auth, request.node.database_url)

    names, samples = scraped(after.text)
    _, earlier = scraped(before.text)
    for reason in ("twilio_signature", "action_token", "staff_token"):
        key = ("dutyline_rejected_requests_total", (("reason", reason),))
        assert samples[key] == earlier.get(key, 0) + 1, reason
    # The backlog is what the database holds, whatever the clock queued meanwhile (the app
    # sends a shift's hand-over at start-up when a shift changed in the last hour).
    assert served == counted and set(served) == {"email", "sms", "webhook"}
    assert {"dutyline_active_calls", "dutyline_turn_latency_seconds_bucket"} <= names
    # The dashboard asks only for series the app serves.
    assert dashboard_series() <= names


def steady_backlog(
    http: httpx.Client, auth: dict[str, str], database_url: str
) -> tuple[dict[str, float], dict[str, int]]:
    """The served backlog gauge and the database's own count, taken while the outbox is
    still (the same count before and after the scrape)."""
    from dispatch.db import make_engine
    from dispatch.metrics import outbox_backlog

    engine = make_engine(database_url)
    try:
        for _ in range(20):
            counted = outbox_backlog(engine)
            _, samples = scraped(http.get("/metrics", headers=auth).text)
            if outbox_backlog(engine) == counted:
                break
        served = {k[1][0][1]: v for k, v in samples.items() if k[0] == "dutyline_outbox_backlog"}
        return served, counted
    finally:
        engine.dispose()


def dashboard_series() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 12
    return {name for expr in exprs for name in re.findall(r"\b(?:dutyline|process)_\w+", expr)}


def test_the_dashboard_covers_every_dutyline_series(app_url: str) -> None:
    text = httpx.get(f"{app_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    families = {f.name for f in text_string_to_metric_families(text)}
    ours = {name for name in families if name.startswith("dutyline_")}
    queried = dashboard_series()
    missing = {name for name in ours if not any(q.startswith(name) for q in queried)}
    assert not missing


def test_inbound_lag_is_sampled_against_the_media_timestamps() -> None:
    now = [100.0]
    clock = metrics.InboundClock(every=5, clock=lambda: now[0])
    count = value("dutyline_inbound_lag_seconds_count")
    total = value("dutyline_inbound_lag_seconds_sum")
    for frame in range(5):  # on time: 20 ms of audio every 20 ms
        clock.arrived(str(frame * 20))
        now[0] += 0.02
    assert value("dutyline_inbound_lag_seconds_count") == count + 1
    assert value("dutyline_inbound_lag_seconds_sum") == pytest.approx(total)
    now[0] += 0.5  # the loop was busy: the next frames arrive half a second late
    for frame in range(5, 10):
        clock.arrived(str(frame * 20))
        now[0] += 0.02
    assert value("dutyline_inbound_lag_seconds_count") == count + 2
    assert value("dutyline_inbound_lag_seconds_sum") == pytest.approx(total + 0.5)
    clock.arrived(None)  # a line that sends no timestamps is not measured
    clock.arrived("soon")


def test_the_serializer_feeds_the_inbound_clock() -> None:
    serializer = TwilioSerializer()
    payload = base64.b64encode(b"\xff" * 160).decode()
    count = value("dutyline_inbound_lag_seconds_count")
    for frame in range(100):
        media = {"track": "inbound", "timestamp": str(frame * 20), "payload": payload}
        serializer.deserialize(json.dumps({"event": "media", "media": media}))
    assert value("dutyline_inbound_lag_seconds_count") == count + 2


def test_turns_and_calls_are_recorded() -> None:
    latency = value("dutyline_turn_latency_seconds_count")
    dialogue = value("dutyline_turn_stage_seconds_sum", stage="dialogue")
    confidence = value("dutyline_recognition_confidence_count")
    ended = value("dutyline_calls_ended_total", outcome="ticket_filed")
    active = value("dutyline_active_calls")

    metrics.bot_turn(None, {})  # a greeting answers nobody: no latency
    metrics.bot_turn(1250, {"recognition": 400, "dialogue": 300, "synthesis": 200})
    metrics.recognized(None)  # keyed digits carry no confidence
    metrics.recognized(0.82)
    metrics.call_started()
    assert value("dutyline_active_calls") == active + 1
    metrics.call_ended("ticket_filed")

    assert value("dutyline_turn_latency_seconds_count") == latency + 1
    assert value("dutyline_turn_stage_seconds_sum", stage="dialogue") == pytest.approx(
        dialogue + 0.3
    )
    assert value("dutyline_recognition_confidence_count") == confidence + 1
    assert value("dutyline_calls_ended_total", outcome="ticket_filed") == ended + 1
    assert value("dutyline_active_calls") == active
