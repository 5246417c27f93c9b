"""A city's recorded prompts: decoded from common formats to the line's 8 kHz audio, kept
in the prompt cache under the prompt's exact text, played in a real call instead of the
synthetic voice; a bad file is skipped and the prompt synthesized."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from nlu.contract import BotReply
from tests.conftest import make_settings
from voice.codec import ulaw_decode
from voice.recorded_prompts import (
    Prompt,
    UnusableRecording,
    catalogue,
    decode,
    load_for_locale,
    load_recordings,
)
from voice.speech import PromptCache
from voice.stages import PHONE_RATE

TONE_HZ = 440.0
TONE_SECONDS = 1.5


def write_tone(path: Path, *, rate: int = 44100, seconds: float = TONE_SECONDS) -> Path:
    """A recording of a 440 Hz tone with silence around it, in the format of the suffix:
    wav, flac and ogg (Vorbis) by sox, mp3 by PyAV's LAME encoder."""
    if path.suffix in (".wav", ".flac", ".ogg"):
        subprocess.run(
            ["sox", "-n", "-r", str(rate), "-c", "2", str(path), "synth", str(seconds),
             "sine", str(TONE_HZ), "pad", "0.3", "0.4", "vol", "0.3"],
            check=True,
        )  # fmt: skip
        return path
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.3 * np.sin(2 * np.pi * TONE_HZ * t)
    pad = np.zeros(int(rate * 0.3))
    samples = np.concatenate([pad, tone, pad]).astype(np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        frame_size = 1152
        for start in range(0, samples.size, frame_size):
            piece = samples[start : start + frame_size].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(piece, format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(_as_codec_format(frame, stream)):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _as_codec_format(frame: av.AudioFrame, stream: av.audio.stream.AudioStream) -> av.AudioFrame:
    resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono",
                                  rate=frame.sample_rate)  # fmt: skip
    [converted] = resampler.resample(frame) or [frame]
    return converted


def dominant_hz(pcm8k: bytes) -> float:
    samples = np.frombuffer(pcm8k, dtype="<i2").astype(np.float32)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(samples.size, 1 / PHONE_RATE)[np.argmax(spectrum)])


def share_near(pcm8k: bytes, hz: float, width: float = 10.0) -> float:
    """How much of the audio's energy lies within `width` Hz of `hz`: near 1 for the tone.

    A voice's strongest frequency can fall near 440 Hz by chance, so the fallback test asks
    whether the energy is concentrated there, not where the peak is."""
    samples = np.frombuffer(pcm8k, dtype="<i2").astype(np.float32)
    power = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / PHONE_RATE)
    return float(power[np.abs(freqs - hz) <= width].sum() / max(power.sum(), 1e-9))


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_a_recording_in_any_common_format_becomes_8khz_line_audio(
    tmp_path: Path, suffix: str
) -> None:
    audio = decode(write_tone(tmp_path / f"prompt{suffix}"))
    seconds = len(audio) / (2 * PHONE_RATE)
    assert TONE_SECONDS - 0.05 < seconds < TONE_SECONDS + 0.2  # the silence around is trimmed
    assert abs(dominant_hz(audio) - TONE_HZ) < 5
    peak = np.max(np.abs(np.frombuffer(audio, dtype="<i2")))
    assert 0.75 * 32767 < peak <= 0.81 * 32767  # as loud as the synthetic voices


def test_unusable_files_say_why(tmp_path: Path) -> None:
    garbage = tmp_path / "bad.mp3"
    garbage.write_bytes(b"this is not audio" * 100)
    with pytest.raises(UnusableRecording, match="not readable"):
        decode(garbage)
    silent = tmp_path / "silent.wav"
    subprocess.run(["sox", "-n", "-r", "8000", str(silent), "trim", "0", "1"], check=True)
    with pytest.raises(UnusableRecording, match="silent"):
        decode(silent)
    with pytest.raises(UnusableRecording, match="long"):
        decode(write_tone(tmp_path / "click.wav", seconds=0.05))


