"""Every call is stored: turns with offsets, confidence and latency, and a two-channel WAV."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from callbench.caller_voices import synthesize_caller
from voice.recorder import CallRecorder

pytestmark = pytest.mark.slow


async def wait_until(predicate, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(float) ** 2))) if len(samples) else 0.0


async def test_turns_latency_and_a_two_channel_recording(telephony_app) -> None:
    line = telephony_app.line()
    await line.open_stream(await line.dial())
    assert await line.wait_for_bot()
    line.speak(synthesize_caller("A car is parked across my driveway.", voice="flite:slt"))
    await line.wait_sent()
    assert await line.wait_for_bot()
    status = await line.status_callback("completed")  # Twilio reports the end while streaming
    assert status.status_code == 204
    await line.hang_up()
    sent_seconds = line._chunk * 0.02  # caller frames sent: the call's length on the line
    await wait_until(lambda: telephony_app.dispatch.closed)

    [end] = telephony_app.dispatch.closed
    assert end.telephony_status == "completed"
    turns = sorted(telephony_app.dispatch.turns, key=lambda t: t.index)
    greeting, said, reply = turns
    assert said.speaker == "caller" and "driveway" in said.text.lower()
    assert said.asr_confidence is not None and 0 < said.asr_confidence <= 1
    assert greeting.ended_ms <= said.started_ms < said.ended_ms <= reply.started_ms
    assert reply.latency_ms is not None and reply.latency_ms > 0
    assert set(reply.stage_ms) == {"end_of_turn", "recognition", "dialogue", "synthesis"}
    assert greeting.latency_ms is None  # nobody spoke before the greeting
    print(f"latency {reply.latency_ms} ms, stages {reply.stage_ms}")

    path = Path(end.recording_path)
    assert path.is_file() and path.is_relative_to(telephony_app.settings.recordings_dir)
    with wave.open(str(path)) as recording:
        assert recording.getnchannels() == 2 and recording.getframerate() == 8000
        seconds = recording.getnframes() / 8000
        stereo = np.frombuffer(recording.readframes(recording.getnframes()), dtype="<i2")
    assert abs(seconds - sent_seconds) < 1.0
    caller_channel, bot_channel = stereo[0::2], stereo[1::2]

    def span(channel: np.ndarray, start_ms: int, end_ms: int) -> np.ndarray:
        return channel[start_ms * 8 : end_ms * 8]

    # the caller's words are on the left, the bot's on the right, where the turns say
    assert rms(span(caller_channel, said.started_ms, said.ended_ms)) > 300
    assert rms(span(bot_channel, said.started_ms, said.ended_ms)) < 50
    assert rms(span(bot_channel, greeting.started_ms, greeting.ended_ms)) > 300
    assert rms(span(caller_channel, greeting.started_ms, greeting.ended_ms)) < 50


def test_a_voicemail_goes_on_in_the_same_recording(tmp_path: Path) -> None:
    """The message after an unanswered transfer continues the call's file: both channels of
    the conversation stay where they were and the message follows them."""
    path = tmp_path / "CAone.wav"
    first = CallRecorder(path)
    first.caller(np.full(800, 100, dtype="<i2").tobytes())  # 100 ms of the caller
    first.bot(np.full(400, -7, dtype="<i2").tobytes())  # then 50 ms of the bot, from "now"
    first.save()  # 150 ms: the bot's words end the file

    again = CallRecorder.continuing(path)
    assert again.now_ms == 150 and again.bot_queued_ms == 0
    again.caller(np.full(1600, 300, dtype="<i2").tobytes())  # 200 ms of the message
    again.save()

    with wave.open(str(path), "rb") as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert len(stereo) == 2800
    caller, bot = stereo[:, 0], stereo[:, 1]
    assert (caller[:800] == 100).all() and (caller[800:1200] == 0).all()
    assert (caller[1200:] == 300).all()
    assert (bot[:800] == 0).all() and (bot[800:1200] == -7).all() and (bot[1200:] == 0).all()
    assert CallRecorder.continuing(tmp_path / "none.wav").now_ms == 0  # nothing earlier
