"""Issue 10, item 7: the staff side, tried as an attacker would.

- CSRF: every page POST, forged without the token, with a wrong one, with another
  session's, is refused with 403 and changes nothing; the real form still works.
- Cookies: HttpOnly and SameSite always, Secure with production settings.
- Headers: CSP (no inline script or style, no framing) and friends on every page.
- Password guessing alternated between two real app processes (two `uvicorn`
  processes on one SQLite file, then on one PostgreSQL database) is refused by both.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from dispatch.auth import SESSION_COOKIE
from dispatch.contract import CallEnd, CallStart, ComplaintReport
from dispatch.db import make_engine
from dispatch.models import Department, DutyShift, Staff, WebhookDelivery
from dispatch.pages.common import PageRoute
from dispatch.pages.security import SIGNIN_COOKIE
from dispatch.routes import routers
from dispatch.service import DispatchService
from dispatch.throttle import SignInFailure
from dispatch.webhooks.subscriptions import add_subscription
from dutyline.settings import ROOT, Settings
from tests.conftest import free_port, make_settings, migrate_and_seed, postgres_database
from tests.dispatch.conftest import RecordingSms
from tests.dispatch.web_support import PASSWORD, add_staff, build_app, csrf_token, post_signin

WATCHED_TABLES = [
    "staff",
    "department",
    "duty_shift",
    "ticket",
    "ticket_note",
    "ticket_event",
    "notification",
    "escalation",
    "webhook_subscription",
    "webhook_delivery",
]


@pytest.fixture
def service(migrated_settings: Settings) -> Iterator[DispatchService]:
    engine = make_engine(migrated_settings.database_url)
    yield DispatchService(engine, migrated_settings, sms=RecordingSms())
    engine.dispose()


@pytest.fixture
def app(service: DispatchService) -> FastAPI:
    return build_app(service)


def signed_in(app: FastAPI, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    response = post_signin(client, username=username, password=PASSWORD)
    assert response.status_code == 303, response.text
    return client


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of the tables a staff form can change."""
    with engine.connect() as connection:
        return {
            table: sorted(
                repr(tuple(row)) for row in connection.execute(text(f"SELECT * FROM {table}"))
            )
            for table in WATCHED_TABLES
        }


# --- CSRF ----------------------------------------------------------------------------------

PAGE_POSTS = sorted(
    route.path
    for router in routers
    for route in router.routes
    if isinstance(route, PageRoute) and "POST" in route.methods
)


def test_the_page_posts_are_all_known() -> None:
    # A new page form must be added to FORGED_FORMS below, so it is tried too.
    assert set(PAGE_POSTS) == set(FORGED_FORMS)


# What an attacker's page would submit: complete, valid forms (so only the token stops them).
FORGED_FORMS: dict[str, dict[str, str]] = {
    "/signin": {"username": "bf.admin", "password": PASSWORD},
    "/signout": {},
    "/tickets/{number}/acknowledge": {},
    "/tickets/{number}/note": {"body": "Forged note"},
    "/tickets/{number}/status": {"status": "closed", "close_reason": "fixed"},
    "/admin/departments/{department_id}": {"name": "Forged Department", "active": "true"},
    "/admin/staff": {
        "username": "forged.admin",
        "full_name": "Forged Admin",
        "role": "admin",
        "password": "forged-password-1",
    },
    "/admin/staff/{staff_id}": {"role": "admin", "active": "true", "new_password": "forged-pw-2"},
    "/admin/shifts": {"days": "daily", "start": "00:00", "end": "23:59"},
    "/admin/shifts/{shift_id}/delete": {},
    "/admin/webhooks/{subscription_id}/active": {"active": "false"},
    "/admin/webhooks/{subscription_id}/retry-failed": {},
    "/admin/webhooks/deliveries/{delivery_id}/retry": {},
}


