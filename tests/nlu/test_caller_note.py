"""Dispatch.add_caller_note: what a caller adds after filing, as a note on the call's
ticket, on SQLite and PostgreSQL (the dialogue side: test_place_actions.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from dispatch.contract import CallStart, ComplaintReport
from dispatch.db import make_engine, session_scope
from dispatch.models import TicketEvent, TicketNote
from dispatch.service import DispatchService
from tests.conftest import make_settings, migrate_and_seed, postgres_database
from voice.call_control import LocalCallControl


@pytest.fixture(params=["sqlite", "postgresql"])
def dispatch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DispatchService]:
    sqlite = contextlib.nullcontext(f"sqlite:///{tmp_path / 'notes.db'}")
    with postgres_database() if request.param == "postgresql" else sqlite as database_url:
        settings = make_settings(tmp_path, database_url=database_url)
        migrate_and_seed(settings)
        engine = make_engine(database_url)
        yield DispatchService(engine, settings, sms=LocalCallControl(None))
        engine.dispose()


def test_a_callers_addition_is_a_note_on_the_calls_latest_ticket(
    dispatch: DispatchService,
) -> None:
    dispatch.open_call(
        CallStart(call_sid="CAnote1", caller_number="+15550001234", started_at=datetime.now(UTC))
    )
    dispatch.file_complaint(
        ComplaintReport(kind="pothole", location="Lark Street", call_sid="CAnote1")
    )
    filed = dispatch.file_complaint(
        ComplaintReport(kind="illegal_parking", location="42 Lark Street", call_sid="CAnote1")
    )
    assert dispatch.add_caller_note("CAnote1", "  the car is a red truck ") == filed.number
    with session_scope(dispatch.engine) as session:
        [note] = session.exec(select(TicketNote)).all()
        assert (note.body, note.author, note.staff_id) == ("the car is a red truck", "caller", None)
        [event] = session.exec(select(TicketEvent).where(TicketEvent.action == "note_added")).all()
        assert event.actor == "caller" and event.ticket_id == note.ticket_id
    detail = dispatch.get_ticket(filed.number)
    assert detail is not None and "red truck" in detail.model_dump_json()


def test_a_call_without_a_ticket_gets_no_note_and_empty_words_are_refused(
    dispatch: DispatchService,
) -> None:
    assert dispatch.add_caller_note("CAnobody", "the car is a red truck") is None
    with pytest.raises(ValueError, match="needs some text"):
        dispatch.add_caller_note("CAnobody", "   ")
