"""The recognizer told what the bot's question expects (voice/expectations.py), on real
synthesized callers through the 8 kHz line: the place prompt puts a street right that
tiny.en gets wrong without it, noise stays silent with it, Vosk takes hints and ignores
them, and a real call passes the hints for the bot's last question."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dispatch.contract import PlaceVocabulary
from dispatch.kinds import load_kinds
from dispatch.settings import DATA_DIR
from dutyline.app import recognition_vocabulary
from dutyline.settings import Settings
from nlu.contract import BotReply, Expect, ReplyControl
from tests.voice.conftest import phone_pcm16k
from tests.voice.test_call_pipeline import caller, connect, wait_until
from voice.expectations import Expectations
from voice.stages import PIPELINE_RATE, RecognitionHints
from voice.vosk_transcriber import VoskTranscriber
from voice.whisper_transcriber import MAX_PROMPT_TOKENS, WhisperTranscriber

pytestmark = pytest.mark.slow

# Found by measurement (every Riverton street, "It is on <street>", flite slt, tiny.en):
# without the prompt these come out as "Earth or street", "the freeway", "rage road".
PUT_RIGHT = ["Arthur Street", "Hickory Way", "Ridge Road"]


@pytest.fixture(scope="module")
def riverton(tmp_path_factory: pytest.TempPathFactory) -> PlaceVocabulary:
    from callbench.place_bench import load_city
    from dispatch.places.geocoder import Geocoder
    from tests.conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("places"))
    return Geocoder(load_city(settings)).vocabulary()


@pytest.fixture(scope="module")
def expectations(riverton: PlaceVocabulary) -> Expectations:
    dispatch = SimpleNamespace(
        place_vocabulary=lambda city=None: riverton,
        kinds=load_kinds(DATA_DIR),
        lines=SimpleNamespace(city_of_locale=lambda locale: "Riverton"),
    )
    return Expectations(recognition_vocabulary(SimpleNamespace(dispatch=dispatch)))


@pytest.fixture(scope="module")
def tiny(speech_settings: Settings) -> WhisperTranscriber:
    return WhisperTranscriber(
        speech_settings.models_dir / "whisper" / "tiny.en", language="en", window_seconds=10
    )


def place_answer(street: str) -> bytes:
    return phone_pcm16k(
        f"It is on {street}", "flite:slt", silence_before_ms=200, silence_after_ms=300
    )


@pytest.mark.parametrize("street", PUT_RIGHT)
def test_the_place_prompt_puts_a_misheard_street_right(
    tiny: WhisperTranscriber, expectations: Expectations, street: str
) -> None:
    pcm = place_answer(street)
    place = expectations.hints_for(Expect.PLACE)
    without = tiny.transcribe(pcm).text
    heard = tiny.transcribe(pcm, place).text
    assert street.lower() not in without.lower(), f"tiny.en heard {without!r} unaided"
    assert street.lower() in heard.lower(), f"with the city's names: {heard!r}"


def test_the_prompt_is_whispers_previous_text_and_bounded(
    tiny: WhisperTranscriber, expectations: Expectations
) -> None:
    plain = tiny.prompt_tokens(None)
    place = tiny.prompt_tokens(expectations.hints_for(Expect.PLACE))
    tokenizer = tiny._tokenizer
    assert plain == [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    assert place[0] == tokenizer.sot_prev and place[-len(plain) :] == plain
    assert len(place) <= 1 + MAX_PROMPT_TOKENS + len(plain)
    # Riverton's 156 street names fit whole; a longer hint loses its commonest words first.
    hint = expectations.hints_for(Expect.PLACE)
    assert hint is not None
    assert tokenizer.decode(place[1 : -len(plain)]).strip() == hint.prompt
    rare = "Zyxwv Sycamorely Quorbishton Plimbertown Vexmoorfield Grathensby"
    longer = RecognitionHints(prompt=f"{hint.prompt} {rare}")
    kept = tokenizer.decode(tiny.prompt_tokens(longer)[1 : -len(plain)]).split()
    assert len(tiny.prompt_tokens(longer)) <= 1 + MAX_PROMPT_TOKENS + len(plain)
    assert {"Hickory", *rare.split()} <= set(kept)
    dropped = set(longer.prompt.split()) - set(kept)
    assert 0 < len(dropped) <= 12
    assert all(len(tokenizer.encode(" " + word)) == 1 for word in dropped)
    # Words alone (no prompt) leave Whisper's prompt as it is.
    assert tiny.prompt_tokens(expectations.hints_for(Expect.YES_NO)) == plain


def test_noise_stays_silent_with_the_place_prompt(
    tiny: WhisperTranscriber, expectations: Expectations
) -> None:
    place = expectations.hints_for(Expect.PLACE)
    rng = np.random.default_rng(0)
    t = np.arange(3 * PIPELINE_RATE)
    for audio in (
        rng.normal(0, 800, 3 * PIPELINE_RATE),  # line hiss
        3000 * np.sin(t * 2 * np.pi * 120 / PIPELINE_RATE),  # mains hum
        rng.normal(0, 3000, 2 * PIPELINE_RATE),  # loud noise
        np.zeros(2 * PIPELINE_RATE),
    ):
        result = tiny.transcribe(audio.astype("<i2").tobytes(), place)
        assert result.text == "", f"invented {result.text!r} from noise"


def test_a_yes_is_heard_as_yes_when_yes_or_no_is_expected(
    tiny: WhisperTranscriber, expectations: Expectations
) -> None:
    for said, voice in (("Yes, that's right.", "flite:slt"), ("No.", "espeak:en-us")):
        pcm = phone_pcm16k(said, voice, silence_before_ms=200, silence_after_ms=300)
        text = tiny.transcribe(pcm, expectations.hints_for(Expect.YES_NO)).text
        text, _ = expectations.snap(text, Expect.YES_NO)
        assert said.split()[0].strip(",.").lower() in text.lower()


def test_vosk_takes_hints_and_ignores_them(speech_settings: Settings) -> None:
    vosk = VoskTranscriber(speech_settings.models_dir / "vosk" / "ko")
    pcm = phone_pcm16k("집 앞 도로에 큰 구멍이 있어요.", "espeak:ko")
    hints = RecognitionHints(expect="place", prompt="중앙로 시청", phrases=("중앙로",))
    result = vosk.transcribe(pcm, hints)
    assert sum("\uac00" <= ch <= "\ud7a3" for ch in result.text) >= 3, result.text


# --- a real call through the pipeline ---------------------------------------------------


class _Spy:
    """The real transcriber, recording the hints each recognition got."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.name = real.name
        self.hints: list[RecognitionHints | None] = []

    def transcribe(self, pcm16k: bytes, hints: RecognitionHints | None = None) -> Any:
        self.hints.append(hints)
        return self._real.transcribe(pcm16k, hints)