def _target(path: str, service: DispatchService, victim: Staff) -> tuple[str, dict[str, str]]:
    """The route's URL and form, filled with real ids from the database."""
    with Session(service.engine) as session:  # a webhook whose message for the ticket failed
        subscription = add_subscription(session, url="http://127.0.0.1:9/city-works")
        session.commit()
        subscription_id = subscription.id
    number = service.file_complaint(
        ComplaintReport(kind="pothole", location="Main Street and 5th Avenue")
    ).number
    with Session(service.engine) as session:
        department = session.exec(select(Department).where(Department.code == "roads")).one()
        shift = session.exec(select(DutyShift)).first()
        message = session.exec(select(WebhookDelivery)).one()
        department_id, shift_id, delivery_id = department.id, shift.id, message.id
        message.status = "failed"
        session.add(message)
        session.commit()
    url = path.format(
        number=number,
        department_id=department_id,
        staff_id=victim.id,
        shift_id=shift_id,
        subscription_id=subscription_id,
        delivery_id=delivery_id,
    )
    form = dict(FORGED_FORMS[path])
    if path == "/admin/shifts":
        form |= {"staff_id": str(victim.id), "department_id": str(department_id)}
    return url, form


@pytest.mark.parametrize("path", sorted(FORGED_FORMS))
def test_forged_page_posts_are_refused_and_change_nothing(
    app: FastAPI, service: DispatchService, path: str
) -> None:
    add_staff(service.engine, "bf.admin", role="admin", full_name="Ada Admin")
    victim, _ = add_staff(service.engine, "bf.officer", department="roads")
    other = signed_in(app, "bf.officer")
    other_token = csrf_token(other.get("/inbox").text)
    url, form = _target(path, service, victim)

    if path == "/signin":
        client = TestClient(app, follow_redirects=False)
        real_token = csrf_token(client.get("/signin").text)
    else:
        client = signed_in(app, "bf.admin")
        real_token = csrf_token(client.get("/admin").text)
        assert real_token != other_token  # one token per session
    before = snapshot(service.engine)

    for forged in (None, "", "forged", other_token, real_token[:-1], "ü" * len(real_token)):
        data = form if forged is None else {**form, "csrf_token": forged}
        for accept in ("text/html", "application/json"):
            refused = client.post(url, data=data, headers={"Accept": accept})
            assert refused.status_code == 403, (forged, refused.text)
            assert SESSION_COOKIE not in refused.cookies  # not signed in, not signed out
    assert snapshot(service.engine) == before
    if path != "/signin":
        assert client.get("/inbox").status_code == 200  # still signed in

    # The same form with the page's own token does what it says.
    done = client.post(url, data={**form, "csrf_token": real_token})
    assert done.status_code in (200, 303), done.text  # adding staff shows the new token
    if path == "/signin":
        assert SESSION_COOKIE in done.cookies
    elif path == "/signout":
        assert client.get("/inbox").status_code == 303
    else:
        assert snapshot(service.engine) != before


def test_the_signin_token_belongs_to_the_browser_it_was_given_to(
    app: FastAPI, service: DispatchService
) -> None:
    add_staff(service.engine, "bf.officer", department="roads")
    attacker = TestClient(app, follow_redirects=False)
    token = csrf_token(attacker.get("/signin").text)
    victim = TestClient(app, follow_redirects=False)  # never opened the sign-in page
    form = {"username": "bf.officer", "password": PASSWORD, "csrf_token": token}
    refused = victim.post("/signin", data=form)
    assert refused.status_code == 403 and SESSION_COOKIE not in refused.cookies
    assert attacker.post("/signin", data=form).status_code == 303


# --- cookies ------------------------------------------------------------------------------


