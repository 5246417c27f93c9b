"""The line's Korean voice: espeak-ng as a Synthesizer, a voice per locale, Korean words for
everything voice/ says itself, and a Korean call that hears them."""

from __future__ import annotations

import asyncio
import re
import string
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_settings
from voice import capacity, prompts, transfers
from voice.codec import ulaw_decode
from voice.espeak_synthesizer import EspeakMissingError, EspeakSynthesizer
from voice.speech import SpeechModels, speak
from voice.stages import PHONE_RATE

HANGUL = re.compile(r"[\uac00-\ud7a3]")
READ_BACK = (
    "확인하겠습니다. 불법 주차, 경안로 백이십삼 앞입니다. 회색 승합차가 밤 열 시부터 "
    "서 있습니다. 맞습니까? 접수 번호는 이 사 공 공 공 칠 번입니다."
)


def _syllables(text: str) -> int:
    return len(HANGUL.findall(text))


def test_espeak_speaks_korean_as_8khz_audio_of_a_plausible_length(record_figures) -> None:
    synthesizer = EspeakSynthesizer("ko")
    assert synthesizer.name == "espeak:ko" and synthesizer.sample_rate == 22050
    began = time.monotonic()
    chunks = speak(synthesizer, READ_BACK)
    first = next(chunks)
    first_audio_seconds = time.monotonic() - began
    audio = first + b"".join(chunks)
    making = time.monotonic() - began
    seconds = len(audio) / (2 * PHONE_RATE)
    # Korean is read at 4-8 syllables a second; espeak-ng at 150 words a minute is in it.
    assert 0.1 < seconds / _syllables(READ_BACK) < 0.3, seconds
    samples = np.frombuffer(audio, dtype="<i2").astype(np.float32)
    assert np.sqrt(np.mean(samples**2)) > 1000  # speech, not silence
    assert np.max(np.abs(samples)) < 32767  # not clipped
    record_figures("korean_tts_first_audio_ms", round(first_audio_seconds * 1000, 1))
    record_figures("korean_tts_real_time_factor", round(making / seconds, 4))
    assert first_audio_seconds < 0.5 and making / seconds < 0.2


def test_the_korean_voice_speaks_sentence_by_sentence() -> None:
    synthesizer = EspeakSynthesizer("ko")
    chunks = list(synthesizer.synthesize("안녕하세요. 무엇을 신고하시겠어요?  "))
    assert len(chunks) == 2 and all(chunks)
    assert list(synthesizer.synthesize("   ")) == []


def test_a_missing_espeak_or_voice_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(EspeakMissingError, match="apt-get install espeak-ng"):
        EspeakSynthesizer("zz")  # no such voice
    monkeypatch.setenv("PATH", str(tmp_path))  # espeak-ng is nowhere
    with pytest.raises(EspeakMissingError, match="Debian package espeak-ng"):
        EspeakSynthesizer("ko")
    models = SpeechModels(make_settings(tmp_path, voices={"ko": "espeak:ko"}))
    state = models.status()["tts:ko"]
    assert state.startswith("missing: espeak-ng") and "apt-get install espeak-ng" in state


def test_an_unknown_voice_engine_is_refused(tmp_path: Path) -> None:
    models = SpeechModels(make_settings(tmp_path, voices={"ko": "festival:ko"}))
    assert models.status()["tts:ko"].startswith("error: unknown voice 'festival:ko'")


@pytest.mark.slow
def test_each_locale_has_its_voice(speech_models: SpeechModels) -> None:
    status = speech_models.status()
    assert status["tts:en"] == "loaded" and status["tts:ko"] == "loaded"
    assert speech_models.synthesizer("en").name == "piper:en_US-joe-medium"
    assert speech_models.synthesizer("ko").name == "espeak:ko"
    assert speech_models.synthesizer("ko-KR") is speech_models.synthesizer("ko")
    assert speech_models.synthesizer("fr") is speech_models.synthesizer("en")  # no voice: en
    audio = speech_models.prompt_cache.get("감사합니다.", "ko")
    assert 0.3 < len(audio) / (2 * PHONE_RATE) < 3


def test_deployment_voices_override_the_defaults(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, piper_voice="en_US-x", voices={"ko": "espeak:ko+f2"})
    assert settings.voice_specs == {"en": "piper:en_US-x", "ko": "espeak:ko+f2"}
    assert "en_US-x.onnx" in SpeechModels(settings).status()["tts:en"]


# --- the words -------------------------------------------------------------------------


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize(
    ("table", "kind"),
    [
        (prompts.LINE, prompts.LinePrompts),
        (prompts.VOICEMAIL, prompts.VoicemailPrompts),
        (capacity.PROMPTS, capacity.CapacityPrompts),
        (transfers.PROMPTS, transfers.Prompts),
    ],
)
def test_every_english_prompt_has_a_korean_one(table: dict, kind: type) -> None:
    english, korean = table["en"], table["ko"]
    for field in fields(kind):
        en, ko = getattr(english, field.name), getattr(korean, field.name)
        if field.name in ("language", "voice"):
            continue
        assert ko and HANGUL.search(ko), field.name
        assert _placeholders(ko) == _placeholders(en), field.name


def test_the_call_locale_chooses_the_words() -> None:
    assert prompts.line_prompts("ko-KR") is prompts.LINE["ko"]
    assert prompts.line_prompts("fr") is prompts.LINE["en"]
    assert prompts.failure_goodbye(None, "ko") == prompts.LINE["ko"].trouble
    apology = prompts.failure_goodbye("240007", "ko")
    assert "접수 번호는 이 사 공 공 공 칠 번입니다" in apology
    assert "2 4 0 0 0 7" in prompts.failure_goodbye("240007")
    twiml = str(prompts.starting_up_twiml("ko"))
    assert 'language="ko-KR"' in twiml and prompts.LINE["ko"].starting_up in twiml
    assert 'language="en-US"' in str(prompts.starting_up_twiml("en"))


@pytest.mark.slow
async def test_a_korean_call_hears_korean_on_the_korean_voice(make_telephony_app) -> None:
    """A call to the Korean line that stays silent: "are you still there?" in Korean (the
    pipeline's own words, chosen by the call's locale), spoken by espeak-ng."""
    with make_telephony_app(no_input_timeout_seconds=1.0) as app:
        app.dialogue.GREETING = "안녕하세요. 무엇을 신고하시겠어요?"

        async def nothing(call_sid: str, name: str) -> list:
            app.dialogue.calls.append(("event", call_sid, name))
            return []  # the dialogue has no words for the silence: the pipeline's own

        app.dialogue.event = nothing
        line = app.line(called_number="+82315550100")
        dialed = await line.dial()
        assert dialed.parameters["locale"] == "ko"
        await line.open_stream(dialed)
        still_there = prompts.LINE["ko"].still_there
        async with asyncio.timeout(40):
            while not any(t.text == still_there for t in app.dispatch.turns):
                await asyncio.sleep(0.1)
        audio = ulaw_decode(bytes(line.bot_audio))
        assert len(audio) / (2 * PHONE_RATE) > 2.0
        await line.hang_up()
