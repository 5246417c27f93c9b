"""Staff authentication: passwords (argon2), API tokens, the signed sign-in cookie, roles.

- Passwords are hashed with argon2id (argon2-cffi's defaults).
- API tokens and Open311 keys are long random strings; only their SHA-256 is
  stored (they carry 256 bits of entropy, so a slow hash buys nothing and a
  fast one lets every request be checked with one indexed lookup).
- Pages use a cookie signed with Settings.secret_key (itsdangerous). It holds
  the staff id, a CSRF token and a fingerprint of the password hash, so a
  password change signs every other session out. Deactivated staff are
  refused on the next request because the account is read on every request.
- Secrets are compared in constant time (`same_secret`) or found by their hash.
  Sign-in throttling is shared by every process: dispatch.throttle.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Form, HTTPException, Request, status
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session, select

from dispatch.db import session_scope
from dispatch.metrics import rejected
from dispatch.models import Department, Staff, StaffRole

# The composition root's `Services` (dutyline.app); typed loosely because dispatch/
# must not import the package that imports it.
Services = Any

SESSION_COOKIE = "dutyline_session"
SESSION_MAX_AGE_SECONDS = 12 * 3600  # one night shift and then some
_hasher = PasswordHasher()


# --- secrets -----------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison; bytes, because compare_digest refuses non-ASCII str."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


# --- services and database sessions ---------------------------------------------------


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Any, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with Session(services.dispatch.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


# --- staff lookups ---------------------------------------------------------------------


def staff_by_username(*, session: Session, username: str) -> Staff | None:
    return session.exec(select(Staff).where(Staff.username == username)).first()


def staff_by_token(*, session: Session, token: str) -> Staff | None:
    if not token:
        return None
    staff = session.exec(select(Staff).where(Staff.api_token_hash == token_hash(token))).first()
    return staff if staff is not None and staff.active else None


def authenticate(*, session: Session, username: str, password: str) -> Staff | None:
    staff = staff_by_username(session=session, username=username.strip())
    if staff is None or not staff.active:
        # Same work as a real check, so timing does not reveal which usernames exist.
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(staff.password_hash, password):
        return None
    if _hasher.check_needs_rehash(staff.password_hash or ""):
        # Stronger parameters since this hash was made: re-hash in a write transaction.
        with session_scope(session.get_bind(), write=True) as writing:
            row = writing.get(Staff, staff.id)
            row.password_hash = hash_password(password)
        session.rollback()  # a fresh snapshot, so the cookie's fingerprint uses the new hash
        session.refresh(staff)
    return staff


_DUMMY_HASH = _hasher.hash("not a real password")


def department_code(*, session: Session, staff: Staff) -> str | None:
    if staff.department_id is None:
        return None
    department = session.get(Department, staff.department_id)
    return department.code if department else None


# --- the sign-in cookie ------------------------------------------------------------------


def _serializer(services: Services) -> URLSafeTimedSerializer:
    secret = services.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(secret, salt="dutyline.staff-session")


def _password_fingerprint(staff: Staff) -> str:
    return hashlib.sha256((staff.password_hash or "").encode()).hexdigest()[:16]


def session_cookie_value(services: Services, staff: Staff) -> str:
    payload = {"staff": staff.id, "pw": _password_fingerprint(staff), "csrf": new_token()}
    return _serializer(services).dumps(payload)


def cookie_flags(settings: Any) -> dict[str, Any]:
    """Out of reach of scripts, not sent on cross-site POSTs, and https-only whenever
    the site is served over https (always in production: Settings requires it)."""
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": settings.public_url.startswith("https://"),
        "path": "/",
    }


def set_session_cookie(response: Any, services: Services, staff: Staff) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie_value(services, staff),
        max_age=SESSION_MAX_AGE_SECONDS,
        **cookie_flags(services.settings),
    )


def clear_session_cookie(response: Any, services: Services) -> None:
    response.delete_cookie(SESSION_COOKIE, **cookie_flags(services.settings))


def read_session_cookie(request: Request, services: Services) -> dict[str, Any] | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        payload = _serializer(services).loads(raw, max_age=SESSION_MAX_AGE_SECONDS)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None


def cookie_staff(request: Request, services: Services, session: Session) -> Staff | None:
    payload = read_session_cookie(request, services)
    if payload is None:
        return None
    staff = session.get(Staff, payload.get("staff"))
    if staff is None or not staff.active:
        return None
    if not same_secret(_password_fingerprint(staff), str(payload.get("pw", ""))):
        return None
    request.state.csrf_token = str(payload.get("csrf", ""))
    return staff


# --- dependencies ---------------------------------------------------------------------------


def current_staff(request: Request, services: ServicesDep, session: SessionDep) -> Staff:
    """API: `Authorization: Bearer <token>`; anything else is a 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    staff = (
        staff_by_token(session=session, token=token.strip()) if scheme.lower() == "bearer" else None
    )
    if staff is None:
        rejected("staff_token")
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Sign in with a staff API token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return staff


CurrentStaff = Annotated[Staff, Depends(current_staff)]


def page_staff(request: Request, services: ServicesDep, session: SessionDep) -> Staff:
    """Pages: the signed cookie; anonymous visitors are sent to sign in and come back."""
    staff = cookie_staff(request, services, session)
    if staff is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            status.HTTP_303_SEE_OTHER, headers={"Location": f"/signin?next={quote(target)}"}
        )
    return staff


PageStaff = Annotated[Staff, Depends(page_staff)]


def cookie_or_token_staff(request: Request, services: ServicesDep, session: SessionDep) -> Staff:
    """Media (the recording): the page's cookie or an API token; otherwise 401, never a redirect."""
    staff = cookie_staff(request, services, session)
    if staff is None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            staff = staff_by_token(session=session, token=token.strip())
    if staff is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Sign in first")
    return staff


def form_staff(
    request: Request, staff: PageStaff, csrf_token: Annotated[str, Form()] = ""
) -> Staff:
    """Page forms: the signed-in staff, and the form's CSRF token must be the one kept in
    the signed session cookie (random per sign-in; another site can neither read it nor
    guess it). Every page POST handler takes this; a refusal changes nothing."""
    expected = getattr(request.state, "csrf_token", None)
    if not expected or not same_secret(expected, csrf_token):
        rejected("csrf")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "The form expired: reload the page")
    return staff


FormStaff = Annotated[Staff, Depends(form_staff)]


def is_supervisor(staff: Staff) -> bool:
    return staff.role in (StaffRole.SUPERVISOR, StaffRole.ADMIN)


def require_supervisor(staff: Staff) -> None:
    if not is_supervisor(staff):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Supervisors only")


def require_admin(staff: Staff) -> None:
    if staff.role != StaffRole.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Administrators only")


def visible_department(staff: Staff) -> int | None:
    """The one department whose tickets this person may see (its id); None: all of them.

    Officers see their own department only; an officer without one sees nothing.
    """
    if is_supervisor(staff):
        return None
    if staff.department_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Your account has no department yet")
    return staff.department_id


def visible_ticket(services: Services, session: Session, staff: Staff, number: str) -> Any:
    """The ticket (TicketDetail) if this person may see it; otherwise 404, as if it did not
    exist, so officers cannot probe other departments' numbers."""
    ticket = services.dispatch.get_ticket(number)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No ticket {number}")
    if not is_supervisor(staff):
        own = department_code(session=session, staff=staff)
        if own is None or ticket.department_code != own:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"No ticket {number}")
    return ticket
