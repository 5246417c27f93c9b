"""Whisper (tiny.en, base) and Vosk (Korean) on caller audio that went through
an 8 kHz mu-law phone line; silence and noise must give no text."""

from __future__ import annotations

import numpy as np
import pytest

from callbench.speech_bench import word_error_rate
from dutyline.settings import Settings
from tests.voice.conftest import phone_pcm16k
from voice.stages import PIPELINE_RATE
from voice.vosk_transcriber import VoskTranscriber
from voice.whisper_transcriber import WhisperTranscriber

pytestmark = pytest.mark.slow

# Clear caller voices (flite). A working pipeline gets these (nearly) right; a
# broken one (wrong rate, wrong byte order, no resampling) gets nothing.
CALLS = [
    ("There is a car blocking my driveway on 12 Oak Street.", "flite:rms"),
    ("The street light in front of my house is out.", "flite:awb"),
    ("My neighbors are playing loud music and it is after midnight.", "flite:rms"),
]


@pytest.fixture(scope="module", params=["tiny.en", "base"])
def whisper(request: pytest.FixtureRequest, speech_settings: Settings) -> WhisperTranscriber:
    return WhisperTranscriber(
        speech_settings.models_dir / "whisper" / request.param, language="en", window_seconds=10
    )


@pytest.fixture(scope="module")
def calls() -> list[tuple[str, bytes]]:
    return [(text, phone_pcm16k(text, voice, silence_after_ms=300)) for text, voice in CALLS]


def test_whisper_understands_a_caller(whisper: WhisperTranscriber, calls) -> None:
    total = 0.0
    for text, pcm in calls:
        result = whisper.transcribe(pcm)
        assert result.engine == whisper.name
        assert result.confidence is not None and 0 < result.confidence <= 1
        total += word_error_rate(text, result.text)
    assert total / len(calls) <= 0.25, "Whisper misheard clear speech"


def test_whisper_espeak_caller(whisper: WhisperTranscriber) -> None:
    # espeak-ng is harder (robotic), but the key words must come through.
    result = whisper.transcribe(
        phone_pcm16k("I want to report a pothole on Main Street", "flite:slt")
    )
    assert "pothole" in result.text.lower().replace(" ", "") or "main street" in result.text.lower()


@pytest.mark.parametrize("window", [30, 10, 5])
def test_every_window_transcribes(speech_settings: Settings, calls, window: int) -> None:
    model = WhisperTranscriber(
        speech_settings.models_dir / "whisper" / "tiny.en", window_seconds=window
    )
    text, pcm = calls[0]
    assert word_error_rate(text, model.transcribe(pcm).text) <= 0.2


def test_silence_and_noise_give_no_text(whisper: WhisperTranscriber) -> None:
    rng = np.random.default_rng(11)
    silence = bytes(PIPELINE_RATE * 2 * 3)
    hiss = rng.normal(0, 1500, PIPELINE_RATE * 3).astype("<i2").tobytes()
    t = np.arange(PIPELINE_RATE * 2) / PIPELINE_RATE
    hum = (4000 * np.sin(2 * np.pi * 120 * t)).astype("<i2").tobytes()
    for pcm in (silence, hiss, hum, b"", bytes(100)):
        result = whisper.transcribe(pcm)
        assert result.text == "", f"invented {result.text!r}"
        assert result.confidence is None


def test_hallucinated_phrases_are_refused(whisper: WhisperTranscriber) -> None:
    invented = whisper._looks_invented
    assert invented("Thank you for watching!", -0.2, 0.1)
    assert invented("Please subscribe to my channel.", -0.2, 0.1)
    assert invented("Thank you.", -0.3, 0.7)
    assert not invented("Thank you.", -0.2, 0.05)  # a caller may really say it
    assert not invented("There is a pothole on Main Street.", -0.4, 0.05)
    assert invented("the the the the the the the the the the the the the the", -0.3, 0.1)


def test_whisper_base_fixes_the_language(speech_settings: Settings) -> None:
    base = WhisperTranscriber(speech_settings.models_dir / "whisper" / "base", language="ko")
    assert base.language == "ko"
    tiny = WhisperTranscriber(speech_settings.models_dir / "whisper" / "tiny.en", language="ko")
    assert tiny.language == "en"  # an English-only model cannot do otherwise


def test_missing_whisper_model_names_setup(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="dutyline setup"):
        WhisperTranscriber(tmp_path / "whisper" / "tiny.en")


@pytest.fixture(scope="module")
def vosk_ko(speech_settings: Settings) -> VoskTranscriber:
    return VoskTranscriber(speech_settings.models_dir / "vosk" / "ko")


def test_vosk_korean_returns_text(vosk_ko: VoskTranscriber) -> None:
    pcm = phone_pcm16k("안녕하세요. 집 앞 도로에 큰 구멍이 있어요.", "espeak:ko")
    result = vosk_ko.transcribe(pcm)
    assert result.engine == "vosk:ko"
    assert result.text, "Vosk returned nothing for Korean speech"
    hangul = sum("\uac00" <= ch <= "\ud7a3" for ch in result.text)
    assert hangul >= 3
    assert result.confidence is not None and 0 < result.confidence <= 1


def test_vosk_silence_is_empty(vosk_ko: VoskTranscriber) -> None:
    result = vosk_ko.transcribe(bytes(PIPELINE_RATE * 2 * 2))
    assert result.text == "" and result.confidence is None


def test_word_error_rate() -> None:
    assert (
        word_error_rate("There is a car on 12 Oak Street.", "there is a car on twelve oak street")
        == 0
    )
    assert word_error_rate("a b c d", "a x c") == pytest.approx(
        0.5
    )  # one substitution, one deletion
    assert word_error_rate("a b", "") == 1.0


def test_bench_runs_and_reports(speech_settings: Settings) -> None:
    from callbench.speech_bench import run

    result = run(speech_settings, models=("tiny.en",), windows=(10,), utterances=2, show=False)
    (row,) = result["whisper"]
    assert row["model"] == "tiny.en" and row["window_s"] == 10 and row["utterances"] == 2
    assert 0 <= row["wer"] <= 0.8 and row["mean_s"] > 0  # one flite, one espeak-ng caller
    assert result["piper"]["first_audio_s"] > 0 and result["frames"]["vad_us"] > 0
    assert result["nproc"] >= 1
    assert [r["concurrent_calls"] for r in result["concurrency"]] == [1, 2, 4]


def test_a_phrase_whisper_loops_on_is_kept_once() -> None:
    from voice.whisper_transcriber import _drop_repeats

    assert _drop_repeats([1, 2, 3, 9, 9, 9, 9, 9]) == [1, 2, 3, 9]  # "There is a P P P P"
    assert _drop_repeats([1, 7, 8, 7, 8, 7, 8, 2]) == [1, 7, 8, 2]
    assert _drop_repeats([4, 5, 6, 4, 5, 6, 4, 5, 6]) == [4, 5, 6]  # the whole answer looped
    assert _drop_repeats([5, 5, 1, 2]) == [5, 5, 1, 2]  # "no no" is a real answer
