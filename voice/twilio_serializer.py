"""Twilio Media Streams <-> frames. The only module that knows Twilio's JSON, base64 and mu-law.

One serializer per call: it learns the stream's sid from the `start` message and
stamps it on everything it sends back.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import orjson

from voice.codec import ulaw_decode, ulaw_encode
from voice.frames import (
    BadFrame,
    BotAudio,
    CallerAudio,
    CallStarted,
    CallStopped,
    ClearPlayback,
    Frame,
    KeypadPressed,
    MarkPlayed,
    PlaybackMark,
    StreamConnected,
    UnhearableStream,
)
from voice.metrics import InboundClock

MAX_MESSAGE_CHARS = 64 * 1024  # Twilio's frames are ~300 characters; anything huge is not Twilio
MAX_MEDIA_BYTES = 8000  # one second of mu-law; Twilio sends 160 bytes (20 ms)
KEYPAD_DIGITS = frozenset("0123456789*#")
_MEDIA_HEAD = '{"event":"media","media":{"payload":"'


__all__ = ["BadFrame", "TwilioSerializer", "UnhearableStream"]


class TwilioSerializer:
    def __init__(self) -> None:
        self.stream_sid: str | None = None
        self.call_sid: str | None = None
        self.inbound = InboundClock()  # the dutyline_inbound_lag_seconds samples
        self._tail_sid: str | None = None  # the sid _media_tail was made for
        self._media_tail = ""

    # --- Twilio -> frames --------------------------------------------------------

    def deserialize(self, message: str | bytes) -> Frame | None:
        """One WebSocket message in; a frame, or None for messages with nothing for us.

        Raises BadFrame for anything malformed; the caller logs it and goes on.
        """
        if isinstance(message, bytes):
            raise BadFrame("binary message (Twilio sends JSON text)")
        if len(message) > MAX_MESSAGE_CHARS:
            raise BadFrame(f"oversized message ({len(message)} characters)")
        try:
            data = orjson.loads(message)  # ~5x json.loads on a 300-character media frame
        except orjson.JSONDecodeError as error:
            raise BadFrame(f"not JSON: {error}") from None
        if not isinstance(data, dict):
            raise BadFrame("not a JSON object")
        event = data.get("event")
        if event == "media":  # 50 a second per call: no table look-up
            return self._media(data)
        handler = _HANDLERS.get(event) if isinstance(event, str) else None
        if handler is None:
            raise BadFrame(f"unknown event {event!r}")
        return handler(self, data)

    def _connected(self, data: dict[str, Any]) -> Frame:
        return StreamConnected(protocol=str(data.get("protocol", "")))

    def _start(self, data: dict[str, Any]) -> Frame:
        start = _object(data, "start")
        stream_sid = start.get("streamSid") or data.get("streamSid")
        call_sid = start.get("callSid")
        if not isinstance(stream_sid, str) or not isinstance(call_sid, str):
            raise BadFrame("start without streamSid/callSid")
        media_format = start.get("mediaFormat") or {}
        encoding = media_format.get("encoding", "audio/x-mulaw")
        rate = media_format.get("sampleRate", 8000)
        if encoding != "audio/x-mulaw" or rate != 8000:
            raise UnhearableStream(f"unsupported media format {encoding} at {rate} Hz")
        parameters = start.get("customParameters") or {}
        if not isinstance(parameters, dict):
            raise BadFrame("customParameters is not an object")
        self.stream_sid, self.call_sid = stream_sid, call_sid
        return CallStarted(
            call_sid=call_sid,
            stream_sid=stream_sid,
            account_sid=str(start.get("accountSid", "")),
            parameters={str(k): str(v) for k, v in parameters.items()},
        )

    def _media(self, data: dict[str, Any]) -> Frame | None:
        media = _object(data, "media")
        if media.get("track", "inbound") not in ("inbound", "inbound_track"):
            return None  # only the caller's side is ours to hear
        payload = media.get("payload")
        if not isinstance(payload, str):
            raise BadFrame("media without payload")
        if len(payload) > MAX_MEDIA_BYTES * 4 // 3 + 4:
            raise BadFrame("oversized media payload")
        try:
            ulaw = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise BadFrame("media payload is not base64") from None
        if not ulaw:
            return None
        self.inbound.arrived(media.get("timestamp"))
        return CallerAudio(pcm8k=ulaw_decode(ulaw))

    def _dtmf(self, data: dict[str, Any]) -> Frame:
        digit = _object(data, "dtmf").get("digit")
        if not isinstance(digit, str) or digit not in KEYPAD_DIGITS:
            raise BadFrame(f"bad keypad digit {digit!r}")
        return KeypadPressed(digit=digit)

    def _mark(self, data: dict[str, Any]) -> Frame:
        name = _object(data, "mark").get("name")
        if not isinstance(name, str):
            raise BadFrame("mark without name")
        return MarkPlayed(name=name)

    def _stop(self, data: dict[str, Any]) -> Frame:
        return CallStopped()

    # --- frames -> Twilio --------------------------------------------------------

    def serialize(self, frame: Frame) -> str:
        if self.stream_sid is None:
            raise RuntimeError("nothing can be sent before the stream's start message")
        if isinstance(frame, BotAudio):
            # 50 a second while the bot talks: the JSON is a fixed frame around the payload
            # (base64 needs no escaping; the sid was encoded once, at the start message).
            payload = base64.b64encode(ulaw_encode(frame.pcm8k)).decode("ascii")
            if self._tail_sid is not self.stream_sid:
                self._tail_sid = self.stream_sid
                self._media_tail = '"},"streamSid":' + json.dumps(self.stream_sid) + "}"
            return _MEDIA_HEAD + payload + self._media_tail
        if isinstance(frame, PlaybackMark):
            return self._dump({"event": "mark", "mark": {"name": frame.name}})
        if isinstance(frame, ClearPlayback):
            return self._dump({"event": "clear"})
        raise TypeError(f"{type(frame).__name__} does not go to the line")

    def _dump(self, message: dict[str, Any]) -> str:
        message["streamSid"] = self.stream_sid
        return json.dumps(message, separators=(",", ":"))


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise BadFrame(f"{data.get('event')} without a {key!r} object")
    return value


_HANDLERS = {
    "connected": TwilioSerializer._connected,
    "start": TwilioSerializer._start,
    "media": TwilioSerializer._media,
    "dtmf": TwilioSerializer._dtmf,
    "mark": TwilioSerializer._mark,
    "stop": TwilioSerializer._stop,
}
