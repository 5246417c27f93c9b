"""The Twilio Media Streams serializer: every message Twilio sends, what we send, bad frames."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from voice.codec import ulaw_encode
from voice.frames import (
    BotAudio,
    CallerAudio,
    CallStarted,
    CallStopped,
    ClearPlayback,
    KeypadPressed,
    MarkPlayed,
    PlaybackMark,
    StreamConnected,
)
from voice.metrics import InboundClock
from voice.twilio_serializer import BadFrame, TwilioSerializer

START = {
    "event": "start",
    "sequenceNumber": "1",
    "streamSid": "MZ1",
    "start": {
        "accountSid": "AC1",
        "streamSid": "MZ1",
        "callSid": "CA1",
        "tracks": ["inbound"],
        "customParameters": {"caller": "+15555550123", "locale": "en"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    },
}


def tone(samples: int = 160) -> bytes:
    t = np.arange(samples) / 8000
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def started() -> TwilioSerializer:
    serializer = TwilioSerializer()
    serializer.deserialize(json.dumps(START))
    return serializer


def test_every_message_twilio_sends() -> None:
    serializer = TwilioSerializer()
    connected = serializer.deserialize('{"event":"connected","protocol":"Call","version":"1.0.0"}')
    assert connected == StreamConnected(protocol="Call")
    start = serializer.deserialize(json.dumps(START))
    assert isinstance(start, CallStarted)
    assert (start.call_sid, start.stream_sid, start.parameters["caller"]) == (
        "CA1",
        "MZ1",
        "+15555550123",
    )
    payload = base64.b64encode(ulaw_encode(tone())).decode()
    media = serializer.deserialize(
        json.dumps(
            {
                "event": "media",
                "streamSid": "MZ1",
                "media": {"track": "inbound", "chunk": "1", "timestamp": "20", "payload": payload},
            }
        )
    )
    assert isinstance(media, CallerAudio) and len(media.pcm8k) == 320
    decoded = np.frombuffer(media.pcm8k, dtype="<i2").astype(float)
    original = np.frombuffer(tone(), dtype="<i2").astype(float)
    assert np.max(np.abs(decoded - original)) < 400  # mu-law is lossy, not noise
    dtmf = {"event": "dtmf", "streamSid": "MZ1", "dtmf": {"track": "inbound_track", "digit": "#"}}
    assert serializer.deserialize(json.dumps(dtmf)) == KeypadPressed("#")
    mark = {"event": "mark", "streamSid": "MZ1", "mark": {"name": "u1.end"}}
    assert serializer.deserialize(json.dumps(mark)) == MarkPlayed("u1.end")
    stop = {"event": "stop", "streamSid": "MZ1", "stop": {"accountSid": "AC1", "callSid": "CA1"}}
    assert serializer.deserialize(json.dumps(stop)) == CallStopped()


def test_what_we_send_is_twilio_format() -> None:
    serializer = started()
    media = json.loads(serializer.serialize(BotAudio(tone())))
    assert media["event"] == "media" and media["streamSid"] == "MZ1"
    assert len(base64.b64decode(media["media"]["payload"])) == 160  # 8-bit mu-law, no header
    assert json.loads(serializer.serialize(PlaybackMark("u1.s1"))) == {
        "event": "mark",
        "mark": {"name": "u1.s1"},
        "streamSid": "MZ1",
    }
    assert json.loads(serializer.serialize(ClearPlayback())) == {
        "event": "clear",
        "streamSid": "MZ1",
    }


def test_nothing_is_sent_before_start() -> None:
    with pytest.raises(RuntimeError):
        TwilioSerializer().serialize(ClearPlayback())


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json at all", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"event": "dance"}', "unknown event"),
        ('{"no_event": 1}', "unknown event"),
        ('{"event": "media", "media": {"payload": "%%%not base64%%%"}}', "not base64"),
        ('{"event": "media", "media": {}}', "without payload"),
        ('{"event": "media"}', "without a 'media' object"),
        ('{"event": "dtmf", "dtmf": {"digit": "X"}}', "bad keypad digit"),
        ('{"event": "mark", "mark": {}}', "mark without name"),
        ('{"event": "start", "start": {"streamSid": "MZ"}}', "without streamSid/callSid"),
        ("x" * 70_000, "oversized message"),
        (
            json.dumps({"event": "media", "media": {"payload": "A" * 20_000}}),
            "oversized media payload",
        ),
        (b"\x00\x01", "binary"),
    ],
)
def test_bad_frames_are_refused_with_a_reason(message: str | bytes, reason: str) -> None:
    with pytest.raises(BadFrame, match=reason):
        started().deserialize(message)


def test_outbound_track_and_empty_media_are_ignored() -> None:
    serializer = started()
    other = {"event": "media", "media": {"track": "outbound", "payload": "//8="}}
    assert serializer.deserialize(json.dumps(other)) is None
    assert serializer.deserialize(json.dumps({"event": "media", "media": {"payload": ""}})) is None


def test_other_media_formats_are_refused() -> None:
    start = json.loads(json.dumps(START))
    start["start"]["mediaFormat"]["sampleRate"] = 16000
    with pytest.raises(BadFrame, match="unsupported media format"):
        TwilioSerializer().deserialize(json.dumps(start))


def test_outbound_media_is_the_json_twilio_expects_whatever_the_sid() -> None:
    start = json.loads(json.dumps(START))
    start["start"]["streamSid"] = 'MZ"é\\1'  # the sid is only ever copied back, escaped
    serializer = TwilioSerializer()
    serializer.deserialize(json.dumps(start))
    message = serializer.serialize(BotAudio(tone()))
    payload = base64.b64encode(ulaw_encode(tone())).decode()
    expected = {"event": "media", "media": {"payload": payload}, "streamSid": 'MZ"é\\1'}
    assert json.loads(message) == expected
    assert message == json.dumps(expected, separators=(",", ":"))


def test_late_inbound_frames_are_counted() -> None:
    from prometheus_client import REGISTRY

    def late_total() -> float:
        return REGISTRY.get_sample_value("dutyline_inbound_late_frames_total") or 0.0

    now = [50.0]
    serializer = TwilioSerializer()
    serializer.inbound = InboundClock(every=10, clock=lambda: now[0])
    payload = base64.b64encode(b"\xff" * 160).decode()
    before = late_total()
    for frame in range(30):
        if frame == 10:
            now[0] += 0.25  # the line stalled: every frame from here on is 250 ms late
        media = {"track": "inbound", "timestamp": str(frame * 20), "payload": payload}
        serializer.deserialize(json.dumps({"event": "media", "media": media}))
        now[0] += 0.02
    assert serializer.inbound.late == 20
    assert serializer.inbound.max_lag == pytest.approx(0.25)
    assert late_total() == before + 20
