"""Fixtures for the voice tests. Shared between the speech and telephony
helpers: append new fixtures below, don't rewrite the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callbench.caller_voices import synthesize_caller
from dutyline.settings import Settings
from tests.conftest import make_settings
from voice.codec import resample, ulaw_decode
from voice.stages import PHONE_RATE, PIPELINE_RATE

# --- speech (voice/speech.py and the engines) ---------------------------------


@pytest.fixture(scope="session")
def speech_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose models_dir is the real models/ built by `dutyline setup`."""
    return make_settings(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def speech_models(speech_settings: Settings) -> Iterator[object]:
    """Every configured speech model, loaded once for the session."""
    from voice.speech import SpeechModels

    models = SpeechModels(speech_settings)
    models.load()
    yield models


def phone_pcm16k(text: str, voice: str = "espeak:en-us", **options: int) -> bytes:
    """A caller saying `text` over an 8 kHz mu-law line, as the pipeline sees it (16 kHz PCM)."""
    ulaw = synthesize_caller(text, voice=voice, **options)
    return resample(ulaw_decode(ulaw), PHONE_RATE, PIPELINE_RATE)


@pytest.fixture(scope="session")
def driveway_call() -> bytes:
    """16 kHz PCM of a caller (flite) reporting a blocked driveway, via 8 kHz mu-law."""
    return phone_pcm16k("There is a car blocking my driveway on 12 Oak Street.", "flite:slt")


# --- telephony (voice/routes.py, pipeline, simulator) -----------------------------

import contextlib  # noqa: E402


class ScriptedDialogue:
    """A small nlu.contract.Dialogue for the pipeline's mechanics (the real Rasa is in the
    end-to-end tests). Records every call; `down` makes it raise DialogueUnavailable."""

    GREETING = "City night line. What would you like to report?"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []
        self.down = False
        self.replies: dict[str, list] = {}  # caller text (lower, contains) -> replies
        self.keypad_replies: dict[str, list] = {}

    def _check(self) -> None:
        if self.down:
            from nlu.contract import DialogueUnavailable

            raise DialogueUnavailable("the dialogue server is down (test)")

    async def start(self, call_sid: str, metadata: dict) -> list:
        from nlu.contract import BotReply

        self.calls.append(("start", call_sid, metadata))
        self._check()
        return [BotReply(text=self.GREETING)]

    async def say(self, call_sid: str, text: str, metadata: dict | None = None) -> list:
        from nlu.contract import BotReply

        self.calls.append(("say", call_sid, text))
        self._check()
        for key, replies in self.replies.items():
            if key in text.lower():
                return replies
        return [BotReply(text="I see. Where is that?")]

    async def keypad(self, call_sid: str, digits: str) -> list:
        from nlu.contract import BotReply

        self.calls.append(("keypad", call_sid, digits))
        self._check()
        return self.keypad_replies.get(digits, [BotReply(text=f"You pressed {digits}.")])

    async def event(self, call_sid: str, name: str) -> list:
        from nlu.contract import BotReply

        self.calls.append(("event", call_sid, name))
        self._check()
        return [BotReply(text="Are you still there?")] if name == "no_input" else []

    def latest_message(self, call_sid: str) -> str | None:
        said = [k for k, sid, _ in self.calls if sid == call_sid and k in ("say", "keypad")]
        return str(len(said)) if said else None

    async def understood(self, call_sid: str, message_id: str):
        from nlu.contract import Understanding

        self.calls.append(("understood", call_sid, message_id))
        return Understanding(intent="scripted", confidence=0.5)

    async def ready(self) -> bool:
        return not self.down

    async def aclose(self) -> None:
        pass

    def said(self, kind: str) -> list[object]:
        return [value for k, _, value in self.calls if k == kind]


class RecordingDispatch:
    """An in-memory dispatch.contract.Dispatch that keeps what voice/ reported."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.opened: list = []
        self.turns: list = []
        self.closed: list = []
        self.reports: list = []
        self.tickets: dict[str, str] = {}

    def open_call(self, call) -> None:
        with self.lock:
            self.opened.append(call)

    def record_turn(self, turn) -> None:
        # As the real one: a turn stored again (its intent added) replaces the first copy.
        with self.lock:
            same = [
                i
                for i, t in enumerate(self.turns)
                if (t.call_sid, t.index) == (turn.call_sid, turn.index)
            ]
            if same:
                self.turns[same[0]] = turn
            else:
                self.turns.append(turn)

    def close_call(self, end) -> None:
        with self.lock:
            self.closed.append(end)

    def note_call_ended(self, call_sid: str, status: str) -> bool:
        return False  # one process: no other replica holds a stream

    def file_complaint(self, report):
        from dispatch.contract import FiledTicket

        with self.lock:
            self.reports.append(report)
            number = f"{240000 + len(self.reports)}"
            if report.call_sid:
                self.tickets[report.call_sid] = number
        return FiledTicket(
            number=number,
            kind=report.kind,
            kind_name="Needs triage",
            department_code="triage",
            department_name="Duty desk",
            status="new",
        )

    def ticket_for_call(self, call_sid: str) -> str | None:
        with self.lock:
            return self.tickets.get(call_sid)

    def find_ticket(self, number: str, locale: str | None = None):
        return None

    def on_duty_phone(self, kind: str | None) -> str | None:
        return "+15555550999"


class TelephonyApp:
    """A real uvicorn server with the voice routes, real speech models, a scripted dialogue."""

    def __init__(self, settings, services, url: str) -> None:
        self.settings = settings
        self.services = services
        self.url = url
        self.dialogue: ScriptedDialogue = services.dialogue
        self.dispatch: RecordingDispatch = services.dispatch
        self.call_control = services.call_control

    def line(self, **options):
        from callbench.simulator import TwilioLine

        return TwilioLine(
            self.url,
            public_url=self.settings.public_url,
            token=self.settings.signing_token,
            **options,
        )


@contextlib.contextmanager
def running_telephony_app(tmp: Path, speech: object, **overrides: object):
    from types import SimpleNamespace

    from fastapi import FastAPI

    from tests.conftest import free_port, serve_app
    from voice.call_control import make_call_control
    from voice.routes import router
    from voice.softphone import router as softphone_router

    port = free_port()
    values: dict[str, object] = {"public_url": f"http://127.0.0.1:{port}"}
    values.update(overrides)
    settings = make_settings(tmp, **values)
    services = SimpleNamespace(
        settings=settings,
        dispatch=RecordingDispatch(),
        dialogue=ScriptedDialogue(),
        speech=speech,
        call_control=make_call_control(settings),
    )
    app = FastAPI()
    app.state.services = services
    app.include_router(router)
    app.include_router(softphone_router)
    server = serve_app(app, port)
    with server.running():
        yield TelephonyApp(settings, services, f"http://127.0.0.1:{port}")


@pytest.fixture
def telephony_app(tmp_path: Path, speech_models: object) -> Iterator[TelephonyApp]:
    with running_telephony_app(tmp_path, speech_models) as running:
        yield running


@pytest.fixture
def unloaded_telephony_app(tmp_path: Path) -> Iterator[TelephonyApp]:
    """The voice routes with speech models not loaded (for signature checks, no audio)."""
    from voice.speech import SpeechModels

    with running_telephony_app(tmp_path, SpeechModels(make_settings(tmp_path))) as running:
        yield running


@pytest.fixture
def make_telephony_app(tmp_path: Path, speech_models: object):
    """`with make_telephony_app(no_input_timeout_seconds=1.0) as app:` other settings."""

    def make(**overrides: object):
        return running_telephony_app(tmp_path, speech_models, **overrides)

    return make
