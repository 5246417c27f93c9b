"""Calls whose replica died mid-call: nothing the caller said is lost.

A call's WebSocket lives on one replica. When that replica dies, Twilio's status callback
still reaches another one, which notes that the call ended (`note_ended`) but leaves the
record open for the replica holding the stream, which closes it within seconds when it is
alive. A record still open DUTYLINE_LOST_CALL_SECONDS later had no replica left to close
it: any replica's background worker files what the caller said so far (turns are stored
as they happen) as a triage ticket, once (the record is claimed by a conditional update,
so one replica wins), and closes the call as failed. A replica dying between the claim
and the filing's commit (milliseconds) would lose that one report.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select

from dispatch.contract import ComplaintReport, FilingDeferred
from dispatch.db import session_scope
from dispatch.models import Call, Ticket, Turn

log = logging.getLogger("dutyline.dispatch.lost_calls")

LOST_AFTER = timedelta(seconds=60)
OPEN = ("in_progress",)
REASON = "the line's server stopped during the call; what the caller said is kept"


def _open(session: Session, call_sid: str) -> Call | None:
    return session.exec(
        select(Call).where(Call.call_sid == call_sid, col(Call.outcome).in_(OPEN))
    ).first()


def note_ended(*, engine: Engine, call_sid: str, status: str, at: datetime) -> bool:
    """Twilio says the call ended; True when its record is still open and a stream was
    live (it has turns): that replica's stream closes it, or, if that replica died,
    `file_lost_calls` will. False: nobody holds it (the caller hung up before the stream)."""
    with session_scope(engine, write=True) as session:
        call = _open(session, call_sid)
        if (
            call is None
            or session.exec(select(Turn.id).where(Turn.call_id == call.id)).first() is None
        ):
            return False
        call.telephony_status = status
        call.ended_at = call.ended_at or at
        session.add(call)
        return True


def file_lost_calls(
    *,
    engine: Engine,
    file: Callable[[ComplaintReport], object],
    now: datetime,
    lost_after: timedelta = LOST_AFTER,
) -> int:
    """File each lost call's words for triage; how many calls were taken care of."""
    with session_scope(engine) as session:
        lost = session.exec(
            select(Call.id).where(
                col(Call.outcome).in_(OPEN),
                col(Call.ended_at).is_not(None),
                col(Call.ended_at) < now - lost_after,
            )
        ).all()
    handled = 0
    for call_id in lost:
        report = _claim(engine, call_id)
        if report is None:
            continue  # another replica took it, or it had its ticket already
        # The filing's own fallbacks apply: a bare triage ticket, else the spool (deferred).
        with contextlib.suppress(FilingDeferred):
            file(report)
        handled += 1
        log.warning("call %s: its replica stopped mid-call; filed for triage", report.call_sid)
    return handled


def _claim(engine: Engine, call_id: int) -> ComplaintReport | None:
    with session_scope(engine, write=True) as session:
        claimed = session.exec(
            update(Call)
            .where(col(Call.id) == call_id, or_(*(col(Call.outcome) == o for o in OPEN)))
            .values(outcome="failed")
        )
        if claimed.rowcount != 1:
            return None
        call = session.get(Call, call_id)
        assert call is not None
        if session.exec(select(Ticket.id).where(Ticket.call_id == call_id)).first() is not None:
            call.outcome = "ticket_filed"  # filed before the replica went
            session.add(call)
            return None
        turns = session.exec(select(Turn).where(Turn.call_id == call_id).order_by(Turn.index))
        transcript = "\n".join(f"{t.speaker}: {t.text}" for t in turns if t.text.strip())
        if "caller: " not in transcript and not call.caller_number:
            return None  # nothing said, nobody to call back: the record says what happened
        return ComplaintReport(
            needs_triage=True,
            triage_reason=REASON,
            transcript=transcript or None,
            caller_number=call.caller_number,
            call_sid=call.call_sid,
            channel="phone",
        )
