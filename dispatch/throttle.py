"""Sign-in throttle shared by every app process: failed sign-ins are rows in the database.

Two limits within a sliding window: failures per username (one account guessed at)
and per client address (one machine trying many usernames). Over either, sign-in
is refused, even with the right password, until enough failures leave the window;
a success clears the username's failures. Only keyed HMACs of the username and
address are stored, so the table holds no personal data (a mistyped password in
the username box included), and rows older than the window are deleted as new
ones arrive.

Two processes checking at the same instant may each allow one more guess than the
limit; the overshoot is bounded by the number of processes, which is fine for a
limit meant to make guessing slow.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Field, Session, SQLModel, col, delete, func, or_, select

from dispatch.db import session_scope
from dispatch.models import UtcDateTime

USER = "user"
ADDRESS = "address"


class SignInFailure(SQLModel, table=True):
    """One failed sign-in, counted once per username and once per address."""

    __tablename__ = "signin_failure"
    __table_args__ = (sa.Index("ix_signin_failure_scope_key", "scope", "key", "failed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=16)  # USER or ADDRESS
    key: str = Field(max_length=64)  # HMAC-SHA256 (hex) of the username or the address
    failed_at: datetime = Field(sa_type=UtcDateTime, index=True)


@dataclass(frozen=True)
class ThrottleLimits:
    per_user: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


class SignInThrottle:
    """Counts failures in the shared database; `secret` keys the stored hashes."""

    def __init__(self, engine: Engine, secret: str, limits: ThrottleLimits) -> None:
        self.engine = engine
        self.limits = limits
        self._secret = secret.encode("utf-8")

    def _key(self, scope: str, value: str) -> str:
        message = f"{scope}\0{value.strip().lower()}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def retry_after(self, *, username: str, address: str, now: datetime) -> int | None:
        """Seconds until a sign-in may be tried again; None while under both limits."""
        keys = {USER: self._key(USER, username), ADDRESS: self._key(ADDRESS, address)}
        limit = {USER: self.limits.per_user, ADDRESS: self.limits.per_address}
        since = now - self.limits.window
        query = (
            select(SignInFailure.scope, func.count(), func.min(SignInFailure.failed_at))
            .where(SignInFailure.failed_at > since)
            .where(
                or_(
                    *(
                        (col(SignInFailure.scope) == scope) & (col(SignInFailure.key) == key)
                        for scope, key in keys.items()
                    )
                )
            )
            .group_by(SignInFailure.scope)
        )
        with Session(self.engine) as session:
            rows = session.exec(query).all()
        waits = [
            (oldest + self.limits.window - now).total_seconds()
            for scope, count, oldest in rows
            if count >= limit[scope]
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, *, username: str, address: str, now: datetime) -> None:
        with session_scope(self.engine, write=True) as session:
            session.add(SignInFailure(scope=USER, key=self._key(USER, username), failed_at=now))
            session.add(
                SignInFailure(scope=ADDRESS, key=self._key(ADDRESS, address), failed_at=now)
            )
            # Nothing older than the window is ever counted again.
            cutoff = now - self.limits.window
            session.exec(delete(SignInFailure).where(col(SignInFailure.failed_at) <= cutoff))

    def succeeded(self, *, username: str) -> None:
        """The account's failures are forgotten; the address's are not, so an attacker
        with one valid account cannot reset the count while trying others."""
        with session_scope(self.engine, write=True) as session:
            session.exec(
                delete(SignInFailure)
                .where(col(SignInFailure.scope) == USER)
                .where(col(SignInFailure.key) == self._key(USER, username))
            )
