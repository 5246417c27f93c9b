"""Many replicas, one city (issue 13), proved with real processes: two app replicas behind
nginx, one PostgreSQL, Redis, two Rasa servers (tests/reliability/replica_stack.py).
Calls spread over both replicas; Twilio's status callbacks land on both; a recording one
replica wrote is served by the other; a Rasa server and a replica are killed mid-call.
Nothing is lost, no call has two tickets, each officer SMS goes out once. The figures
(calls, tickets, duplicates, lost, SMS, per-replica calls, start-up, memory) go to the
run's summary."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from callbench.calls import ScriptedCall, caller_audio, load_calls
from callbench.simulator import TwilioLine
from dispatch.db import make_engine
from dispatch.models import Call, Notification, Ticket, Turn
from dispatch.service import DispatchService
from dutyline.settings import ROOT
from tests.dispatch.web_support import add_staff, bearer
from tests.reliability.replica_stack import ReplicaStack, Server, replica_stack
from voice.call_control import LocalCallControl

pytestmark = [pytest.mark.slow, pytest.mark.replicas, pytest.mark.postgres]

VOICE = "flite:rms"  # the caller voice tiny.en hears best (docs/benchmarks.md)
SPREAD_CALLS = 6  # (a): all at once, a few seconds apart; nginx spreads them by load
KILL_RASA_AT_TURN = 1  # (d): as the caller starts giving the place


@dataclass
class Line:
    stack: ReplicaStack
    engine: Engine
    scripts: list[ScriptedCall]
    audio: dict[str, list[bytes]]
    sids: dict[str, list[str]] = field(default_factory=dict)  # scenario -> its calls

    def dispatch(self) -> DispatchService:
        """The dispatch service as a third replica's background worker would run it."""
        return DispatchService(self.engine, self.stack.settings, sms=LocalCallControl(None))


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Line]:
    tmp = tmp_path_factory.mktemp("replicas")
    scripts = load_calls(ROOT / "data" / "sample_calls" / "calls.yaml")
    with replica_stack(tmp) as stack:
        engine = make_engine(stack.settings.database_url)
        # Made after start-up: the synthesizer would only compete with it for the cores.
        audio = {s.name: caller_audio(s, VOICE) for s in scripts[: SPREAD_CALLS + 2]}
        try:
            yield Line(stack, engine, scripts, audio)
        finally:
            engine.dispose()


# --- what the database says -------------------------------------------------------------


def tickets_by_call(engine: Engine, sids: list[str]) -> dict[str, list[Ticket]]:
    with Session(engine) as session:
        rows = session.exec(
            select(Call.call_sid, Ticket)
            .join(Ticket, col(Ticket.call_id) == col(Call.id))
            .where(col(Call.call_sid).in_(sids))
        ).all()
    found: dict[str, list[Ticket]] = {sid: [] for sid in sids}
    for sid, ticket in rows:
        found[sid].append(ticket)
    return found


def call_record(engine: Engine, sid: str) -> Call | None:
    with Session(engine) as session:
        return session.exec(select(Call).where(Call.call_sid == sid)).first()


def caller_words(engine: Engine, sid: str) -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Turn.text)
                .join(Call, col(Turn.call_id) == col(Call.id))
                .where(Call.call_sid == sid, Turn.speaker == "caller")
                .order_by(col(Turn.index))
            ).all()
        )


