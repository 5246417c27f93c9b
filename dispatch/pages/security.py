"""What keeps the staff pages safe in a browser: response headers, and the sign-in
form's CSRF token (the other forms' token lives in the session cookie, dispatch.auth).

The pages load scripts and styles only from /static/dispatch/ (no inline script,
no style attribute), so the policy needs no 'unsafe-inline'.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import MutableMapping
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request, status

from dispatch.auth import ServicesDep, cookie_flags, new_token, same_secret

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

# Before sign-in there is no session to tie a token to, so the sign-in page gives the
# browser a random nonce in a cookie and the form carries an HMAC of it: a page on
# another site can neither read the cookie nor compute the token (login CSRF).
SIGNIN_COOKIE = "dutyline_signin"
SIGNIN_COOKIE_MAX_AGE_SECONDS = 3600


def add_security_headers(headers: MutableMapping[str, str]) -> None:
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)


def _signin_token(services: Any, nonce: str) -> str:
    key = services.settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"dutyline.signin-form\0" + nonce.encode(), hashlib.sha256).hexdigest()


def start_signin_form(request: Request, services: Any) -> str | None:
    """Puts the form's token on request.state; returns a new nonce to set as the cookie
    when the browser has none yet."""
    nonce = request.cookies.get(SIGNIN_COOKIE)
    fresh = None if nonce else new_token()
    request.state.csrf_token = _signin_token(services, nonce or fresh or "")
    return fresh


def set_signin_cookie(response: Any, services: Any, nonce: str) -> None:
    response.set_cookie(
        SIGNIN_COOKIE,
        nonce,
        max_age=SIGNIN_COOKIE_MAX_AGE_SECONDS,
        **cookie_flags(services.settings),
    )


def clear_signin_cookie(response: Any, services: Any) -> None:
    response.delete_cookie(SIGNIN_COOKIE, **cookie_flags(services.settings))


def check_signin_form(
    request: Request, services: ServicesDep, csrf_token: Annotated[str, Form()] = ""
) -> None:
    """The sign-in POST must carry the token made for this browser's nonce."""
    nonce = request.cookies.get(SIGNIN_COOKIE, "")
    expected = _signin_token(services, nonce) if nonce else ""
    if not expected or not same_secret(expected, csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "The form expired: reload the page")
    request.state.csrf_token = expected  # the form shown again (wrong password) keeps working


SigninFormChecked = Annotated[None, Depends(check_signin_form)]
