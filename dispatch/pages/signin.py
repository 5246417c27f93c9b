"""Signing in and out of the staff pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dispatch.auth import (
    FormStaff,
    ServicesDep,
    SessionDep,
    authenticate,
    clear_session_cookie,
    cookie_staff,
    set_session_cookie,
    sign_in_throttle,
)
from dispatch.pages.common import page_router, render

router = page_router()


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect to another host.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/", response_class=RedirectResponse)
def home(request: Request, services: ServicesDep, session: SessionDep) -> RedirectResponse:
    staff = cookie_staff(request, services, session)
    if staff is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse("/inbox", status_code=303)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "signin.html", staff=None, next=_safe_next(next))


@router.post("/signin")
def signin(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if sign_in_throttle.blocked(username):
        return render(
            request,
            "signin.html",
            staff=None,
            next=_safe_next(next),
            username=username,
            error="Too many wrong passwords: wait 15 minutes or ask an administrator.",
            status_code=429,
        )
    staff = authenticate(session=session, username=username, password=password)
    if staff is None:
        sign_in_throttle.failed(username)
        return render(
            request,
            "signin.html",
            staff=None,
            next=_safe_next(next),
            username=username,
            error="Wrong username or password.",
            status_code=401,
        )
    sign_in_throttle.succeeded(username)
    target = _safe_next(next)
    response = RedirectResponse("/inbox" if target == "/" else target, status_code=303)
    set_session_cookie(response, services, staff)
    return response


@router.post("/signout")
def signout(staff: FormStaff) -> RedirectResponse:
    response = RedirectResponse("/signin", status_code=303)
    clear_session_cookie(response)
    return response