def _set_cookie(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


def _flags(header: str) -> set[str]:
    """A Set-Cookie header's attributes: {"httponly", "samesite=lax", "secure", ...}."""
    flags = set()
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        flags.add(f"samesite={value.lower()}" if name.lower() == "samesite" else name.lower())
    return flags


def test_cookies_are_http_only_and_same_site_over_http(
    app: FastAPI, service: DispatchService
) -> None:
    add_staff(service.engine, "bf.officer", department="roads")
    client = TestClient(app, follow_redirects=False)
    page = client.get("/signin")
    done = post_signin(client, username="bf.officer", password=PASSWORD)
    for header in (_set_cookie(page, SIGNIN_COOKIE), _set_cookie(done, SESSION_COOKIE)):
        flags = _flags(header)
        assert {"httponly", "samesite=lax", "path"} <= flags, header
        assert "secure" not in flags, header  # tests run over plain http
    out = client.post("/signout", data={"csrf_token": csrf_token(client.get("/inbox").text)})
    assert "httponly" in _flags(_set_cookie(out, SESSION_COOKIE))


def test_production_settings_make_the_cookies_secure(
    migrated_settings: Settings, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path,
        environment="production",
        database_url=migrated_settings.database_url,
        public_url="https://dutyline.example.gov",
        secret_key="a-production-secret-key-of-some-length",
        action_token="a-production-action-token-0123456789",
    )
    engine = make_engine(settings.database_url)
    add_staff(engine, "bf.officer", department="roads")
    app = build_app(DispatchService(engine, settings, sms=RecordingSms()))
    client = TestClient(app, base_url="https://dutyline.example.gov", follow_redirects=False)
    page = client.get("/signin")
    done = post_signin(client, username="bf.officer", password=PASSWORD)
    assert done.status_code == 303
    for header in (_set_cookie(page, SIGNIN_COOKIE), _set_cookie(done, SESSION_COOKIE)):
        assert {"secure", "httponly", "samesite=lax"} <= _flags(header), header
    assert client.get("/inbox").status_code == 200
    engine.dispose()


# --- headers --------------------------------------------------------------------------------


def _assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("default-src") == "default-src 'self'", csp
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert response.headers.get("x-frame-options") == "DENY"
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.headers.get("referrer-policy") == "same-origin"


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|<style|\son[a-z]+=|javascript:", re.I)


def test_every_page_has_the_security_headers_and_no_inline_code(
    app: FastAPI, service: DispatchService
) -> None:
    add_staff(service.engine, "bf.admin", role="admin", department="roads")
    sid = "CA" + "7" * 32
    started = datetime.now(UTC) - timedelta(minutes=5)
    service.open_call(CallStart(call_sid=sid, caller_number="+15185550777", started_at=started))
    number = service.file_complaint(
        ComplaintReport(kind="pothole", location="Main Street and 5th Avenue", call_sid=sid)
    ).number
    service.close_call(
        CallEnd(call_sid=sid, ended_at=started + timedelta(seconds=40), outcome="ticket_filed")
    )

    anonymous = TestClient(app, follow_redirects=False)
    _assert_security_headers(anonymous.get("/inbox"))  # the redirect to sign in
    client = signed_in(app, "bf.admin")
    html = {"Accept": "text/html"}
    pages = ["/signin", "/inbox", "/inbox/rows", f"/tickets/{number}", "/calls", f"/calls/{sid}"]
    pages += ["/reports", "/admin", "/tickets/2611219999"]  # the last one: the 404 page
    for path in pages:
        response = client.get(path, headers=html)
        assert response.status_code in (200, 404), (path, response.status_code)
        _assert_security_headers(response)
        assert not INLINE.search(response.text), (path, INLINE.search(response.text))
    _assert_security_headers(client.get("/static/dispatch/call.js"))
    _assert_security_headers(client.post("/signout", headers=html))  # the 403 page


# --- password guessing across two processes ------------------------------------------------


@contextmanager
def app_processes(settings: Settings, tmp: Path, count: int = 2) -> Iterator[list[str]]:
    """`count` real app processes (uvicorn, as `dutyline run` starts it) on one database."""
    env = {
        **os.environ,
        "DUTYLINE_ENVIRONMENT": "test",
        "DUTYLINE_DATABASE_URL": settings.database_url,
        "DUTYLINE_SECRET_KEY": "one-secret-for-every-process",
        "DUTYLINE_RECORDINGS_DIR": str(tmp / "recordings"),
        "DUTYLINE_SPOOL_DIR": str(tmp / "spool"),
        "DUTYLINE_DATA_DIR": str(settings.data_dir),
        "DUTYLINE_RASA_URL": "http://127.0.0.1:9",  # the pages never reach it
    }
    children: list[tuple[subprocess.Popen[bytes], Path]] = []
    urls = []
    with ExitStack() as stack:
        for n in range(count):
            port = free_port()
            log = tmp / f"app-{n}.log"
            out = stack.enter_context(log.open("wb"))
            command = [
                sys.executable, "-m", "uvicorn", "tests.security.staff_app:create_pages_app",
                "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            ]  # fmt: skip
            child = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
            children.append((child, log))
            urls.append(f"http://127.0.0.1:{port}")
        try:
            for (child, log), url in zip(children, urls, strict=True):
                _wait_until_serving(child, log, url)
            yield urls
        finally:
            for child, _ in children:
                child.terminate()
            for child, _ in children:
                try:
                    child.wait(15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def _wait_until_serving(child: subprocess.Popen[bytes], log: Path, url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if child.poll() is not None:
            pytest.fail(f"the app process exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/signin", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"the app process did not start:\n{log.read_text()}")


def _browsers(urls: list[str], address: str) -> list[httpx.Client]:
    # The servers trust X-Forwarded-For from 127.0.0.1 (uvicorn's default, as behind the
    # local reverse proxy), so each scenario comes from its own client address.
    return [
        httpx.Client(base_url=url, headers={"X-Forwarded-For": address}, timeout=30) for url in urls
    ]


def _try(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return post_signin(client, username=username, password=password)


def _brute_force_is_shared(urls: list[str], engine: Engine) -> None:
    add_staff(engine, "bf.target", department="roads")
    add_staff(engine, "bf.forgetful", department="roads")
    add_staff(engine, "bf.sprayed", department="roads")

    # One account guessed at through both processes in turn: 5 failures in all.
    first, second = _browsers(urls, "203.0.113.10")
    for attempt in range(5):
        wrong = _try((first, second)[attempt % 2], "bf.target", f"guess-{attempt}")
        assert wrong.status_code == 401, wrong.text
    for client in (second, first):  # even the right password, on either process
        refused = _try(client, "bf.target", PASSWORD)
        assert refused.status_code == 429 and "Too many wrong passwords" in refused.text
        assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
        assert SESSION_COOKIE not in refused.cookies

    # A success clears the account's count: 4 wrong, right, then 4 wrong again are all 401.
    first, second = _browsers(urls, "203.0.113.20")
    for attempt in range(4):
        assert _try((first, second)[attempt % 2], "bf.forgetful", "nope").status_code == 401
    assert _try(second, "bf.forgetful", PASSWORD).status_code == 303
    for attempt in range(4):
        assert _try((first, second)[attempt % 2], "bf.forgetful", "nope").status_code == 401

    # One address trying many usernames: 20 failures, then refused for any account...
    first, second = _browsers(urls, "198.51.100.7")
    for attempt in range(20):
        wrong = _try((first, second)[attempt % 2], f"nobody.{attempt:02d}", "password1")
        assert wrong.status_code == 401
    for client in (first, second):
        assert _try(client, "bf.sprayed", PASSWORD).status_code == 429
    # ...while the account itself is fine from another address.
    elsewhere, _ = _browsers(urls, "198.51.100.8")
    assert _try(elsewhere, "bf.sprayed", PASSWORD).status_code == 303

    # The shared table holds keyed hashes, never a username or an address.
    with Session(engine) as session:
        stored = " ".join(row.key for row in session.exec(select(SignInFailure)))
    assert stored and "bf." not in stored and "203.0.113" not in stored and "nobody" not in stored


def test_password_guessing_is_refused_by_both_processes_on_sqlite(
    migrated_settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(migrated_settings.database_url)
    with app_processes(migrated_settings, tmp_path) as urls:
        _brute_force_is_shared(urls, engine)
    engine.dispose()


@pytest.mark.postgres
def test_password_guessing_is_refused_by_both_processes_on_postgresql(
    settings: Settings, tmp_path: Path
) -> None:
    with postgres_database() as url:
        shared = settings.model_copy(update={"database_url": url})
        migrate_and_seed(shared)
        engine = make_engine(url)
        with app_processes(shared, tmp_path) as urls:
            _brute_force_is_shared(urls, engine)
        engine.dispose()
