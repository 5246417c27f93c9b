"""Open311 API keys for partner apps: issued by `dutyline apikey add`, stored as a hash."""

from __future__ import annotations

from sqlmodel import Session, select

from dispatch.auth import new_token, token_hash
from dispatch.models import ApiKey


def create_key(*, session: Session, name: str) -> tuple[ApiKey, str]:
    """A new key for the partner `name`; the key itself is returned once and never stored."""
    key = new_token()
    row = ApiKey(name=name, key_hash=token_hash(key))
    session.add(row)
    session.commit()
    session.refresh(row)
    return row, key


def find_key(*, session: Session, key: str) -> ApiKey | None:
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == token_hash(key))).first()
    return row if row is not None and row.active else None


def list_keys(*, session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(*, session: Session, key_id: int) -> ApiKey | None:
    row = session.get(ApiKey, key_id)
    if row is not None:
        row.active = False
        session.add(row)
        session.commit()
    return row
