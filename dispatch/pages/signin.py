"""Signing in and out of the staff pages."""

from __future__ import annotations

from datetime import timedelta
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
)
from dispatch.pages.common import page_router, render
from dispatch.pages.security import (
    SigninFormChecked,
    clear_signin_cookie,
    set_signin_cookie,
    start_signin_form,
)
from dispatch.pages.translate import page_text
from dispatch.throttle import SignInThrottle, ThrottleLimits

router = page_router()


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect to another host.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _throttle(services: ServicesDep) -> SignInThrottle:
    settings = services.settings
    limits = ThrottleLimits(
        per_user=settings.signin_failures_per_user,
        per_address=settings.signin_failures_per_address,
        window=timedelta(minutes=settings.signin_window_minutes),
    )
    return SignInThrottle(services.dispatch.engine, settings.secret_key.get_secret_value(), limits)


@router.get("/", response_class=RedirectResponse)
def home(request: Request, services: ServicesDep, session: SessionDep) -> RedirectResponse:
    staff = cookie_staff(request, services, session)
    if staff is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse("/inbox", status_code=303)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, services: ServicesDep, next: str = "/") -> HTMLResponse:
    nonce = start_signin_form(request, services)
    response = render(request, "signin.html", staff=None, next=_safe_next(next))
    if nonce is not None:
        set_signin_cookie(response, services, nonce)
    return response


@router.post("/signin")
def signin(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    checked: SigninFormChecked,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    throttle = _throttle(services)
    address = request.client.host if request.client else "unknown"
    now = services.dispatch.clock()
    wait = throttle.retry_after(username=username, address=address, now=now)
    if wait is not None:
        # Refused before the password is even checked, right or wrong.
        minutes = services.settings.signin_window_minutes
        response = render(
            request,
            "signin.html",
            staff=None,
            next=_safe_next(next),
            username=username,
            error=page_text(
                request,
                "Too many wrong passwords: wait %(minutes)s minutes or ask an administrator.",
                minutes=minutes,
            ),
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    staff = authenticate(session=session, username=username, password=password)
    if staff is None:
        throttle.failed(username=username, address=address, now=now)
        return render(
            request,
            "signin.html",
            staff=None,
            next=_safe_next(next),
            username=username,
            error=page_text(request, "Wrong username or password."),
            status_code=401,
        )
    throttle.succeeded(username=username)
    target = _safe_next(next)
    response = RedirectResponse("/inbox" if target == "/" else target, status_code=303)
    set_session_cookie(response, services, staff)
    clear_signin_cookie(response, services)
    return response


@router.post("/signout")
def signout(staff: FormStaff, services: ServicesDep) -> RedirectResponse:
    response = RedirectResponse("/signin", status_code=303)
    clear_session_cookie(response, services)
    return response