@pytest.fixture
def spied(speech_models: Any, expectations: Expectations) -> Iterator[_Spy]:
    """The shared speech models with the city's expectations and a spy on recognition."""
    with pytest.MonkeyPatch.context() as patch:
        spy = _Spy(speech_models.transcriber("en"))
        patch.setattr(speech_models, "expectations", expectations)
        patch.setattr(speech_models, "transcriber", lambda locale: spy)
        yield spy


async def test_a_call_passes_the_hints_of_the_bots_last_question(
    telephony_app: Any, spied: _Spy
) -> None:
    dialogue = telephony_app.dialogue
    dialogue.replies["driveway"] = [
        BotReply(text="A car blocking a driveway."),
        BotReply(text="Where is it?", control=ReplyControl(expect=Expect.PLACE)),
    ]
    dialogue.replies["arthur"] = [
        BotReply(text="Is that right?", control=ReplyControl(expect=Expect.YES_NO))
    ]
    line = await connect(telephony_app)
    assert await line.wait_for_bot()  # the greeting expects nothing in particular
    line.speak(caller("There is a car blocking my driveway."))
    await line.wait_sent()
    assert await line.wait_for_bot()
    line.speak(caller("It is on Arthur Street"))
    await line.wait_sent()
    assert await line.wait_for_bot()
    line.speak(caller("Yes."))
    await line.wait_sent()
    await wait_until(lambda: len(dialogue.said("say")) == 3)
    await line.hang_up()
    said = dialogue.said("say")
    # Without the place prompt tiny.en writes "Earth or street" here (test above).
    assert "arthur street" in said[1].lower()
    # Each turn was recognized (speculatively or not) with the hints of the question before.
    expected = [None, "place", "yes_no"]
    got = [h.expect if h else None for h in spied.hints]
    turns = [expected.index(e) for e in got]
    assert turns == sorted(turns) and set(got) == set(expected), got
