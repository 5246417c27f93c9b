"""Piper: audio at its own rate, sentence by sentence; 8 kHz conversion; prompt cache."""

from __future__ import annotations

import numpy as np
import pytest

from dutyline.settings import Settings
from voice.piper_synthesizer import PiperSynthesizer
from voice.prompts import FIXED, NOT_HEARD, warm
from voice.speech import PromptCache, speak, to_phone_audio
from voice.stages import PHONE_RATE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def piper(speech_settings: Settings) -> PiperSynthesizer:
    return PiperSynthesizer(speech_settings.models_dir / "piper" / "en_US-joe-medium.onnx")


def test_piper_yields_one_chunk_per_sentence(piper: PiperSynthesizer) -> None:
    assert piper.sample_rate == 22050
    chunks = list(piper.synthesize("Thank you for calling. What is the address? Goodbye."))
    assert len(chunks) == 3
    for chunk in chunks:
        audio = np.frombuffer(chunk, "<i2")
        assert len(chunk) % 2 == 0 and len(audio) > piper.sample_rate * 0.3
        assert np.abs(audio).max() > 10000  # speech, not silence
    assert list(piper.synthesize("   ")) == []


def test_phone_audio_has_the_right_length(piper: PiperSynthesizer) -> None:
    chunks = list(piper.synthesize("Your ticket number is 4 5 1 2."))
    native = sum(len(c) for c in chunks) // 2
    phone = b"".join(to_phone_audio(chunks, piper.sample_rate))
    expected = -(-native * PHONE_RATE // piper.sample_rate)
    assert len(phone) // 2 == expected
    assert b"".join(speak(piper, "Your ticket number is 4 5 1 2.")) != b""


def test_first_sentence_arrives_before_the_rest_is_made(piper: PiperSynthesizer) -> None:
    produced = []
    generator = piper.synthesize("First sentence here. Second sentence there. Third one.")
    first = next(generator)
    produced.append(first)
    # the generator is lazy: later sentences are made only when asked for
    assert generator.gi_frame is not None
    produced.extend(generator)
    assert len(produced) == 3


def test_prompt_cache_synthesizes_once(piper: PiperSynthesizer) -> None:
    calls = []

    def synthesizer_for(locale: str) -> PiperSynthesizer:
        calls.append(locale)
        return piper

    cache = PromptCache(synthesizer_for, max_prompts=1)
    timed: list[tuple[str, float, float]] = []
    assert cache.warm(["Hello.", "Goodbye."], timed=lambda *t: timed.append(t)) == 2
    assert cache.warm(["Hello."]) == 0  # kept already
    assert len(calls) == 2 and len(cache) == 2
    assert [t[0] for t in timed] == ["Hello.", "Goodbye."] and all(t[1] > 0.2 for t in timed)
    audio = cache.get("Hello.")
    assert len(calls) == 2 and audio == cache.cached("Hello.")
    assert len(audio) > PHONE_RATE * 2 * 0.2
    assert cache.cached("Hello.", "ko") is None  # per locale
    cache.get("A third prompt.")
    cache.get("A fourth prompt.")  # evicts the third: on demand, only max_prompts are kept
    assert cache.cached("A third prompt.") is None and cache.cached("A fourth prompt.")
    # what was warmed at start-up stays, whatever was asked for since
    assert cache.cached("Goodbye.") is not None and cache.cached("Hello.") is not None
    assert cache.audio_bytes == sum(
        len(cache.cached(t) or b"") for t in ("Hello.", "Goodbye.", "A fourth prompt.")
    )


def test_warm_up_makes_the_dialogue_sentences(piper: PiperSynthesizer) -> None:
    cache = PromptCache(lambda locale: piper)
    result = warm(cache, "en", replies=["Where is it?", "Is that right?"])
    assert not result.failed and result.prompts == len(FIXED) + 3 + 2
    assert cache.cached("Is that right?", "en") and cache.cached(NOT_HEARD, "en")
    assert result.audio_bytes == cache.audio_bytes > 0


def test_a_locale_without_a_voice_does_not_stop_start_up() -> None:
    def no_voice(locale: str) -> PiperSynthesizer:
        raise RuntimeError("the Piper voice is not loaded")

    cache = PromptCache(no_voice)
    result = warm(cache, "ko", replies=["맞습니까?"])
    assert result.failed and result.prompts == 0 and len(cache) == 0


def test_missing_voice_names_setup(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="dutyline setup"):
        PiperSynthesizer(tmp_path / "nobody.onnx")
