"""Helpers for the web tests (Open311, JSON API, pages): an app with dispatch's routes
on a real DispatchService, and staff accounts with passwords and API tokens.

The app is built here rather than with dutyline.app.create_app so these tests need
neither speech models nor the Rasa server; the routes are the same objects.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from sqlalchemy import Engine
from sqlmodel import select

from dispatch import auth
from dispatch.db import session_scope
from dispatch.models import Department, Staff
from dispatch.open311.keys import create_key
from dispatch.routes import routers
from dispatch.service import DispatchService

# The project's own GeoReport v2 schemas, written from the spec (see the folder's README).
SCHEMA_DIR = Path(__file__).resolve().parent / "open311_schema"
PASSWORD = "night-shift-2026"


def build_app(service: DispatchService) -> FastAPI:
    app = FastAPI()
    app.state.services = SimpleNamespace(settings=service.settings, dispatch=service)
    for router in routers:
        app.include_router(router)
    return app


def add_staff(
    engine: Engine,
    username: str,
    *,
    role: str = "officer",
    department: str | None = None,
    password: str = PASSWORD,
    full_name: str | None = None,
) -> tuple[Staff, str]:
    """Create (or reset) an account; returns it and a fresh API token."""
    token = auth.new_token()
    with session_scope(engine, write=True) as session:
        staff = session.exec(select(Staff).where(Staff.username == username)).first()
        if staff is None:
            staff = Staff(username=username, full_name=full_name or username.title())
        staff.role = role
        staff.active = True
        staff.department_id = (
            session.exec(select(Department.id).where(Department.code == department)).one()
            if department
            else None
        )
        staff.password_hash = auth.hash_password(password)
        staff.api_token_hash = auth.token_hash(token)
        session.add(staff)
        session.flush()
        session.refresh(staff)
    return staff, token


def add_api_key(engine: Engine, name: str = "FixMyCity") -> str:
    with session_scope(engine, write=True) as session:
        _, key = create_key(session=session, name=name)
    return key


@cache
def _registry() -> Registry:
    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text()), DRAFT7))
        for path in SCHEMA_DIR.glob("*.json")
    ]
    return Registry().with_resources(resources)


def schema_errors(name: str, document: Any) -> list[str]:
    """Messages of every way `document` breaks the GeoReport v2 schema `name`."""
    # jsonschema checks these formats only with rfc3339-validator and rfc3986-validator.
    checked = Draft7Validator.FORMAT_CHECKER.checkers
    assert "date-time" in checked and "uri" in checked, (
        "pip install rfc3339-validator rfc3986-validator"
    )
    schema = json.loads((SCHEMA_DIR / name).read_text())
    validator = Draft7Validator(
        schema, registry=_registry(), format_checker=Draft7Validator.FORMAT_CHECKER
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def schema_dir() -> Path:
    return SCHEMA_DIR


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def post_signin(client: Any, **form: str) -> Any:
    """Submit the sign-in form as a browser does: the page first (its cookie and token)."""
    page = client.get("/signin")
    assert page.status_code == 200, page.text
    return client.post("/signin", data={"csrf_token": csrf_token(page.text), **form})