async def wait_for(read: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(read)
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(every)


def sms_settled(engine: Engine) -> bool:
    with Session(engine) as session:
        waiting = session.exec(
            select(func.count()).where(
                col(Notification.channel) == "sms",
                col(Notification.status).in_(("pending", "sending")),
            )
        ).one()
    return waiting == 0


def telephony_log(line: Line) -> list[dict[str, Any]]:
    """What every replica asked "Twilio" to do: LocalCallControl's shared file (beside the
    recordings folder, so both replicas append to the same one)."""
    path = line.stack.settings.recordings_dir.parent / "telephony_outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(text) for text in path.read_text().splitlines() if text.strip()]


def calls_ended(stack: ReplicaStack, replica: Server) -> int:
    return round(stack.metrics(replica).get("dutyline_calls_ended_total", 0.0))


def sid_on_rasa(index: int, servers: int) -> str:
    """A fresh call sid whose sticky Rasa server (nlu/rasa_servers.py) is `index`."""
    while True:
        sid = "CA" + uuid.uuid4().hex
        if zlib.crc32(sid.encode()) % servers == index:
            return sid


def log_count(stack: ReplicaStack, text: str) -> int:
    return sum(r.log.read_text(errors="replace").count(text) for r in stack.replicas)


def log_says(stack: ReplicaStack, *words: str) -> bool:
    return any(all(w in r.log.read_text(errors="replace") for w in words) for r in stack.replicas)


# --- a caller -------------------------------------------------------------------------


@dataclass
class Played:
    sid: str
    replica: Server | None  # the one that held the stream
    outcome: str | None  # as that replica's session has it
    status_codes: list[int]  # the status callback's answer from each replica


async def play(
    line: Line,
    script: ScriptedCall,
    *,
    caller_number: str,
    sid: str | None = None,
    as_turn_starts: Callable[[int], Awaitable[None]] | None = None,
) -> Played:
    """One scripted caller through nginx. When the call is over, Twilio's status callback
    lands on every replica at once, while the stream's replica is still closing the call:
    one of them never held the stream."""
    stack = line.stack
    call = stack.line(caller_number=caller_number)
    call.call_sid = sid or call.call_sid
    dialed = await call.dial()
    assert dialed.status_code == 200, dialed.twiml
    await call.open_stream(dialed)
    await call.wait_for_bot(timeout=90)
    for index, ulaw in enumerate(line.audio[script.name]):
        if call.closed.is_set():
            break
        call.speak(ulaw)
        if as_turn_starts is not None:
            await as_turn_starts(index)
        await call.wait_sent()
        await call.wait_for_bot(timeout=90)
    with contextlib.suppress(TimeoutError):  # the bot may say goodbye and hang up
        await asyncio.wait_for(call.closed.wait(), 3)

    async def status_to(replica: Server) -> int:
        twilio = TwilioLine(
            replica.url,
            public_url=stack.public_url,
            token=stack.settings.signing_token,
            caller_number=caller_number,
        )
        twilio.call_sid = call.call_sid
        return (await twilio.status_callback("completed")).status_code

    alive = [r for r in stack.replicas if r.alive]
    _, *codes = await asyncio.gather(call.hang_up(), *(status_to(r) for r in alive))
    summary: dict[str, Any] = {}
    replica = None
    for _ in range(60):  # the stream's replica finishes the call (its record, recording)
        replica, summary = await asyncio.to_thread(stack.summary, call.call_sid)
        if summary.get("state") == "ended":
            break
        await asyncio.sleep(0.5)
    return Played(call.call_sid, replica, summary.get("outcome"), codes)


# --- (a) and (b): calls spread over both replicas ----------------------------------------


async def test_calls_spread_over_both_replicas_each_filed_and_texted_once(
    line: Line, record_figures: Callable[[str, object], None]
) -> None:
    stack = line.stack
    before = {r.name: calls_ended(stack, r) for r in stack.replicas}

    async def one_call(index: int, script: ScriptedCall) -> Played:
        await asyncio.sleep(index * 1.5)  # callers ring a little apart, as they do
        return await play(line, script, caller_number=f"+1555{3_100_000 + index:07d}")

    calls = await asyncio.gather(
        *(one_call(i, s) for i, s in enumerate(line.scripts[:SPREAD_CALLS]))
    )
    sids = [c.sid for c in calls]
    line.sids["spread"] = sids
    per_replica = {r.name: calls_ended(stack, r) - before[r.name] for r in stack.replicas}

    settled = await wait_for(lambda: sms_settled(line.engine), timeout=60)
    tickets = tickets_by_call(line.engine, sids)
    records = {sid: call_record(line.engine, sid) for sid in sids}
    ticket_ids = [t.id for found in tickets.values() for t in found]
    with Session(line.engine) as session:
        sms = session.exec(select(Notification).where(Notification.channel == "sms")).all()
    officer_sms = {tid: 0 for tid in ticket_ids}
    for row in sms:
        if row.purpose == "officer" and row.ticket_id in officer_sms:
            officer_sms[row.ticket_id] += 1
    sent = [row for row in sms if row.status == "sent"]
    texts_sent = [entry for entry in telephony_log(line) if entry["action"] == "sms"]

    # (b) A recording written by the replica that held the call, played by the other.
    sample = next(c for c in calls if c.replica is not None)
    reader = next(r for r in stack.replicas if r is not sample.replica)
    record = records[sample.sid]
    _, token = add_staff(line.engine, "sup.replicas", role="supervisor")
    played = httpx.get(
        f"{reader.url}/calls/{sample.sid}/recording.wav", headers=bearer(token), timeout=30
    )

    figures = {
        "calls": len(calls),
        "tickets": sum(len(found) for found in tickets.values()),
        "triage_tickets": sum(t.needs_triage for found in tickets.values() for t in found),
        "duplicates": sum(len(found) > 1 for found in tickets.values()),
        "lost": sum(not found for found in tickets.values()),
        "outcomes": sorted(str(r.outcome) for r in records.values() if r),
        "calls_per_replica": per_replica,
        # Callbacks that came while the stream's replica still held the call open (each
        # closing of a record is a log line: the stream's own, then one per later callback).
        "status_callbacks_while_open": sum(
            1 + len(stack.replicas) - log_count(stack, f"call {sid} closed:") for sid in sids
        ),
        "officer_sms_per_ticket": sorted(set(officer_sms.values())),
        "sms_rows_sent": len(sent),
        "sms_sent_by_replicas": len(texts_sent),
        "startup_seconds": stack.startup_seconds,
        "ready_after_seconds": stack.ready_after,
        "rss_mb": stack.memory_mb(),
    }
    record_figures("REPLICAS_SPREAD", figures)

    assert all(c.status_codes == [204, 204] for c in calls), [c.status_codes for c in calls]
    assert figures["lost"] == 0 and figures["duplicates"] == 0, tickets
    # Both replicas carried calls (the metric counts the streams each ended).
    assert all(count > 0 for count in per_replica.values()), per_replica
    assert sum(per_replica.values()) == len(calls), per_replica
    # The stream's replica decided the outcome; the other replica's callback changed nothing.
    for c in calls:
        stored = records[c.sid]
        assert c.replica is not None and c.outcome, c
        assert stored is not None and stored.outcome == c.outcome, (c, stored)
    # Each ticket's officer was texted once, whichever replica's outbox worker got there.
    assert settled, "the outbox did not empty in 60 s"
    assert set(officer_sms.values()) == {1}, officer_sms
    assert len(texts_sent) == len(sent), (len(texts_sent), len(sent))
    assert len({row.provider_id for row in sent}) == len(sent)
    # (b)
    assert record is not None and record.recording_path, record
    path = Path(record.recording_path)
    path = path if path.is_absolute() else stack.settings.recordings_dir / path
    assert played.status_code == 200, played.text[:300]
    assert played.headers["content-type"] == "audio/wav"
    assert played.content == path.read_bytes()


# --- (c) and (d): a Rasa server and a replica die mid-call -------------------------------


async def _replica_dies(line: Line, call: Any, script: ScriptedCall) -> Server:
    """The caller says the complaint; once it is stored, the call's replica is SIGKILLed."""
    stack = line.stack
    call.speak(line.audio[script.name][0])
    await call.wait_sent()
    said = await wait_for(lambda: caller_words(line.engine, call.call_sid), timeout=60, every=0.5)
    assert said, "the caller's complaint was never stored"
    replica = stack.replica_of(call.call_sid)
    assert replica is not None
    await asyncio.to_thread(replica.kill)
    return replica


async def test_a_rasa_server_and_a_replica_die_mid_call_and_nothing_is_lost(
    line: Line, record_figures: Callable[[str, object], None]
) -> None:
    stack = line.stack
    rasa_script, replica_script = line.scripts[SPREAD_CALLS], line.scripts[SPREAD_CALLS + 1]
    killed = stack.rasa[-1]

    async def kill_rasa(turn: int) -> None:
        if turn == KILL_RASA_AT_TURN:  # the caller is mid-sentence: no dialogue turn in flight
            await asyncio.to_thread(killed.kill)

    # (d) a call whose sticky Rasa server is the one that dies
    d_sid = sid_on_rasa(len(stack.rasa) - 1, len(stack.rasa))
    rasa_call = asyncio.ensure_future(
        play(line, rasa_script, caller_number="+15553200001", sid=d_sid, as_turn_starts=kill_rasa)
    )
    # (c) a call on the other replica (and on the surviving Rasa server, so no lock of the
    # dead server's is in its way), whose replica dies after the complaint
    d_replica = await wait_for(lambda: stack.replica_of(d_sid), timeout=60, every=0.5)
    c_call = None
    for attempt in range(5):
        candidate = stack.line(caller_number=f"+1555330000{attempt}")
        candidate.call_sid = sid_on_rasa(0, len(stack.rasa))
        dialed = await candidate.dial()
        assert dialed.status_code == 200, dialed.twiml
        await candidate.open_stream(dialed)
        assert await candidate.wait_for_bot(timeout=90), "no greeting"
        if stack.replica_of(candidate.call_sid) is not d_replica:
            c_call = candidate
            break
        await candidate.hang_up()  # same replica as the other call: ring again
    assert c_call is not None, "nginx put every call on the replica of the first"
    dead = await _replica_dies(line, c_call, replica_script)
    killed_at = time.monotonic()
    survivor = next(r for r in stack.replicas if r is not dead)
    await c_call.close()
    # Twilio's status callback reaches the survivor (nginx passes the refused connection on).
    status = await c_call.status_callback("completed")
    c_sid = c_call.call_sid
    await wait_for(lambda: tickets_by_call(line.engine, [c_sid])[c_sid], timeout=45)
    filed_after = round(time.monotonic() - killed_at, 1)
    # Another replica's lost-call worker, once more: nothing more to file.
    again = await asyncio.to_thread(line.dispatch().file_lost_calls)
    d = await rasa_call
    moved = log_says(stack, d_sid, f"Rasa at {killed.url} is gone")
    every = tickets_by_call(line.engine, [*line.sids.get("spread", []), d_sid, c_sid])
    d_tickets, c_tickets = every[d_sid], every[c_sid]
    c_record = call_record(line.engine, c_sid)
    said = caller_words(line.engine, c_sid)
    record_figures(
        "REPLICAS_KILLED",
        {
            "rasa_killed": {
                "moved_to_the_other": moved,
                "tickets": [(t.kind, t.needs_triage) for t in d_tickets],
            },
            "replica_killed": {
                "replica": dead.name,
                "status_callback": status.status_code,
                "filed_after_seconds": filed_after,
                "tickets": [(t.kind, t.needs_triage) for t in c_tickets],
                "outcome": c_record.outcome if c_record else None,
            },
            "calls": len(every),
            "tickets": sum(len(found) for found in every.values()),
            "duplicates": sum(len(found) > 1 for found in every.values()),
            "lost": sum(not found for found in every.values()),
            "rss_mb_survivors": stack.memory_mb(),
        },
    )
    # (d) the conversation went on on the other Rasa server and filed the right ticket
    assert moved, "the call never needed the killed Rasa server: the scenario did not happen"
    assert d.outcome == "ticket_filed", d
    assert len(d_tickets) == 1, d_tickets
    assert d_tickets[0].kind == rasa_script.kind and not d_tickets[0].needs_triage, d_tickets
    # (c) the survivor took Twilio's word that the call ended, and one replica filed what
    # the caller said for triage, once
    assert status.status_code == 204, status.text
    assert f"call {c_sid} status completed" in survivor.log.read_text(errors="replace")
    assert len(c_tickets) == 1, (c_tickets, c_record.outcome if c_record else None)
    assert c_tickets[0].needs_triage, c_tickets
    assert said and all(words in (c_tickets[0].transcript or "") for words in said), (
        said,
        c_tickets[0].transcript,
    )
    assert again == 0
    assert all(len(found) <= 1 for found in every.values()), every
