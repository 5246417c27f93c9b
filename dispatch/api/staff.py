"""/api/me: who the token belongs to."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from dispatch.auth import CurrentStaff, SessionDep, department_code

router = APIRouter(prefix="/api", tags=["staff"])


class StaffPublic(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    department_code: str | None


@router.get("/me", response_model=StaffPublic)
def me(staff: CurrentStaff, session: SessionDep) -> StaffPublic:
    return StaffPublic(
        id=staff.id,
        username=staff.username,
        full_name=staff.full_name,
        role=staff.role,
        department_code=department_code(session=session, staff=staff),
    )
