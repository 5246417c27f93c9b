"""The early end of turn: `EndOfTurn.end_now` on scripted VAD states, and real calls (real
Silero VAD, Whisper, Piper over Twilio-format frames) where a yes to a confirmation ends the
turn at its first pause while a caller who paused mid-sentence is heard to the end."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from callbench.accuracy import trim
from callbench.caller_voices import synthesize_caller
from nlu.contract import BotReply
from tests.voice.test_vad_turn import run_script
from voice.stages import VadState
from voice.turn import EndOfTurn, TurnEvent, TurnEventKind

Q, T, S, P = VadState.QUIET, VadState.STARTING, VadState.SPEAKING, VadState.STOPPING


def feed(turn: EndOfTurn, script: list[tuple[VadState, int]]) -> list[TurnEvent]:
    return [event for _, event in run_script(turn, script)]


def test_end_now_in_the_same_pause_ends_the_turn_with_the_real_silence() -> None:
    turn = EndOfTurn(end_silence_ms=600, pause_ms=250, pre_roll_ms=0)
    *_, paused = feed(turn, [(Q, 10), (T, 8), (S, 30), (Q, 13)])
    assert paused.kind is TurnEventKind.PAUSED and paused.pause > 0
    feed(turn, [(Q, 3)])  # the transcript comes back 60 ms later
    ended = turn.end_now(None, paused.pause)
    assert ended is not None and ended.kind is TurnEventKind.ENDED
    assert ended.reason == "early"
    assert ended.silence == pytest.approx(0.32, abs=0.021)  # 16 quiet chunks, not 600 ms
    assert ended.speech_seconds == pytest.approx(38 * 0.02)
    assert ended.audio.startswith(paused.audio[: len(paused.audio) // 2])
    assert not turn.in_turn
    # the turn is over: more silence ends nothing, and the same pause cannot end it twice
    assert feed(turn, [(Q, 40)]) == []
    assert turn.end_now(None, paused.pause) is None


def test_end_now_after_the_caller_went_on_does_nothing() -> None:
    turn = EndOfTurn(end_silence_ms=600, pause_ms=250)
    events = feed(turn, [(T, 8), (S, 30), (Q, 14), (T, 8), (S, 20)])
    first_pause = events[1]
    assert [e.kind for e in events][1:] == [TurnEventKind.PAUSED, TurnEventKind.RESUMED]
    assert turn.end_now(None, first_pause.pause) is None  # resumed: the guess is stale
    # a second pause: the first one's transcript still cannot end it, the second's can
    second = feed(turn, [(Q, 14)])[0]
    assert second.kind is TurnEventKind.PAUSED and second.pause != first_pause.pause
    assert turn.end_now(None, first_pause.pause) is None
    ended = turn.end_now(None, second.pause)
    assert ended is not None and ended.speech_seconds == pytest.approx(66 * 0.02)


def test_end_now_without_a_turn_or_a_pause_does_nothing() -> None:
    turn = EndOfTurn()
    assert turn.end_now(None, 1) is None  # no turn at all
    feed(turn, [(T, 8), (S, 20)])
    assert turn.end_now(None, 0) is None and turn.end_now(None, 1) is None  # still speaking
    *_, ended = feed(turn, [(Q, 40)])
    assert ended.kind is TurnEventKind.ENDED and ended.reason == "silence"
    assert ended.silence == pytest.approx(0.6, abs=0.021)
    # a pause id of the turn that ended by silence does not end the next turn
    events = feed(turn, [(T, 8), (S, 20), (Q, 13)])
    assert events[-1].kind is TurnEventKind.PAUSED
    assert turn.end_now(None, events[-1].pause - 1) is None
    assert turn.end_now(None, events[-1].pause) is not None


def test_an_early_end_of_a_blip_is_discarded_and_time_never_goes_back() -> None:
    turn = EndOfTurn(end_silence_ms=600, pause_ms=250, min_speech_ms=300)
    paused = feed(turn, [(T, 5), (S, 5), (Q, 13)])[-1]
    assert paused.kind is TurnEventKind.PAUSED
    blip = turn.end_now(0.0, paused.pause)  # a clock behind the turn's: the turn's wins
    assert blip is not None and blip.kind is TurnEventKind.DISCARDED
    assert blip.at == pytest.approx(23 * 0.02)


def test_the_pause_comes_from_the_settings(settings) -> None:
    quick = settings.model_copy(update={"end_of_turn_pause_ms": 150})
    assert EndOfTurn.from_settings(quick).pause == 0.15
    assert settings.early_end_of_turn is True  # on unless DUTYLINE_EARLY_END_OF_TURN=false


# --- through the pipeline ------------------------------------------------------------------

SILENCE_MS = 1500  # long, so the early end has room to show whatever the machine's load


def said(text: str) -> bytes:
    return trim(synthesize_caller(text, voice="flite:slt"))


def paused(first: str, second: str, pause_ms: int = 450) -> bytes:
    return said(first) + b"\xff" * (8 * pause_ms) + said(second)


def early_ends() -> float:
    return REGISTRY.get_sample_value("dutyline_turn_ends_total", {"how": "early"}) or 0.0


async def converse(app, replies: dict[str, list[BotReply]], turns: list[bytes]) -> list:
    """One call: the caller says each of `turns` after the bot's reply; the call's turns."""
    app.dialogue.replies = replies
    line = app.line()
    await line.open_stream(await line.dial())
    assert await line.wait_for_bot()
    for audio in turns:
        line.speak(audio + b"\xff" * 1600)
        await line.wait_sent()
        assert await line.wait_for_bot()
    await line.hang_up()
    async with asyncio.timeout(30):
        while not app.dispatch.closed:
            await asyncio.sleep(0.05)
    return sorted(app.dispatch.turns, key=lambda t: t.index)


def long_silence(speech_models, monkeypatch) -> None:
    settings = speech_models.settings.model_copy(update={"end_of_turn_silence_ms": SILENCE_MS})
    monkeypatch.setattr(speech_models, "settings", settings)


async def confirm_and_count(app) -> list:
    replies = {
        "driveway": [BotReply(text="A car in your driveway, is that right?",
                              control={"expect": "yes_no"})],
        "yes": [BotReply(text="How many cars are there?", control={"expect": "number"})],
        "three": [BotReply(text="Thank you.")],
    }  # fmt: skip
    turns = [
        said("There is a car blocking my driveway."),
        said("Yes."),
        paused("There were", "three of them."),  # no number yet at the pause: not complete
    ]
    return await converse(app, replies, turns)


@pytest.mark.slow
async def test_a_yes_ends_at_the_pause_and_a_paused_sentence_is_heard_whole(
    make_telephony_app, speech_models, monkeypatch
) -> None:
    long_silence(speech_models, monkeypatch)
    before = early_ends()
    with make_telephony_app() as app:
        turns = await confirm_and_count(app)
        says = app.dialogue.said("say")
    assert len(says) == 3, says  # the paused sentence was not cut in two
    assert "yes" in says[1].lower()
    # both halves in one turn (the number's snapping may make "There" "Three")
    assert "were" in says[2].lower() and "of them" in says[2].lower()
    replies = {t.text: t for t in turns if t.speaker == "bot"}
    confirmed = replies["How many cars are there?"].stage_ms
    counted = replies["Thank you."].stage_ms
    print(f"end of turn after yes {confirmed['end_of_turn']} ms, after the paused sentence "
          f"{counted['end_of_turn']} ms (silence {SILENCE_MS} ms)")  # fmt: skip
    assert confirmed["end_of_turn"] < SILENCE_MS - 300  # the real silence at the early end
    assert counted["end_of_turn"] >= SILENCE_MS  # the full silence
    assert early_ends() == before + 1


@pytest.mark.slow
async def test_with_the_early_end_off_a_yes_waits_the_full_silence(
    make_telephony_app, speech_models, monkeypatch
) -> None:
    update = {"end_of_turn_silence_ms": SILENCE_MS, "early_end_of_turn": False}
    monkeypatch.setattr(speech_models, "settings", speech_models.settings.model_copy(update=update))
    before = early_ends()
    with make_telephony_app() as app:
        turns = await confirm_and_count(app)
    confirmed = next(t for t in turns if t.text == "How many cars are there?")
    assert confirmed.stage_ms["end_of_turn"] >= SILENCE_MS
    assert early_ends() == before


@pytest.mark.slow
async def test_a_no_to_the_read_back_is_heard_out_and_a_no_to_anything_else_ends_early(
    make_telephony_app, speech_models, monkeypatch
) -> None:
    """After a read-back a no goes on to what is wrong; after "anything else?" it closes."""
    long_silence(speech_models, monkeypatch)
    before = early_ends()
    replies = {
        "driveway": [BotReply(text="A car on Oak Street, is that right?",
                              control={"expect": "read_back"})],
        "elm": [BotReply(text="Thank you. Is there anything else?", control={"expect": "more"})],
        "that's all": [BotReply(text="Thank you for calling.")],
    }  # fmt: skip
    with make_telephony_app() as app:
        turns = await converse(
            app,
            replies,
            [
                said("There is a car blocking my driveway."),
                paused("No,", "it is on Elm Street."),
                said("No, that's all, thank you."),
            ],
        )
        says = app.dialogue.said("say")
    assert len(says) == 3, says  # the no and its correction are one turn
    assert says[1].lower().startswith("no") and "elm" in says[1].lower()
    ended = {t.text: t.stage_ms.get("end_of_turn") for t in turns if t.speaker == "bot"}
    assert ended["Thank you. Is there anything else?"] >= SILENCE_MS
    assert ended["Thank you for calling."] < SILENCE_MS - 300
    assert early_ends() == before + 1