def test_loading_keeps_good_recordings_and_skips_bad_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "ko"
    folder.mkdir()
    write_tone(folder / "not_heard.ogg")
    (folder / "still_there.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    write_tone(folder / "no_such_prompt.wav")
    (folder / "notes.txt").write_text("not a recording")
    prompts = [Prompt("not_heard", "잘 듣지 못했습니다.", "line"),
               Prompt("still_there", "아직 계신가요?", "line")]  # fmt: skip
    made: list[str] = []

    def synthesizer_for(locale: str):
        made.append(locale)
        raise AssertionError("a recorded prompt is never synthesized")

    cache = PromptCache(synthesizer_for)
    with caplog.at_level(logging.WARNING, logger="dutyline.voice.prompts"):
        loaded = load_recordings(cache, "ko", tmp_path, prompts)
    assert loaded.loaded == ["not_heard"]
    assert set(loaded.skipped) == {"still_there.wav", "no_such_prompt.wav"}
    assert "not readable" in loaded.skipped["still_there.wav"]
    assert "still_there.wav" in caplog.text
    audio = cache.get("잘  듣지 못했습니다.", "ko")  # the exact text, spaces aside
    assert abs(dominant_hz(audio) - TONE_HZ) < 5 and not made
    assert cache.cached("아직 계신가요?", "ko") is None  # left for the synthesizer
    assert cache.warm(["잘 듣지 못했습니다."], "ko") == 0  # the warm-up skips what is recorded


def test_the_catalogue_keys_the_line_and_the_dialogue(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    keys = {p.key: p for p in catalogue("en", settings)}
    assert keys["not_heard"].source == "line" and "capacity_take_message" in keys
    assert settings.emergency_number in keys["capacity_take_message"].text
    assert keys["utter_ask_location"].source == "dialogue"
    assert keys["utter_read_back.1"].text == "Let me read that back."
    assert not any("{" in p.text for p in keys.values())
    korean = {p.key for p in catalogue("ko", settings)}
    assert {"not_heard", "utter_ask_location"} <= korean


# --- in a real call -------------------------------------------------------------------


async def _greeting_heard(make_telephony_app, monkeypatch, tmp_path: Path, speech, file: Path):
    """A call whose dialogue greets with the real utter_greet; what the caller heard of it."""
    settings = make_settings(tmp_path, prompts_dir=tmp_path / "prompts")
    greeting = next(p.text for p in catalogue("en", settings) if p.key == "utter_greet")
    cache = PromptCache(speech.synthesizer)  # this test's own: the session's stays as it was
    monkeypatch.setattr(speech, "prompt_cache", cache)
    (tmp_path / "prompts" / "en").mkdir(parents=True)
    file.rename(tmp_path / "prompts" / "en" / f"utter_greet{file.suffix}")
    load_for_locale(cache, "en", settings)
    with make_telephony_app() as app:

        async def start(call_sid: str, metadata: dict) -> list:
            return [BotReply(text=greeting)]

        app.dialogue.start = start
        line = app.line()
        dialed = await line.dial()
        await line.open_stream(dialed)
        assert await line.wait_for_bot(timeout=60)
        heard = ulaw_decode(bytes(line.bot_audio))
        await line.hang_up()
        async with asyncio.timeout(20):
            while not app.dispatch.closed:
                await asyncio.sleep(0.05)
        [turn] = [t for t in app.dispatch.turns if t.speaker == "bot"]
        assert turn.text == greeting
    return heard, cache, greeting


@pytest.mark.slow
async def test_a_recording_replaces_the_greeting_in_a_call(
    make_telephony_app, monkeypatch, tmp_path: Path, speech_models
) -> None:
    recording = write_tone(tmp_path / "take1.ogg")
    heard, _, _ = await _greeting_heard(
        make_telephony_app, monkeypatch, tmp_path, speech_models, recording
    )
    seconds = len(heard) / (2 * PHONE_RATE)
    assert TONE_SECONDS - 0.1 < seconds < TONE_SECONDS + 0.3, seconds  # all of it, only it
    assert abs(dominant_hz(heard) - TONE_HZ) < 5
    assert share_near(heard, TONE_HZ) > 0.8


@pytest.mark.slow
async def test_a_bad_recording_falls_back_to_the_voice(
    make_telephony_app, monkeypatch, tmp_path: Path, speech_models
) -> None:
    broken = tmp_path / "take1.mp3"
    broken.write_bytes(b"\xff\xfb" + b"\x00" * 3000)  # an MP3 frame header, then nothing
    heard, cache, greeting = await _greeting_heard(
        make_telephony_app, monkeypatch, tmp_path, speech_models, broken
    )
    seconds = len(heard) / (2 * PHONE_RATE)
    assert seconds > 4, seconds  # Piper reading the long greeting, not a tone
    assert share_near(heard, TONE_HZ) < 0.2  # a voice, not the recording's tone
    assert cache.cached(greeting, "en") is None  # nothing was kept for the whole reply
