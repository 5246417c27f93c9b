"""Admin pages: departments, staff accounts and the duty roster.

Roster shifts from data/roster.yaml are re-seeded at start-up; shifts added
here are `manual` and stay until deleted here.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated
from urllib.parse import quote

from babel.dates import get_day_names
from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from dispatch import auth
from dispatch.auth import FormStaff, PageStaff, ServicesDep, SessionDep, require_admin
from dispatch.db import session_scope
from dispatch.i18n import N_, SOURCE_LANGUAGE, is_source, language, translate
from dispatch.models import Department, DutyShift, Staff, StaffRole
from dispatch.pages import queries
from dispatch.pages.common import page_router, render
from dispatch.pages.translate import request_locale
from dispatch.roster import email_address, parse_days, parse_time, weekdays_of, weekdays_text

router = page_router(prefix="/admin")

DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
SHIFT_SOURCES = (N_("roster"), N_("manual"))  # a shift's source, as the roster shows it


def _done(
    services: ServicesDep, message: str, *, error: bool = False, **values: object
) -> RedirectResponse:
    """Back to the admin page saying how it went, in the city's language."""
    text = translate(services.settings.locale, message)
    text = text % values if values else text
    return RedirectResponse(f"/admin?{'error' if error else 'done'}={quote(text)}", 303)


def _days_label(text: str, locale: str = SOURCE_LANGUAGE) -> str:
    days = sorted(weekdays_of(text))
    if days == list(range(1, 8)):
        return translate(locale, "daily")
    if is_source(locale):
        return ", ".join(DAY_NAMES[d - 1] for d in days)
    names = get_day_names("abbreviated", locale=language(locale))  # 0 is Monday
    return ", ".join(names[d - 1] for d in days)


def _page(
    request: Request, staff: Staff, session: Session, flash: str, *, error: bool = False
) -> HTMLResponse:
    departments = queries.departments(session=session)
    members = queries.staff_members(session=session)
    return render(
        request,
        "admin.html",
        staff=staff,
        session=session,
        departments=departments,
        members=members,
        shifts=queries.shifts(session=session),
        department_names={d.id: d.name for d in departments},
        department_codes={d.id: d.code for d in departments},
        staff_names={m.id: m.full_name for m in members},
        roles=[role.value for role in StaffRole],
        days_label=partial(_days_label, locale=request_locale(request)),
        flash=flash,
        flash_kind="error" if error else "ok",
        section="admin",
    )


@router.get("", response_class=HTMLResponse)
def admin_page(
    request: Request,
    staff: PageStaff,
    session: SessionDep,
    done: str = "",
    error: str = "",
) -> HTMLResponse:
    require_admin(staff)
    return _page(request, staff, session, error or done, error=bool(error))


def _write(services: ServicesDep) -> Session:
    return session_scope(services.dispatch.engine, write=True)  # type: ignore[return-value]


