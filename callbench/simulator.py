"""Act as Twilio toward a running dutyline, so anyone can try a call without an account.

`TwilioLine` does what Twilio does: a signed incoming-call webhook, then the
Media Stream over a signed WebSocket with a 20 ms mu-law frame every 20 ms in
real time (silence included), keypad events, and playback emulated: the bot's
audio "plays" at 8 kHz and each mark is echoed when the audio sent before it
would have finished playing (at once, when a `clear` throws it away).

`simulate_call` drives a whole conversation: each caller turn is sent after the
bot has finished its prompt; the bot's words come from the app's signed call
summary (`GET /voice/calls/<sid>`), polled while the call runs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
import wave
import xml.etree.ElementTree as ElementTree
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import httpx
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from voice.codec import ulaw_decode

FRAME = 160  # 20 ms of 8 kHz mu-law
FRAME_SECONDS = 0.02
SILENCE = b"\xff" * FRAME  # mu-law silence


def sign(token: str, url: str, params: dict[str, str] | None = None) -> str:
    return RequestValidator(token).compute_signature(url, params or {})


def _ws_address(app_url: str, path: str) -> str:
    scheme, _, rest = app_url.rstrip("/").partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}"


@dataclass
class Dialed:
    status_code: int
    twiml: str
    stream_url: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)


class TwilioLine:
    """One simulated Twilio call leg against a dutyline app."""

    def __init__(
        self,
        app_url: str,
        *,
        public_url: str,
        token: str,
        caller_number: str = "+15555550123",
        called_number: str = "+15555550100",
    ) -> None:
        self.app_url = app_url.rstrip("/")
        self.public_url = public_url.rstrip("/")
        self.token = token
        self.caller_number = caller_number
        self.called_number = called_number
        self.call_sid = "CA" + uuid.uuid4().hex
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.account_sid = "AC" + uuid.uuid4().hex
        self.ws: ClientConnection | None = None
        self.closed = asyncio.Event()  # the app closed the stream (it hung up)
        self.hung_up_by: Literal["bot", "caller"] | None = None
        # caller side
        self._outgoing: deque[bytes] = deque()
        self._sequence = 0
        self._chunk = 0
        self.caller_audio_sent_at: float | None = None  # when the last queued caller audio went out
        # playback emulation
        self._playback = bytearray()
        self._pending_marks: deque[tuple[str, int]] = deque()  # (name, position to reach)
        self._received = 0  # mu-law bytes received (minus what `clear` threw away)
        self._played = 0
        self.played_timeline = bytearray()  # what the caller heard, silence included
        self.bot_audio = bytearray()
        self.last_bot_audio_at = 0.0
        self.first_bot_audio_after: list[float] = []  # latency per caller turn, seconds
        self._awaiting_reply_since: float | None = None
        self._audio_before_turn = 0  # len(bot_audio) when the caller last spoke or pressed
        self.marks_echoed: list[str] = []
        self.clears = 0
        self.messages_in: list[dict[str, Any]] = []
        self._tasks: list[asyncio.Task[None]] = []

    # --- the webhook ---------------------------------------------------------------

    def webhook_form(self, status: str = "ringing") -> dict[str, str]:
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "CallStatus": status,
            "Called": self.called_number,
            "Caller": self.caller_number,
            "Direction": "inbound",
            "From": self.caller_number,
            "To": self.called_number,
        }

    async def post_signed(
        self, path: str, form: dict[str, str], *, signature: str | None = None
    ) -> httpx.Response:
        signature = (
            signature if signature is not None else sign(self.token, self.public_url + path, form)
        )
        headers = {"X-Twilio-Signature": signature} if signature else {}
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(self.app_url + path, data=form, headers=headers)

    async def dial(self, *, signature: str | None = None) -> Dialed:
        response = await self.post_signed("/twilio/voice", self.webhook_form(), signature=signature)
        dialed = Dialed(response.status_code, response.text)
        if response.status_code != 200:
            return dialed
        root = ElementTree.fromstring(response.text)
        stream = root.find("./Connect/Stream")
        if stream is not None:
            dialed.stream_url = stream.get("url")
            dialed.parameters = {
                p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")
            }
        return dialed

    async def status_callback(self, status: str = "completed") -> httpx.Response:
        form = self.webhook_form(status) | {"CallDuration": "1"}
        return await self.post_signed("/twilio/status", form)

    async def summary(self) -> dict[str, Any] | None:
        path = f"/voice/calls/{self.call_sid}"
        headers = {"X-Twilio-Signature": sign(self.token, self.public_url + path)}
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(self.app_url + path, headers=headers)
        return response.json() if response.status_code == 200 else None

    # --- the Media Stream ------------------------------------------------------------

    async def open_stream(
        self, dialed: Dialed, *, signature: str | None = None, start: bool = True
    ) -> None:
        assert dialed.stream_url, "the TwiML had no <Connect><Stream>"
        parsed = urlparse(dialed.stream_url)
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")  # the softphone's token
        if signature is None:
            signature = sign(self.token, dialed.stream_url)
        self.ws = await connect(
            _ws_address(self.app_url, path),
            additional_headers={"X-Twilio-Signature": signature} if signature else {},
            max_size=2**20,
        )
        await self.send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        if start:
            await self.send(self._start_message(dialed.parameters))
        self._tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._clock())]

    def _start_message(self, parameters: dict[str, str]) -> dict[str, Any]:
        return {
            "event": "start",
            "start": {
                "accountSid": self.account_sid,
                "streamSid": self.stream_sid,
                "callSid": self.call_sid,
                "tracks": ["inbound"],
                "customParameters": parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }

    async def send(self, message: dict[str, Any]) -> None:
        self._sequence += 1
        message = {"sequenceNumber": str(self._sequence), "streamSid": self.stream_sid, **message}
        await self.send_raw(json.dumps(message))

    async def send_raw(self, text: str | bytes) -> None:
        assert self.ws is not None
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(text)

    def speak(self, ulaw: bytes) -> None:
        """Queue caller audio; it goes out in 20 ms frames at real-time pace."""
        self._awaiting_reply_since = None
        self._audio_before_turn = len(self.bot_audio)
        for start in range(0, len(ulaw), FRAME):
            self._outgoing.append(ulaw[start : start + FRAME].ljust(FRAME, b"\xff"))

    @property
    def speaking(self) -> bool:
        return bool(self._outgoing)

    async def press(self, digits: str, gap: float = 0.15) -> None:
        self._audio_before_turn = len(self.bot_audio)
        for digit in digits:
            await self.send({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": digit}})
            await asyncio.sleep(gap)
        self._awaiting_reply_since = time.monotonic()

    async def _clock(self) -> None:
        """Every 20 ms: one caller frame out, 20 ms of bot audio played, marks echoed."""
        start = time.monotonic()
        tick = 0
        while not self.closed.is_set():
            tick += 1
            frame = self._outgoing.popleft() if self._outgoing else SILENCE
            if not self._outgoing and frame is not SILENCE:
                self.caller_audio_sent_at = time.monotonic()
                self._awaiting_reply_since = self.caller_audio_sent_at
                self._audio_before_turn = len(self.bot_audio)  # the reply comes after this
            self._chunk += 1
            await self.send(
                {
                    "event": "media",
                    "media": {
                        "track": "inbound",
                        "chunk": str(self._chunk),
                        "timestamp": str(self._chunk * 20),
                        "payload": base64.b64encode(frame).decode("ascii"),
                    },
                }
            )
            self._play()
            await self._echo_marks()
            delay = start + tick * FRAME_SECONDS - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    def _play(self) -> None:
        chunk = bytes(self._playback[:FRAME])
        del self._playback[:FRAME]
        self._played += len(chunk)
        self.played_timeline += chunk.ljust(FRAME, b"\xff")

    async def _echo_marks(self) -> None:
        while self._pending_marks and self._pending_marks[0][1] <= self._played:
            name, _ = self._pending_marks.popleft()
            self.marks_echoed.append(name)
            await self.send({"event": "mark", "mark": {"name": name}})

    async def _receive(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                self.messages_in.append(message)
                event = message.get("event")
                if event == "media":
                    audio = base64.b64decode(message["media"]["payload"])
                    now = time.monotonic()
                    if self._awaiting_reply_since is not None:
                        self.first_bot_audio_after.append(now - self._awaiting_reply_since)
                        self._awaiting_reply_since = None
                    self._playback += audio
                    self.bot_audio += audio
                    self._received += len(audio)
                    self.last_bot_audio_at = now
                elif event == "mark":
                    self._pending_marks.append((message["mark"]["name"], self._received))
                elif event == "clear":
                    self.clears += 1
                    self._received -= len(self._playback)
                    self._playback.clear()
                    self._pending_marks = deque((n, self._played) for n, _ in self._pending_marks)
        except ConnectionClosed:
            pass
        finally:
            if self.hung_up_by is None:
                self.hung_up_by = "bot"
            self.closed.set()

    @property
    def bot_quiet(self) -> bool:
        return not self._playback and not self._pending_marks

    async def wait_for_bot(self, *, settle: float = 1.2, timeout: float = 60.0) -> bool:
        """Wait until the bot has spoken and finished (all played, nothing new for `settle` s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed.is_set():
            spoke = len(self.bot_audio) > self._audio_before_turn
            if spoke and self.bot_quiet and time.monotonic() - self.last_bot_audio_at >= settle:
                return True
            await asyncio.sleep(0.05)
        return self.closed.is_set()

    async def wait_sent(self) -> None:
        while self._outgoing and not self.closed.is_set():
            await asyncio.sleep(0.02)

    async def hang_up(self) -> None:
        """The caller hangs up: Twilio sends `stop` and closes the stream."""
        if self.closed.is_set():
            return
        self.hung_up_by = "caller"
        await self.send(
            {"event": "stop", "stop": {"accountSid": self.account_sid, "callSid": self.call_sid}}
        )
        await self.close()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.closed.set()

    def save_bot_wav(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(ulaw_decode(bytes(self.played_timeline)))
        return path


# --- a whole conversation ---------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    kind: Literal["say", "audio", "press"]
    value: str


@dataclass
class CallResult:
    call_sid: str
    outcome: str | None
    ticket_number: str | None
    hung_up_by: str | None
    turns: list[dict[str, Any]]
    caller_turns: list[dict[str, Any]]
    latencies_ms: list[int]  # stored by the app: end of caller speech -> first bot audio
    heard_latencies_ms: list[int]  # measured here: end of caller audio -> first bot audio back
    recording_path: str | None
    bot_audio_seconds: float
    clears: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def simulate_call(
    app_url: str,
    turns: list[Turn],
    *,
    public_url: str,
    token: str,
    voice: str = "flite:rms",
    caller_number: str = "+15555550123",
    turn_timeout: float = 60.0,
    hang_up_wait: float = 8.0,
    save_bot: Path | None = None,
    on_line: Callable[[str, str], None] | None = None,
) -> CallResult:
    """Call `app_url` as Twilio would, play the caller's turns, return what happened."""
    from callbench.caller_voices import load_wav_as_ulaw, synthesize_caller

    show = on_line or (lambda who, text: None)
    line = TwilioLine(app_url, public_url=public_url, token=token, caller_number=caller_number)
    dialed = await line.dial()
    if dialed.status_code != 200 or not dialed.stream_url:
        raise RuntimeError(f"the webhook answered {dialed.status_code}: {dialed.twiml[:300]}")
    await line.open_stream(dialed)
    turn_printer = _TurnPrinter(line, show)
    printer = asyncio.create_task(turn_printer.run())
    caller_turns: list[dict[str, Any]] = []
    try:
        await line.wait_for_bot(timeout=turn_timeout)
        for turn in turns:
            if line.closed.is_set():
                break
            await turn_printer.flush()
            if turn.kind == "press":
                show("caller", f"[keypad {turn.value}]")
                await line.press(turn.value)
            else:
                if turn.kind == "say":
                    audio = await asyncio.to_thread(
                        synthesize_caller, turn.value, voice=voice, silence_before_ms=200
                    )
                else:
                    audio = await asyncio.to_thread(load_wav_as_ulaw, turn.value)
                show("caller", turn.value if turn.kind == "say" else f"[audio {turn.value}]")
                line.speak(audio)
                await line.wait_sent()
            caller_turns.append({"kind": turn.kind, "value": turn.value})
            await line.wait_for_bot(timeout=turn_timeout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(line.closed.wait(), hang_up_wait)
        await line.hang_up()
        summary = await _final_summary(line)
        await turn_printer.flush()
    finally:
        printer.cancel()
        await asyncio.gather(printer, return_exceptions=True)
        await line.close()
    if save_bot is not None:
        line.save_bot_wav(save_bot)
    stored = summary.get("turns", [])
    return CallResult(
        call_sid=line.call_sid,
        outcome=summary.get("outcome"),
        ticket_number=summary.get("ticket_number"),
        hung_up_by=line.hung_up_by,
        turns=stored,
        caller_turns=caller_turns,
        latencies_ms=[t["latency_ms"] for t in stored if t.get("latency_ms") is not None],
        heard_latencies_ms=[int(s * 1000) for s in line.first_bot_audio_after],
        recording_path=summary.get("recording_path"),
        bot_audio_seconds=len(line.bot_audio) / 8000,
        clears=line.clears,
    )


class _TurnPrinter:
    """Shows the call's turns as the app stores them (a bot turn once it has been heard)."""

    def __init__(self, line: TwilioLine, show: Callable[[str, str], None]) -> None:
        self.line, self.show, self.shown = line, show, 0

    async def flush(self) -> None:
        with contextlib.suppress(httpx.HTTPError):
            summary = await self.line.summary()
            turns = (summary or {}).get("turns", [])
            for turn in turns[self.shown :]:
                who = "bot" if turn["speaker"] == "bot" else "caller (heard)"
                self.show(who, turn["text"])
            self.shown = max(self.shown, len(turns))

    async def run(self) -> None:
        while True:
            await self.flush()
            await asyncio.sleep(0.4)


async def _final_summary(line: TwilioLine, timeout: float = 30.0) -> dict[str, Any]:
    """The app's summary once it has closed the call (turns stored, recording saved)."""
    deadline = time.monotonic() + timeout
    summary: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        summary = await line.summary()
        if summary and summary.get("state") == "ended":
            return summary
        await asyncio.sleep(0.2)
    return summary or {}
