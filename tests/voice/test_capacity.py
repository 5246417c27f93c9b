"""A line that knows when it is full (voice/capacity.py): with DUTYLINE_MAX_CALLS=1 the
first call gets the dialogue, the next one a message taken without it (a voicemail ticket,
its words recognized after the call), or the emergency number and goodbye; the refusal is
counted on /metrics and shown to supervisors; the slot frees when the first call ends, and
a reservation whose stream never comes expires.

Real uvicorn, real Twilio-format WebSocket traffic (callbench/simulator.py), real Silero,
Whisper and Piper, the real dispatch service on SQLite and PostgreSQL; the dialogue is the
scripted one (the admitted call only needs to be in it)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from callbench.caller_voices import synthesize_caller
from dispatch.db import make_engine
from dispatch.models import Call, Ticket, TicketNote
from dispatch.routes import routers as dispatch_routers
from dispatch.service import DispatchService
from dutyline.metrics_route import router as metrics_router
from tests.conftest import free_port, make_settings, migrate_and_seed, postgres_database, serve_app
from tests.dispatch.web_support import add_staff, post_signin
from tests.voice.conftest import ScriptedDialogue, TelephonyApp
from voice.call_control import make_call_control
from voice.call_session import CallRegistry, CallSession
from voice.capacity import AT_CAPACITY_MODE, CapacityGate, capacity_of
from voice.capacity_message import pieces, recognize_later
from voice.routes import router as voice_router
from voice.stages import Transcript

pytestmark = pytest.mark.slow

REFUSED = re.compile(r'^dutyline_calls_refused_total\{reason="capacity"\} (\S+)$', re.M)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("capacity-db")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'dutyline.db'}"
        else:
            url = stack.enter_context(postgres_database())
        migrate_and_seed(make_settings(tmp, database_url=url))
        yield url


@contextlib.contextmanager
def capacity_app(
    tmp: Path, database_url: str, speech: object, **overrides: object
) -> Iterator[tuple[FastAPI, TelephonyApp]]:
    """The voice routes, /metrics and the staff pages on the real dispatch service."""
    port = free_port()
    settings = make_settings(
        tmp, database_url=database_url, public_url=f"http://127.0.0.1:{port}", **overrides
    )
    call_control = make_call_control(settings)
    services = SimpleNamespace(
        settings=settings,
        dispatch=DispatchService(make_engine(database_url), settings, sms=call_control),
        dialogue=ScriptedDialogue(),
        speech=speech,
        call_control=call_control,
    )
    app = FastAPI()
    app.state.services = services
    for router in (voice_router, metrics_router, *dispatch_routers):
        app.include_router(router)
    with serve_app(app, port).running():
        yield app, TelephonyApp(settings, services, f"http://127.0.0.1:{port}")


def refused_count(url: str) -> float:
    found = REFUSED.search(httpx.get(f"{url}/metrics", timeout=10).text)
    assert found, "no dutyline_calls_refused_total{reason=capacity} on /metrics"
    return float(found.group(1))


async def wait_until(predicate, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await asyncio.to_thread(predicate):
            await asyncio.sleep(0.1)


def call_row(service: DispatchService, sid: str) -> Call | None:
    with Session(service.engine) as session:
        return session.exec(select(Call).where(Call.call_sid == sid)).first()


def closed(service: DispatchService, sid: str) -> bool:
    row = call_row(service, sid)
    return row is not None and row.outcome != "in_progress"


def notes_of(service: DispatchService, sid: str) -> list[str]:
    with Session(service.engine) as session:
        return list(
            session.exec(
                select(TicketNote.body)
                .join(Ticket, col(Ticket.id) == TicketNote.ticket_id)
                .join(Call, col(Call.id) == Ticket.call_id)
                .where(Call.call_sid == sid)
            ).all()
        )


def stream_mode(dialed) -> str | None:
    assert dialed.status_code == 200 and dialed.stream_url, dialed.twiml
    return dialed.parameters.get("mode")


async def test_a_full_line_takes_a_message_and_frees_its_slot(
    tmp_path: Path, database_url: str, speech_models: object
) -> None:
    with capacity_app(tmp_path, database_url, speech_models, max_calls=1) as (app, line_app):
        service: DispatchService = line_app.services.dispatch
        before = await asyncio.to_thread(refused_count, line_app.url)

        first = line_app.line(caller_number="+15185550101")
        dialed = await first.dial()
        assert stream_mode(dialed) is None  # the dialogue
        await first.open_stream(dialed)
        assert await first.wait_for_bot()  # the greeting

        second = line_app.line(caller_number="+15185550102")
        dialed = await second.dial()
        assert stream_mode(dialed) == AT_CAPACITY_MODE
        assert await asyncio.to_thread(refused_count, line_app.url) == before + 1
        await second.open_stream(dialed)
        assert await second.wait_for_bot()  # the short fixed message
        message = "The street light on Oak Street is out, right in front of number twelve."
        second.speak(synthesize_caller(message, voice="flite:slt", silence_before_ms=200))
        await second.wait_sent()
        await asyncio.sleep(0.5)
        await second.hang_up()

        await wait_until(lambda: closed(service, second.call_sid), timeout=90)
        row = call_row(service, second.call_sid)
        assert row is not None and row.outcome == "voicemail_at_capacity"
        assert row.recording_path and Path(row.recording_path).is_file()
        number = service.ticket_for_call(second.call_sid)
        assert number is not None
        ticket = service.get_ticket(number)
        assert ticket is not None and ticket.description.startswith("Voicemail: ")
        assert "at capacity" in (ticket.triage_reason or "")
        assert not [c for c in line_app.dialogue.calls if c[1] == second.call_sid]  # no Rasa
        # The words come later, as a note on the ticket.
        await wait_until(lambda: bool(notes_of(service, second.call_sid)), timeout=120)
        [note] = notes_of(service, second.call_sid)
        assert note.startswith("Voicemail words") and "oak" in note.lower(), note

        # Supervisors see it.
        add_staff(service.engine, "cap.sup", role="supervisor", department="triage")
        client = TestClient(app, follow_redirects=False)
        post_signin(client, username="cap.sup", password="night-shift-2026")
        page = client.get("/calls").text
        assert "Line full today:" in page and "refused at capacity" in page
        assert f"/calls/{second.call_sid}" in client.get("/calls?outcome=at_capacity").text

        # The first call ends: its slot is free again.
        third = line_app.line(caller_number="+15185550103")
        assert stream_mode(await third.dial()) == AT_CAPACITY_MODE  # still full
        await first.hang_up()
        await wait_until(lambda: closed(service, first.call_sid), timeout=90)
        fourth = line_app.line(caller_number="+15185550104")
        assert stream_mode(await fourth.dial()) is None
        assert await asyncio.to_thread(refused_count, line_app.url) == before + 2


async def test_a_reservation_whose_stream_never_comes_expires(
    tmp_path: Path, database_url: str, speech_models: object
) -> None:
    with capacity_app(tmp_path, database_url, speech_models, max_calls=1) as (app, line_app):
        now = [time.monotonic()]
        capacity_of(app).clock = lambda: now[0]
        silent = line_app.line()
        assert stream_mode(await silent.dial()) is None  # admitted, never streams
        assert stream_mode(await line_app.line().dial()) == AT_CAPACITY_MODE
        now[0] += capacity_of(app).hold_seconds + 0.1
        assert stream_mode(await line_app.line().dial()) is None


async def test_emergency_mode_gives_the_number_and_hangs_up(
    tmp_path: Path, database_url: str, speech_models: object
) -> None:
    alternatives = "You can also report it online at riverton.example/report."
    with capacity_app(
        tmp_path,
        database_url,
        speech_models,
        max_calls=0,
        at_capacity="emergency",
        emergency_number="112",
        non_emergency_alternatives=alternatives,
    ) as (_, line_app):
        service: DispatchService = line_app.services.dispatch
        before = await asyncio.to_thread(refused_count, line_app.url)
        line = line_app.line()
        dialed = await line.dial()
        root = ElementTree.fromstring(dialed.twiml)
        assert root.find("./Connect") is None and root.find("./Hangup") is not None
        said = root.findtext("./Say") or ""
        assert "dial 112" in said and alternatives in said
        assert await asyncio.to_thread(refused_count, line_app.url) == before + 1
        assert (await line.status_callback("completed")).status_code == 204
        row = call_row(service, line.call_sid)
        assert row is not None and row.outcome == "refused_at_capacity"
        assert row.telephony_status == "completed"


# --- the gate's counting, without a line ------------------------------------------------


def _streaming(registry: CallRegistry, sid: str, mode: str = "dialogue") -> CallSession:
    session = CallSession()
    session.start(sid, "MZ" + sid, {"mode": mode})
    registry.add(session)
    return session


def test_a_reservation_ends_when_its_stream_starts_and_counts_once() -> None:
    registry, now = CallRegistry(), [0.0]
    gate = CapacityGate(2, clock=lambda: now[0])
    assert gate.admit("CA1", registry)
    session = _streaming(registry, "CA1")
    assert gate.admitted(registry) == {"CA1"}
    assert gate.admit("CA2", registry) and not gate.admit("CA3", registry)
    _streaming(registry, "CA4", AT_CAPACITY_MODE)  # a message taken at capacity holds no slot
    assert gate.admitted(registry) == {"CA1", "CA2"}
    gate.release("CA2")  # the caller hung up before the stream started
    registry.done(session)
    assert gate.admitted(registry) == set() and gate.admit("CA3", registry)


def test_message_pieces_are_cut_between_words_and_skip_silence() -> None:
    rate = 16000
    tone = (np.sin(np.arange(rate) * 0.1) * 3000).astype("<i2")  # one loud second
    quiet = np.zeros(rate // 2, dtype="<i2")
    audio = np.concatenate([np.tile(np.concatenate([tone, quiet]), 16), np.zeros(rate * 12)])
    found = pieces(audio.astype("<i2").tobytes(), seconds=10)
    assert all(len(p) <= 10 * rate * 2 for p in found)
    assert sum(len(p) for p in found) < len(audio) * 2  # the silent tail is left out
    for piece in found[:-1]:  # each cut falls in a pause
        tail = np.frombuffer(piece, dtype="<i2")[-400:]
        assert np.abs(tail).max() == 0


async def test_the_pound_key_ends_a_message_with_thanks(make_telephony_app) -> None:
    """'#' ends the message: filed at once, a cached goodbye, the bot hangs up; the words
    follow as the ticket's note (the in-memory dispatch, no database)."""
    with make_telephony_app(max_calls=0) as app:
        notes: list[tuple[str, str]] = []
        app.dispatch.add_caller_note = lambda sid, text: notes.append((sid, text)) or "1"
        line = app.line()
        dialed = await line.dial()
        assert stream_mode(dialed) == AT_CAPACITY_MODE
        await line.open_stream(dialed)
        assert await line.wait_for_bot()
        line.speak(synthesize_caller("A tree fell across River Road.", voice="flite:slt"))
        await line.wait_sent()
        await line.press("#")
        await wait_until(lambda: line.closed.is_set() and bool(app.dispatch.closed), timeout=60)
        assert line.hung_up_by == "bot" and app.call_control.actions("hang_up", line.call_sid)
        [end] = app.dispatch.closed
        assert end.outcome == "voicemail_at_capacity"
        [report] = app.dispatch.reports
        assert report.needs_triage and report.description.startswith("Voicemail: left while")
        goodbye = max((t for t in app.dispatch.turns if t.speaker == "bot"), key=lambda t: t.index)
        assert "Your message is saved" in goodbye.text
        await wait_until(lambda: bool(notes), timeout=60)
        assert notes[0][0] == line.call_sid and "river" in notes[0][1].lower()


def test_late_recognition_waits_for_admitted_turns() -> None:
    """A message is recognized only while no admitted call's turn is in the recognizer."""

    seen: list[int] = []
    done = threading.Event()

    class Transcriber:
        def transcribe(self, pcm16k: bytes, hints: object = None) -> Transcript:
            seen.append(speech.recognitions_in_flight)
            return Transcript("a fallen tree", 0.9, 0.0, "fake", 0.0)

    speech = SimpleNamespace(recognitions_in_flight=1, transcriber=lambda locale: Transcriber())
    dispatch = SimpleNamespace(add_caller_note=lambda sid, text: done.set() or "1")
    loud = np.full(8000 * 2, 2000, dtype="<i2").tobytes()  # two loud seconds at 8 kHz
    thread = recognize_later(speech, dispatch, "CA1", "en", loud)
    assert not done.wait(0.5) and seen == []  # an admitted turn is being recognized
    speech.recognitions_in_flight = 0
    thread.join(10)
    assert done.is_set() and seen and set(seen) == {0}
