"""A replica that died mid-call loses nothing (dispatch/lost_calls.py): Twilio's status
callback, reaching another replica, leaves the record to the stream's replica; when no
replica closes it, what the caller said is filed for triage, once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, select

from dispatch.contract import CallEnd, CallStart, ComplaintReport, TurnRecord
from dispatch.lost_calls import LOST_AFTER, REASON
from dispatch.models import Call, Ticket
from dispatch.service import DispatchService
from tests.dispatch.conftest import ManualClock

GRACE = LOST_AFTER.total_seconds()


def _call_with_words(service: DispatchService, clock: ManualClock) -> str:
    """A call streaming on some replica: opened, greeted, the caller's first words stored."""
    sid = f"CA{uuid.uuid4().hex}"
    service.open_call(CallStart(call_sid=sid, caller_number="+15555550142", started_at=clock()))
    bot = "Hello, this is the city's duty line. What would you like to report?"
    service.record_turn(TurnRecord(call_sid=sid, index=0, speaker="bot", text=bot))
    words = "there's a dead deer on Route 9 by the bridge"
    service.record_turn(TurnRecord(call_sid=sid, index=1, speaker="caller", text=words))
    return sid


def _call(service: DispatchService, sid: str) -> Call:
    with Session(service.engine) as session:
        call = session.exec(select(Call).where(Call.call_sid == sid)).one()
        session.expunge(call)
        return call


def _tickets(service: DispatchService, sid: str) -> list[Ticket]:
    with Session(service.engine) as session:
        call = session.exec(select(Call).where(Call.call_sid == sid)).one()
        return list(session.exec(select(Ticket).where(Ticket.call_id == call.id)))


def test_a_call_whose_replica_died_is_filed_for_triage_once(
    service: DispatchService, clock: ManualClock
) -> None:
    sid = _call_with_words(service, clock)
    assert service.note_call_ended(sid, "completed")  # a stream held it: left open
    assert _call(service, sid).outcome == "in_progress"
    assert service.file_lost_calls() == 0  # its replica may still be closing it
    clock.advance(seconds=GRACE + 1)
    # Every replica's worker sweeps at once: one files it.
    with ThreadPoolExecutor(3) as replicas:
        handled = list(replicas.map(lambda _: service.file_lost_calls(), range(3)))
    assert sum(handled) == 1, handled
    [ticket] = _tickets(service, sid)
    assert ticket.needs_triage and ticket.triage_reason == REASON
    assert "caller: there's a dead deer on Route 9" in (ticket.transcript or "")
    call = _call(service, sid)
    assert call.outcome == "failed" and call.telephony_status == "completed"
    assert service.file_lost_calls() == 0


def test_a_live_replica_closes_its_own_call(service: DispatchService, clock: ManualClock) -> None:
    sid = _call_with_words(service, clock)
    assert service.note_call_ended(sid, "completed")
    service.close_call(CallEnd(call_sid=sid, ended_at=clock(), outcome="abandoned"))
    clock.advance(seconds=GRACE + 1)
    assert service.file_lost_calls() == 0
    call = _call(service, sid)
    assert call.outcome == "abandoned" and call.telephony_status == "completed"


def test_a_ticket_filed_before_the_replica_died_is_not_filed_again(
    service: DispatchService, clock: ManualClock
) -> None:
    sid = _call_with_words(service, clock)
    service.file_complaint(
        ComplaintReport(kind="dead_animal", location="Route 9", call_sid=sid, details={})
    )
    assert service.note_call_ended(sid, "completed")
    clock.advance(seconds=GRACE + 1)
    assert service.file_lost_calls() == 0
    assert len(_tickets(service, sid)) == 1
    assert _call(service, sid).outcome == "ticket_filed"


def test_a_call_no_stream_took_is_not_held_open(
    service: DispatchService, clock: ManualClock
) -> None:
    """Hung up before the stream started: no turns, nobody to wait for."""
    sid = f"CA{uuid.uuid4().hex}"
    service.open_call(CallStart(call_sid=sid, started_at=clock()))
    assert not service.note_call_ended(sid, "completed")
    assert not service.note_call_ended(f"CA{uuid.uuid4().hex}", "completed")  # unknown
