"""Call records: voice/ opens a call, records each turn and closes it.

Any of these may come first (a turn of a call whose opening was lost, Twilio's
status callback racing the pipeline's close), so each write creates the call's
row if it is missing and retries when another writer created it at the same time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from dispatch.contract import CallEnd, CallStart, TurnRecord, mask_phone
from dispatch.db import session_scope
from dispatch.models import Call, Turn

log = logging.getLogger("dutyline.dispatch")

ATTEMPTS = 3


def call_by_sid(session: Session, call_sid: str) -> Call | None:
    return session.exec(select(Call).where(Call.call_sid == call_sid)).first()


def call_or_placeholder(session: Session, *, call_sid: str, at: datetime) -> Call:
    """The call's row; created when voice/ reports a turn of a call it never opened."""
    call = call_by_sid(session, call_sid)
    if call is None:
        call = Call(call_sid=call_sid, started_at=at)
        session.add(call)
        session.flush()
    return call


def retry_on_conflict(engine: Engine, write: Callable[[Session], None]) -> None:
    # Two writers creating the same call row at once: the second retries and updates.
    for attempt in range(ATTEMPTS):
        try:
            with session_scope(engine, write=True) as session:
                write(session)
            return
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise


def open_call(*, engine: Engine, call: CallStart) -> None:
    def write(session: Session) -> None:
        row = call_by_sid(session, call.call_sid)
        if row is None:
            row = Call(call_sid=call.call_sid, started_at=call.started_at)
        row.caller_number = call.caller_number
        row.called_number = call.called_number
        row.started_at = call.started_at
        row.locale = call.locale
        session.add(row)

    retry_on_conflict(engine, write)
    log.info("call %s opened from %s", call.call_sid, mask_phone(call.caller_number))


def record_turn(*, engine: Engine, turn: TurnRecord, clock: Callable[[], datetime]) -> None:
    def write(session: Session) -> None:
        call = call_or_placeholder(session, call_sid=turn.call_sid, at=clock())
        row = session.exec(
            select(Turn).where(Turn.call_id == call.id, Turn.index == turn.index)
        ).first()
        values = turn.model_dump(exclude={"call_sid"})
        if row is None:
            row = Turn(call_id=call.id, created_at=clock(), **values)
        else:
            for key, value in values.items():
                setattr(row, key, value)
        session.add(row)

    retry_on_conflict(engine, write)


def close_call(*, engine: Engine, end: CallEnd, clock: Callable[[], datetime]) -> None:
    def write(session: Session) -> None:
        call = call_or_placeholder(session, call_sid=end.call_sid, at=clock())
        # The first close (the pipeline's, which knows what happened) wins; a later
        # status callback only adds Twilio's status, even after a restart.
        # A transfer nobody answered comes back to the bot for a message: that later close
        # knows better.
        if call.outcome in (None, "in_progress") or (
            call.outcome == "transferred" and end.outcome == "voicemail"
        ):
            call.outcome = end.outcome
        call.ended_at = call.ended_at or end.ended_at
        if end.recording_path is not None:
            call.recording_path = end.recording_path
        if end.telephony_status is not None:
            call.telephony_status = end.telephony_status
        session.add(call)

    retry_on_conflict(engine, write)
    log.info("call %s closed: %s", end.call_sid, end.outcome)