@router.post("/departments/{department_id}")
def update_department(
    department_id: int,
    staff: FormStaff,
    services: ServicesDep,
    name: Annotated[str, Form(min_length=2, max_length=120)],
    phone: Annotated[str, Form(max_length=32)] = "",
    fallback_name: Annotated[str, Form(max_length=120)] = "",
    fallback_phone: Annotated[str, Form(max_length=32)] = "",
    active: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    require_admin(staff)
    with _write(services) as session:
        department = session.get(Department, department_id)
        if department is None:
            raise HTTPException(404, "No such department")
        department.name = name.strip()
        department.phone = phone.strip() or None
        department.fallback_name = fallback_name.strip() or None
        department.fallback_phone = fallback_phone.strip() or None
        department.active = active
        session.add(department)
    return _done(services, "%(name)s saved.", name=name)


@router.post("/staff", response_model=None)
def add_staff(
    request: Request,
    staff: FormStaff,
    services: ServicesDep,
    session: SessionDep,
    username: Annotated[str, Form(min_length=2, max_length=64, pattern=r"^[a-z0-9._-]+$")],
    full_name: Annotated[str, Form(min_length=2, max_length=120)],
    role: Annotated[StaffRole, Form()],
    password: Annotated[str, Form(min_length=8)],
    department_id: Annotated[int | None, Form()] = None,
    phone: Annotated[str, Form(max_length=32)] = "",
    email: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse | RedirectResponse:
    require_admin(staff)
    if role == StaffRole.OFFICER and department_id is None:
        return _done(services, "An officer needs a department.", error=True)
    try:
        address = email_address(email)
    except ValueError as problem:
        return _done(services, "Not added: %(problem)s.", error=True, problem=problem)
    token = auth.new_token()
    with _write(services) as writing:
        if auth.staff_by_username(session=writing, username=username):
            return _done(
                services, "There is already an account %(name)s.", error=True, name=username
            )
        writing.add(
            Staff(
                username=username,
                full_name=full_name.strip(),
                role=role,
                department_id=department_id,
                phone=phone.strip() or None,
                email=address,
                password_hash=auth.hash_password(password),
                api_token_hash=auth.token_hash(token),
            )
        )
    # Answered on this response, never in a redirect URL (history, proxy logs).
    message = translate(
        services.settings.locale, "%(name)s added. API token (shown once): %(token)s"
    ) % {"name": username, "token": token}
    session.rollback()  # end the request's read snapshot so the list shows the newcomer
    return _page(request, staff, session, message)


@router.post("/staff/{staff_id}")
def update_staff(
    staff_id: int,
    staff: FormStaff,
    services: ServicesDep,
    role: Annotated[StaffRole, Form()],
    department_id: Annotated[int | None, Form()] = None,
    phone: Annotated[str, Form(max_length=32)] = "",
    email: Annotated[str, Form(max_length=255)] = "",
    active: Annotated[bool, Form()] = False,
    new_password: Annotated[str, Form()] = "",
) -> RedirectResponse:
    require_admin(staff)
    if new_password and len(new_password) < 8:
        return _done(services, "A password needs at least 8 characters.", error=True)
    if staff_id == staff.id and (not active or role != StaffRole.ADMIN):
        return _done(services, "You cannot demote or disable your own account.", error=True)
    try:
        address = email_address(email)  # empty: no e-mail, texts only
    except ValueError as problem:
        return _done(services, "Not saved: %(problem)s.", error=True, problem=problem)
    with _write(services) as session:
        member = session.get(Staff, staff_id)
        if member is None:
            raise HTTPException(404, "No such staff member")
        member.role = role
        member.department_id = department_id
        member.phone = phone.strip() or None
        member.email = address
        member.active = active
        if new_password:
            member.password_hash = auth.hash_password(new_password)
        session.add(member)
        name = member.username
    return _done(services, "%(name)s saved.", name=name)


@router.post("/shifts")
def add_shift(
    staff: FormStaff,
    services: ServicesDep,
    staff_id: Annotated[int, Form()],
    department_id: Annotated[int, Form()],
    days: Annotated[str, Form()],
    start: Annotated[str, Form()],
    end: Annotated[str, Form()],
) -> RedirectResponse:
    require_admin(staff)
    try:
        weekdays = weekdays_text(parse_days(days))
        start_at, end_at = parse_time(start), parse_time(end)
    except ValueError as problem:
        return _done(services, "Shift not added: %(problem)s", error=True, problem=problem)
    with _write(services) as session:
        session.add(
            DutyShift(
                staff_id=staff_id,
                department_id=department_id,
                weekdays=weekdays,
                start=start_at,
                end=end_at,
                timezone=services.settings.timezone,
                source="manual",
            )
        )
    return _done(services, "Shift added.")


@router.post("/shifts/{shift_id}/delete")
def delete_shift(shift_id: int, staff: FormStaff, services: ServicesDep) -> RedirectResponse:
    require_admin(staff)
    with _write(services) as session:
        shift = session.get(DutyShift, shift_id)
        if shift is None:
            raise HTTPException(404, "No such shift")
        session.delete(shift)
        seeded = shift.source == "roster"
    if seeded:
        return _done(
            services,
            "Shift removed. It comes back at the next start-up: remove it from data/roster.yaml.",
        )
    return _done(services, "Shift removed.")
