"""SpeechModels: loading from models/, status for /healthz, handing out per locale."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from callbench.caller_voices import load_wav_as_ulaw, synthesize_caller
from dutyline.settings import Settings
from tests.conftest import make_settings
from voice.speech import ModelMissingError, SpeechModels
from voice.turn import EndOfTurn


def test_status_names_missing_files(tmp_path: Path) -> None:
    models = SpeechModels(make_settings(tmp_path, models_dir=tmp_path / "models"))
    status = models.status()
    assert set(status) == {"vad", "asr:en", "asr:ko", "tts:en", "tts:ko"}
    for key, state in status.items():
        if key == "tts:ko":  # espeak-ng is Debian's binary, not a model file
            continue
        assert state.startswith("missing: "), key
        assert "dutyline setup" in state
    assert str(tmp_path / "models" / "silero_vad.onnx") in status["vad"]
    assert "whisper/tiny.en/model.bin" in status["asr:en"]
    assert not models.ready
    with pytest.raises(ModelMissingError, match="dutyline setup"):
        models.load()
    assert models.status()["tts:en"].startswith("missing: ")
    with pytest.raises(RuntimeError, match="load"):
        models.new_vad()


@pytest.mark.slow
def test_one_missing_model_leaves_the_others_loaded(
    tmp_path: Path, speech_settings: Settings
) -> None:
    models_dir = tmp_path / "models"
    shutil.copytree(
        speech_settings.models_dir / "whisper" / "tiny.en", models_dir / "whisper" / "tiny.en"
    )
    shutil.copy(speech_settings.models_dir / "silero_vad.onnx", models_dir / "silero_vad.onnx")
    settings = make_settings(tmp_path, models_dir=models_dir, asr_models={"en": "whisper:tiny.en"})
    models = SpeechModels(settings)
    with pytest.raises(ModelMissingError):
        models.load()
    status = models.status()
    assert status["vad"] == "loaded" and status["asr:en"] == "loaded"
    assert status["tts:en"].startswith("missing: ")
    assert "en_US-joe-medium.onnx" in status["tts:en"]
    assert not models.ready


@pytest.mark.slow
def test_unknown_engine_is_refused(tmp_path: Path) -> None:
    models = SpeechModels(make_settings(tmp_path, asr_models={"en": "kaldi:x"}))
    assert models.status()["asr:en"].startswith("error: unknown recognizer 'kaldi:x'")
    with pytest.raises(ValueError, match="unknown recognizer"):
        models.load()
    assert models.status()["asr:en"].startswith("error: unknown recognizer")
    assert not models.ready


@pytest.mark.slow
def test_loaded_models_serve_a_call(speech_models: SpeechModels) -> None:
    assert speech_models.ready
    assert set(speech_models.status().values()) == {"loaded"}
    speech_models.load()  # again: nothing to do
    assert speech_models.transcriber("en").name == "whisper:tiny.en"
    assert speech_models.transcriber("en-US").name == "whisper:tiny.en"
    assert speech_models.transcriber("ko").name == "whisper:base"  # by measurement (issue 14)
    with pytest.raises(LookupError):
        speech_models.transcriber("fr")
    assert speech_models.synthesizer("en").sample_rate == 22050
    first, second = speech_models.new_vad(), speech_models.new_vad()
    assert first is not second and first.model is second.model  # one model, state per call
    assert isinstance(speech_models.new_end_of_turn(), EndOfTurn)
    audio = speech_models.prompt_cache.get("Thank you for calling.")
    assert speech_models.prompt_cache.cached("Thank you for calling.") == audio


@pytest.mark.slow
async def test_calls_can_transcribe_at_once_off_the_loop(
    speech_models: SpeechModels, driveway_call: bytes
) -> None:
    whisper = speech_models.transcriber("en")
    results = await asyncio.gather(
        *(asyncio.to_thread(whisper.transcribe, driveway_call) for _ in range(3))
    )
    assert len({r.text for r in results}) == 1 and "driveway" in results[0].text.lower()


def test_caller_audio_is_phone_mu_law(tmp_path: Path) -> None:
    ulaw = synthesize_caller("Hello.", voice="flite:slt", silence_after_ms=500)
    assert 8000 * 0.5 < len(ulaw) < 8000 * 3  # one byte per sample at 8 kHz
    wav = tmp_path / "hello.wav"
    import subprocess

    subprocess.run(
        ["sox", "-t", "raw", "-r", "8000", "-e", "u-law", "-c", "1", "-", str(wav)],
        input=ulaw,
        check=True,
    )
    assert load_wav_as_ulaw(wav) == ulaw
    with pytest.raises(ValueError):
        synthesize_caller("Hello.", voice="festival:x")
    with pytest.raises(FileNotFoundError):
        load_wav_as_ulaw(tmp_path / "none.wav")


def test_caller_audio_is_reproducible() -> None:
    # no dither: the same words give the same bytes, so test results don't drift
    first = synthesize_caller("Twelve Oak Street.", voice="espeak:en-us")
    assert first == synthesize_caller("Twelve Oak Street.", voice="espeak:en-us")
    assert first != synthesize_caller("Twelve Oak Street.", voice="flite:rms")
