"""Issue 10, item 5: the retention purge leaves no copy of a caller's data behind.

Every kind of copy is made (a call with its turns and recording, a voicemail ticket, a
duplicate whose words were copied into the original's note, an Open311 report with
contact details, SMS rows, opt-ins, a stray recording, spooled reports, and Rasa's
conversations in a real Redis, written by Rasa 3.6's own RedisTrackerStore code), aged
past the retention period, purged; then every row of every table, every file and every
Redis key is searched for what the caller said and their number. A newer call made
the same way must survive whole: a purge that deletes everything would pass otherwise.
Runs on SQLite and PostgreSQL; Redis keys live under a prefix of this test's own.
"""

# The database fixtures are tests/dispatch/conftest.py's, imported: their names are the
# test functions' parameters, which ruff takes for redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from dispatch.contract import CallEnd, CallStart, ComplaintReport, InboundSms, TurnRecord
from dispatch.service import DispatchService
from dispatch.tracker_store import key_prefix
from dutyline import rasa_env
from tests.conftest import REDIS_URL
from tests.dispatch.conftest import (  # noqa: F401  (fixtures)
    clock,
    database_url,
    engine,
    migrated_url,
    settings_for,
    sms,
)

OLD = {  # what one caller left behind, long ago
    "caller": "+15185550987",
    "words": "my name is Jo Smith",
    "voicemail": "ring me back on my mobile please",
    "email": "jo.smith@example.org",
    "open311_phone": "+15185550666",
    "first_name": "Josephine",
    "dup_caller": "+15185550999",
    "opt_in": "+15185550777",
}
NEW = {"caller": "+15185550321", "words": "my name is Sam Jones"}
OPTED_OUT = "+15185550888"  # kept for good: forgetting a STOP would text them again

# Rasa 3.6's own code writes the conversations (run in its environment, .venv-rasa).
RASA_WRITER = """
import asyncio, sys
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from redis.connection import parse_url

url, prefix, *conversations = sys.argv[1:]
where = parse_url(url)
store = RedisTrackerStore(
    Domain.empty(), host=where["host"], port=where.get("port", 6379), db=where.get("db", 0),
    key_prefix=prefix,
)
for conversation in conversations:
    sid, caller, words, at = conversation.split("|")
    tracker = DialogueStateTracker(sid, [])
    meta = {"call_sid": sid, "caller_number": caller}
    tracker.update(UserUttered(words, metadata=meta, timestamp=float(at)))
    tracker.update(SlotSet("location", "12 Oak Street", timestamp=float(at)))
    tracker.update(BotUttered("Thank you.", timestamp=float(at)))
    asyncio.run(store.save(tracker))
"""


