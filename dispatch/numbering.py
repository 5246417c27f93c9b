"""Ticket numbers a caller can note down and read back: digits only.

YYMMDD (the city's calendar day) + a per-day sequence of at least four digits,
e.g. 2611230042. The sequence is bumped with one atomic INSERT .. ON CONFLICT
DO UPDATE .. RETURNING, so concurrent calls on PostgreSQL never share a number
(and SQLite serializes writers anyway).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import Session

_BUMP = text(
    "INSERT INTO ticket_counter (day, last) VALUES (:day, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = ticket_counter.last + 1 "
    "RETURNING last"
)


def next_number(session: Session, at: datetime, timezone: str) -> str:
    day = at.astimezone(ZoneInfo(timezone)).strftime("%y%m%d")
    sequence = session.execute(_BUMP, {"day": day}).scalar_one()
    return f"{day}{sequence:04d}"


def clean_number(spoken: str) -> str:
    """'26 1123-0042' or 'two six...' already turned to digits -> '2611230042'."""
    return re.sub(r"\D", "", spoken or "")
