"""The admins' side of webhooks: `dutyline webhook add/list/remove` as a real process,
and the delivery log page with its retry button."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

from fastapi.testclient import TestClient
from sqlmodel import select
from standardwebhooks import Webhook
from typer.testing import CliRunner

from dispatch.contract import ComplaintReport
from dispatch.db import session_scope
from dispatch.models import WebhookDelivery, WebhookSubscription
from dispatch.service import DispatchService
from dispatch.webhooks.cli import webhook_app
from dispatch.webhooks.delivery import MAX_ATTEMPTS, backoff
from tests.dispatch.web_support import add_staff, build_app, csrf_token, post_signin
from tests.dispatch.webhooks.conftest import Receiver, subscribe

DUTYLINE = Path(sys.executable).parent / "dutyline"


def dutyline(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUTYLINE_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [str(DUTYLINE), "webhook", *args], env=env, capture_output=True, text=True, timeout=120
    )


def subscriptions(service: DispatchService) -> list[WebhookSubscription]:
    with session_scope(service.engine) as session:
        return list(session.exec(select(WebhookSubscription)))


def test_webhook_commands(service: DispatchService) -> None:
    url = service.settings.database_url
    added = dutyline(
        url,
        "add",
        "https://works.example.gov/dutyline",
        "--events",
        "ticket.created,ticket.closed",
        "--internal",
        "--description",
        "Public works orders",
    )
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    [row] = subscriptions(service)
    assert secret == row.secret and secret.startswith("whsec_")
    assert len(Webhook(secret)._whsecret) >= 24  # the package reads it
    assert row.events == ["ticket.created", "ticket.closed"] and row.internal
    assert row.description == "Public works orders"

    listed = dutyline(url, "list")
    assert listed.returncode == 0, listed.stderr
    assert "https://works.example.gov/dutyline" in listed.stdout
    assert "ticket.created, ticket.closed" in listed.stdout
    assert secret not in listed.stdout and "whsec_" not in listed.stdout

    bad = dutyline(url, "add", "ftp://works.example.gov/x")
    assert bad.returncode == 2 and "not an http(s) URL" in bad.stderr
    assert len(subscriptions(service)) == 1

    removed = dutyline(url, "remove", str(row.id))
    assert removed.returncode == 0, removed.stderr
    assert subscriptions(service) == []


def test_webhook_commands_refuse_bad_input(service: DispatchService, monkeypatch) -> None:
    monkeypatch.setenv("DUTYLINE_DATABASE_URL", service.settings.database_url)
    runner = CliRunner()
    unknown = runner.invoke(webhook_app, ["add", "https://x.example", "--events", "ticket.moved"])
    assert unknown.exit_code == 2 and "unknown event ticket.moved" in unknown.output
    assert runner.invoke(webhook_app, ["remove", "999"]).exit_code == 1
    added = runner.invoke(webhook_app, ["add", "http://x.example/h", "--events", "ticket.closed"])
    assert added.exit_code == 0, added.output
    [row] = subscriptions(service)
    assert row.events == ["ticket.closed"] and not row.internal
    assert runner.invoke(webhook_app, ["disable", str(row.id)]).exit_code == 0
    assert not subscriptions(service)[0].active


def test_the_delivery_log_shows_failures_and_retries_them(
    service: DispatchService, clock, receiver: Receiver
) -> None:
    subscription = subscribe(service.engine, receiver, "/works")
    receiver.answer = lambda body: 500
    number = service.file_complaint(ComplaintReport(kind="pothole", location="Main Street")).number
    service.set_status(number, "closed", "fixed", None)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        service.deliver_webhooks()
        clock.advance(seconds=backoff(attempt).total_seconds())

    add_staff(service.engine, "ad.min", role="admin")
    add_staff(service.engine, "rd.officer", role="officer", department="roads")
    app = build_app(service)
    officer = TestClient(app, follow_redirects=False)
    assert post_signin(officer, username="rd.officer", password="night-shift-2026").is_redirect
    assert officer.get("/admin/webhooks").status_code == 403

    admin = TestClient(app, follow_redirects=False)
    assert post_signin(admin, username="ad.min", password="night-shift-2026").is_redirect
    assert 'href="/admin/webhooks"' in admin.get("/admin").text
    page = admin.get("/admin/webhooks")
    assert page.status_code == 200, page.text
    html = page.text
    assert receiver.url("/works") in html and subscription.secret not in html
    assert number in html and "ticket.created" in html and "ticket.closed" in html
    assert "HTTP 500" in html and ">failed<" in html and ">waiting<" in html
    assert "1 failed" in html and "Retry all failed" in html

    with session_scope(service.engine) as session:
        failed = session.exec(select(WebhookDelivery).where(WebhookDelivery.status == "failed"))
        failed_id = failed.one().id
    action = f"/admin/webhooks/deliveries/{failed_id}/retry"
    assert f'action="{action}"' in html
    assert admin.post(action, data={"csrf_token": "forged"}).status_code == 403
    retried = admin.post(action, data={"csrf_token": csrf_token(html)})
    assert retried.status_code == 303
    assert "will be sent again" in unquote(retried.headers["location"])

    receiver.answer = lambda body: 200
    assert service.deliver_webhooks().delivered == 3
    assert [r.type for r in receiver.on("/works")] == [
        "ticket.created",
        "ticket.status_changed",
        "ticket.closed",
    ]
    html = admin.get("/admin/webhooks?status=delivered").text
    assert html.count('badge ok">delivered<') == 3 and 'badge warn">failed<' not in html
    again = admin.post(action, data={"csrf_token": csrf_token(html)})
    assert "not a failed one" in unquote(again.headers["location"])