def rasa_saves(prefix: str, conversations: list[tuple[str, str, str, datetime]]) -> None:
    args = [f"{sid}|{caller}|{words}|{at.timestamp()}" for sid, caller, words, at in conversations]
    python = rasa_env.RASA_VENV / "bin" / "python"
    subprocess.run(
        [str(python), "-c", RASA_WRITER, REDIS_URL, prefix, *args],
        check=True,
        env=rasa_env.rasa_environment(),
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own (alphanumeric, as Rasa wants): nothing else is touched."""
    prefix = "dutylinetest" + uuid.uuid4().hex[:12]
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(autouse=True)
def no_consents(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM sms_consent"))


def a_call(service: DispatchService, sid: str, caller: str, words: str, recording: Path) -> None:
    started = service.clock()
    service.open_call(CallStart(call_sid=sid, caller_number=caller, started_at=started))
    service.record_turn(TurnRecord(call_sid=sid, index=0, speaker="caller", text=words))
    service.record_turn(TurnRecord(call_sid=sid, index=1, speaker="bot", text="Where?"))
    recording.parent.mkdir(parents=True, exist_ok=True)
    recording.write_bytes(b"RIFF" + words.encode())
    service.close_call(
        CallEnd(
            call_sid=sid,
            ended_at=started + timedelta(minutes=2),
            outcome="voicemail",
            recording_path=str(recording),
        )
    )


def aged(path: Path, at: datetime) -> None:
    os.utime(path, (at.timestamp(), at.timestamp()))


def everything_in_the_database(engine: Engine) -> str:
    """Every row of every table, as text."""
    rows = []
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                rows.append(f"{table.name}: {tuple(row)}")
    return "\n".join(rows)


def everything_in_files(*folders: Path) -> str:
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file():
                found.append(f"{path}: {path.read_bytes().decode(errors='replace')}")
    return "\n".join(found)


def everything_in_redis(prefix: str) -> str:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        return "\n".join(
            f"{key}: {client.get(key)}" for key in sorted(client.scan_iter(match=f"{prefix}:*"))
        )
    finally:
        client.close()


def test_the_purge_leaves_nothing(
    engine, settings_for, clock, sms, tmp_path: Path, redis_prefix: str
) -> None:
    spool, recordings = tmp_path / "spool", tmp_path / "recordings"
    settings = settings_for(
        spool_dir=spool,
        recordings_dir=recordings,
        rasa_tracker_redis_url=REDIS_URL,
        rasa_tracker_key_prefix=redis_prefix,
    )
    service = DispatchService(engine, settings, sms=sms, clock=clock)
    now = clock()
    long_ago = now - timedelta(days=settings.retention_days + 1)
    lately = now - timedelta(days=1)

    # --- long ago ---------------------------------------------------------------------
    clock.now = long_ago
    a_call(service, "CAorig", OLD["dup_caller"], "a party on church street", recordings / "o.wav")
    original = service.file_complaint(
        ComplaintReport(kind="noise", location="18 Church Street", call_sid="CAorig")
    )
    clock.advance(minutes=5)
    a_call(service, "CAold", OLD["caller"], OLD["words"], recordings / "old" / "CAold.wav")
    voicemail = service.file_complaint(
        ComplaintReport(
            kind="noise",
            location="18 Church Street",
            description=f"Voicemail: {OLD['voicemail']}",
            transcript=f"Caller: {OLD['words']}",
            call_sid="CAold",
        )
    )
    assert voicemail.duplicate_of == original.number  # its words copied into a note
    open311 = service.file_complaint(
        ComplaintReport(
            kind="pothole",
            location="5th and Main",
            channel="open311",
            description=f"{OLD['first_name']} here, {OLD['voicemail']}",
            caller_number=OLD["open311_phone"],
            details={
                "Reporter first name": OLD["first_name"],
                "Reporter email": OLD["email"],
                "depth": "deep",
            },
        )
    )
    service.deliver_outbox()  # SMS rows: the callers' numbers and texts
    service.handle_inbound_sms(InboundSms(from_number=OLD["opt_in"], body="START"))
    service.handle_inbound_sms(InboundSms(from_number=OPTED_OUT, body="STOP"))
    assert sms.to(OLD["caller"]) and sms.to(OLD["dup_caller"])
    spool.mkdir(parents=True)
    (spool / "a.json").write_text(json.dumps({"report": {"caller": OLD["caller"]}}))
    (spool / "b.partial").write_text(OLD["words"])  # a write cut short
    (recordings / "stray.wav").write_bytes(OLD["words"].encode())  # no call refers to it
    for path in recordings.rglob("*.wav"):
        aged(path, long_ago)
    for path in spool.iterdir():
        aged(path, long_ago)

    # --- lately ----------------------------------------------------------------------
    clock.now = lately
    a_call(service, "CAnew", NEW["caller"], NEW["words"], recordings / "new" / "CAnew.wav")
    kept = service.file_complaint(
        ComplaintReport(kind="pothole", location="9 Elm Street", call_sid="CAnew")
    )
    service.deliver_outbox()

    rasa_saves(
        redis_prefix,
        [
            ("CAold", OLD["caller"], OLD["words"], long_ago),
            # A conversation no call knows (a test, a forged sender): its age decides.
            ("forged-sender", OLD["caller"], OLD["words"], long_ago),
            ("CAnew", NEW["caller"], NEW["words"], lately),
            ("recent-sender", NEW["caller"], NEW["words"], lately),
        ],
    )
    before = everything_in_redis(redis_prefix)
    assert f"{key_prefix(redis_prefix)}CAold" in before and OLD["words"] in before

    # The copies exist before the purge: the search below can find them.
    database = everything_in_the_database(engine)
    for value in (*OLD.values(), *NEW.values()):
        assert value in database, value
    assert OLD["words"] in everything_in_files(recordings, spool)

    clock.now = now
    report = service.purge_expired()

    assert report.tracker_store == "redis" and report.tracker_conversations_deleted == 2
    assert (report.calls, report.recordings_deleted, report.stray_files_deleted) == (2, 2, 1)
    assert report.tickets == 3 and report.notes == 1 and report.notifications >= 4
    assert (report.consents, report.spool_files_deleted) == (1, 2)

    database = everything_in_the_database(engine)
    for name, value in OLD.items():
        assert value not in database, f"{name} left in the database"
    assert OPTED_OUT in database  # the opt-out is remembered
    files = everything_in_files(recordings, spool)
    for name, value in OLD.items():
        assert value not in files, f"{name} left in a file"
    left = everything_in_redis(redis_prefix)
    for name, value in OLD.items():
        assert value not in left, f"{name} left in Rasa's tracker store"
    # The newer call is untouched, everywhere.
    for value in NEW.values():
        assert value in database and value in left
    assert NEW["words"] in files
    assert {f"{key_prefix(redis_prefix)}{s}" for s in ("CAnew", "recent-sender")} == {
        line.split(": ", 1)[0] for line in left.splitlines()
    }
    assert service.get_ticket(kept.number).caller_number == NEW["caller"]
    # The tickets themselves stay (what, where, status, the audit trail).
    ticket = service.get_ticket(voicemail.number)
    assert ticket.kind == "noise" and ticket.location_text == "18 Church Street"
    assert ticket.events[-1].action == "transcript_purged"
    assert service.get_ticket(open311.number).details == {"depth": "deep"}

    again = service.purge_expired()  # nothing left to do
    assert (again.calls, again.tickets, again.notifications, again.notes) == (0, 0, 0, 0)
    assert again.tracker_conversations_deleted == 0


def test_no_redis_configured_is_said_and_an_unreachable_one_fails_nothing(
    engine, settings_for, clock, sms, tmp_path: Path
) -> None:
    plain = DispatchService(engine, settings_for(spool_dir=tmp_path), sms=sms, clock=clock)
    assert plain.purge_expired().tracker_store.startswith("not configured")

    closed_port = "redis://127.0.0.1:1/0"
    service = DispatchService(
        engine,
        settings_for(spool_dir=tmp_path, rasa_tracker_redis_url=closed_port),
        sms=sms,
        clock=clock,
    )
    started = clock() - timedelta(days=400)
    service.open_call(
        CallStart(call_sid="CAgone", caller_number="+15185550987", started_at=started)
    )
    report = service.purge_expired()
    assert report.tracker_store.startswith("unreachable") and report.calls == 1
    assert service.get_call("CAgone").caller_number is None  # the database part was done
