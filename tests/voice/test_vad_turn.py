"""Silero VAD on phone speech, silence and noise; end-of-turn timing on scripted states."""

from __future__ import annotations

import numpy as np
import pytest

from dutyline.settings import Settings
from tests.voice.conftest import phone_pcm16k
from voice.stages import PIPELINE_RATE, VadState
from voice.turn import EndOfTurn, TurnEventKind
from voice.vad import SileroVadAnalyzer, SileroVadModel, VadParams

CHUNK = PIPELINE_RATE // 50 * 2  # 20 ms of 16 kHz PCM16
Q, T, S, P = VadState.QUIET, VadState.STARTING, VadState.SPEAKING, VadState.STOPPING


def chunks(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + CHUNK] for i in range(0, len(pcm), CHUNK)]


@pytest.fixture(scope="module")
def vad_model(speech_settings: Settings) -> SileroVadModel:
    return SileroVadModel(speech_settings.models_dir / "silero_vad.onnx")


def states_for(vad: SileroVadAnalyzer, pcm: bytes) -> list[VadState]:
    return [vad.analyze(chunk) for chunk in chunks(pcm)]


@pytest.mark.slow
def test_vad_hears_a_caller_and_the_end_of_speech(vad_model: SileroVadModel) -> None:
    speech = phone_pcm16k("There is a car blocking my driveway.", "flite:slt")
    pcm = bytes(PIPELINE_RATE * 2) + speech + bytes(PIPELINE_RATE * 2)  # 1 s silence each side
    states = states_for(SileroVadAnalyzer(vad_model), pcm)
    speaking = [i for i, s in enumerate(states) if s is S]
    assert speaking, "no speech found"
    first_speech_s = speaking[0] * 0.02
    assert 1.0 < first_speech_s < 1.6  # speech begins at 1.0 s; start needs ~150 ms
    assert states[-1] is Q  # a second of silence brings it back to quiet
    assert S not in states[: PIPELINE_RATE * 2 // CHUNK]


@pytest.mark.slow
def test_vad_stays_quiet_on_silence_and_noise(vad_model: SileroVadModel) -> None:
    rng = np.random.default_rng(7)
    hiss = rng.normal(0, 800, PIPELINE_RATE * 3).astype("<i2").tobytes()
    hum = (3000 * np.sin(2 * np.pi * 60 * np.arange(PIPELINE_RATE * 3) / PIPELINE_RATE)).astype(
        "<i2"
    )
    for pcm in (bytes(PIPELINE_RATE * 6), hiss, hum.tobytes()):
        vad = SileroVadAnalyzer(vad_model)
        assert S not in states_for(vad, pcm)


@pytest.mark.slow
def test_each_call_has_its_own_state(vad_model: SileroVadModel) -> None:
    speech = phone_pcm16k("Hello, I want to report a pothole.", "flite:rms")
    talking, quiet = SileroVadAnalyzer(vad_model), SileroVadAnalyzer(vad_model)
    heard = [(talking.analyze(c), quiet.analyze(bytes(len(c)))) for c in chunks(speech)]
    assert S in {t for t, _ in heard}
    assert {q for _, q in heard} == {Q}
    talking.reset()
    assert talking.state is Q


@pytest.mark.slow
def test_vad_start_time_is_configurable(vad_model: SileroVadModel) -> None:
    speech = bytes(PIPELINE_RATE) + phone_pcm16k(
        "Good evening, my street light is out.", "flite:awb"
    )
    quick = states_for(SileroVadAnalyzer(vad_model, VadParams(start_seconds=0.03)), speech)
    slow = states_for(SileroVadAnalyzer(vad_model, VadParams(start_seconds=0.5)), speech)
    assert quick.index(S) < slow.index(S)


class CountingModel(SileroVadModel):
    """The real model, counting the windows it is run on."""

    def __init__(self, model: SileroVadModel) -> None:
        self.session, self.path, self.windows = model.session, model.path, 0

    def probability_of_rows(
        self, rows: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray]:
        self.windows += len(rows)
        return super().probability_of_rows(rows, h, c)


@pytest.mark.slow
def test_quiet_windows_skip_the_model(vad_model: SileroVadModel) -> None:
    counting = CountingModel(vad_model)
    vad = SileroVadAnalyzer(counting)
    assert set(states_for(vad, bytes(PIPELINE_RATE * 2 * 4))) == {Q}  # an idle line: 4 s
    assert counting.windows == 0 and vad.skipped == 125
    speech = phone_pcm16k("Hello, I want to report a pothole.", "flite:rms")
    assert S in states_for(vad, speech)
    assert counting.windows > 0  # speech is heard, after a replay of the last quiet windows


@pytest.mark.slow
def test_skipping_quiet_windows_hears_what_the_model_hears(vad_model: SileroVadModel) -> None:
    # Quiet stretches no longer than the replay: the model sees the same windows either way.
    first = phone_pcm16k("There is a car on Oak Street.", "flite:slt")
    second = phone_pcm16k("It has been there all night.", "flite:slt")
    pause = bytes(int(PIPELINE_RATE * 0.4) * 2)
    pcm = bytes(int(PIPELINE_RATE * 0.2) * 2) + first + pause + second + pause
    skipping = SileroVadAnalyzer(vad_model)
    assert states_for(skipping, pcm) == every_window(vad_model, pcm)
    assert skipping.skipped > 20


def every_window(model: SileroVadModel, pcm: bytes) -> list[VadState]:
    """The VAD as it was before skipping: the model on every window, gated by volume."""
    vad, params = SileroVadAnalyzer(model), VadParams()
    h = c = np.zeros((1, 1, 128), dtype=np.float32)
    context = np.zeros(64, dtype=np.float32)
    floor = 32768.0 * 10 ** (params.min_volume_dbfs / 20)
    states, pending = [], np.zeros(0, dtype=np.float32)
    for chunk in chunks(pcm):
        pending = np.concatenate([pending, np.frombuffer(chunk, dtype="<i2").astype(np.float32)])
        while len(pending) >= 512:
            window, pending = pending[:512], pending[512:]
            row = np.concatenate([context, window / 32768.0])
            context = row[-64:]
            probability, h, c = model.probability(row, h, c)
            speaking = vad.state in (S, P)
            limit = params.threshold - (params.release if speaking else 0.0)
            loud = float(np.sqrt(np.mean(window * window))) >= floor
            vad._advance(loud and probability >= limit)
        states.append(vad.state)
    return states


# --- end of turn (no model, no event loop: scripted VAD states) ---------------


def run_script(turn: EndOfTurn, script: list[tuple[VadState, int]]) -> list[tuple[float, object]]:
    """Feed (state, number of 20 ms chunks); the audio of each chunk is its state's loudness."""
    events = []
    for state, count in script:
        for _ in range(count):
            level = 1000 if state in (T, S) else 0
            event = turn.push(np.full(CHUNK // 2, level, "<i2").tobytes(), state)
            if event:
                events.append((round(event.at, 2), event))
    return events


def test_turn_ends_after_the_configured_silence() -> None:
    turn = EndOfTurn(end_silence_ms=600, pause_ms=250, min_speech_ms=200, pre_roll_ms=100)
    events = run_script(turn, [(Q, 50), (T, 8), (S, 50), (P, 10), (Q, 40)])
    kinds = [e.kind for _, e in events]
    assert kinds == [TurnEventKind.STARTED, TurnEventKind.PAUSED, TurnEventKind.ENDED]
    speech_end = (50 + 8 + 50) * 0.02
    paused_at, ended_at = events[1][0], events[2][0]
    assert paused_at == pytest.approx(speech_end + 0.25, abs=0.021)
    assert ended_at == pytest.approx(speech_end + 0.60, abs=0.021)
    ended = events[2][1]
    assert ended.reason == "silence"
    assert ended.speech_seconds == pytest.approx(58 * 0.02)
    # 100 ms pre-roll + 1.16 s speech + 300 ms post-roll
    assert ended.audio_seconds == pytest.approx(0.1 + 1.16 + 0.3, abs=0.021)
    audio = np.frombuffer(ended.audio, "<i2")
    assert audio[:1600].max() == 0 and audio[1600:1700].min() == 1000  # pre-roll is silence


def test_speech_after_a_pause_resumes_the_turn() -> None:
    turn = EndOfTurn(end_silence_ms=600, pause_ms=250)
    events = run_script(
        turn, [(Q, 10), (T, 8), (S, 30), (P, 20), (T, 8), (S, 30), (P, 10), (Q, 30)]
    )
    kinds = [e.kind for _, e in events]
    assert kinds == [
        TurnEventKind.STARTED,
        TurnEventKind.PAUSED,
        TurnEventKind.RESUMED,
        TurnEventKind.PAUSED,
        TurnEventKind.ENDED,
    ]
    first_pause, end = events[1][1], events[-1][1]
    assert end.speech_seconds == pytest.approx(76 * 0.02)
    assert len(end.audio) > len(first_pause.audio)  # the whole turn, not the first half


def test_flush_ends_a_turn_cut_off_mid_sentence() -> None:
    turn = EndOfTurn(end_silence_ms=600, pause_ms=250, min_speech_ms=200)
    events = run_script(turn, [(Q, 10), (T, 8), (S, 30)])  # the line drops mid-word
    assert [e.kind for _, e in events] == [TurnEventKind.STARTED]
    last = turn.flush()
    assert last is not None and last.kind is TurnEventKind.ENDED and last.reason == "hangup"
    assert last.speech_seconds == pytest.approx(38 * 0.02)
    assert turn.flush() is None  # nothing left
    assert EndOfTurn().flush() is None  # no turn in progress: nothing to keep


def test_a_short_blip_is_not_a_turn() -> None:
    turn = EndOfTurn(end_silence_ms=600, pause_ms=250, min_speech_ms=300)
    # VAD confirmed speech (a cough) but only 200 ms of it
    events = run_script(turn, [(Q, 10), (T, 5), (S, 5), (P, 10), (Q, 40)])
    kinds = [e.kind for _, e in events]
    assert kinds[-1] is TurnEventKind.DISCARDED
    assert TurnEventKind.ENDED not in kinds
    # a click the VAD never confirmed produces nothing at all
    assert run_script(EndOfTurn(), [(Q, 10), (T, 2), (Q, 60)]) == []


def test_a_long_turn_is_cut_at_the_maximum() -> None:
    turn = EndOfTurn(max_turn_seconds=3.0)
    events = run_script(turn, [(T, 5), (S, 200)])
    ended = [e for _, e in events if e.kind is TurnEventKind.ENDED]
    assert ended and ended[0].reason == "max_length"
    assert ended[0].at == pytest.approx(3.0, abs=0.021)


def test_starting_again_holds_the_end_of_turn() -> None:
    # The caller starts again just before the silence limit: don't cut them off.
    turn = EndOfTurn(end_silence_ms=600, pause_ms=250)
    events = run_script(turn, [(T, 8), (S, 20), (P, 28), (T, 8), (S, 20), (Q, 40)])
    kinds = [e.kind for _, e in events]
    assert kinds.count(TurnEventKind.ENDED) == 1 and kinds[-1] is TurnEventKind.ENDED


def test_timestamps_can_come_from_the_caller() -> None:
    turn = EndOfTurn(end_silence_ms=500, pause_ms=200)
    frame = bytes(CHUNK)
    at = 100.0
    for state, count in [(T, 8), (S, 10), (Q, 30)]:
        for _ in range(count):
            at += 0.02
            event = turn.push(frame, state, at)
            if event and event.kind is TurnEventKind.ENDED:
                assert event.at == pytest.approx(100.0 + 18 * 0.02 + 0.5, abs=0.021)
                return
    pytest.fail("the turn never ended")


def test_settings_drive_the_silence(settings: Settings) -> None:
    slow = settings.model_copy(update={"end_of_turn_silence_ms": 1000})
    turn = EndOfTurn.from_settings(slow)
    assert turn.end_silence == 1.0 and turn.pause == 0.25
    with pytest.raises(ValueError):
        EndOfTurn(end_silence_ms=200, pause_ms=300)


@pytest.mark.slow
def test_vad_and_turn_together_on_two_sentences(vad_model: SileroVadModel) -> None:
    first = phone_pcm16k("My trash was not collected.", "flite:slt")
    second = phone_pcm16k("The address is 18 Cedar Lane.", "flite:slt")
    pcm = bytes(PIPELINE_RATE) + first + bytes(PIPELINE_RATE) + second + bytes(PIPELINE_RATE * 2)
    vad, turn = SileroVadAnalyzer(vad_model), EndOfTurn(end_silence_ms=600)
    ended = []
    for chunk in chunks(pcm):
        event = turn.push(chunk, vad.analyze(chunk))
        if event and event.kind is TurnEventKind.ENDED:
            ended.append(event)
    # a one-second gap is two turns; each holds its sentence
    assert len(ended) == 2
    for event, sentence in zip(ended, (first, second), strict=True):
        assert len(sentence) / 32000 <= event.audio_seconds <= len(sentence) / 32000 + 1.0


def test_a_short_word_after_a_pause_discards_the_early_result() -> None:
    # "...on Oak Street" (pause) "twelve": too short for SPEAKING, still part of the turn.
    turn = EndOfTurn(end_silence_ms=600, pause_ms=250)
    events = run_script(turn, [(T, 8), (S, 30), (P, 15), (T, 5), (Q, 40)])
    kinds = [e.kind for _, e in events]
    assert kinds == [
        TurnEventKind.STARTED,
        TurnEventKind.PAUSED,
        TurnEventKind.RESUMED,
        TurnEventKind.PAUSED,
        TurnEventKind.ENDED,
    ]
    assert events[-1][1].speech_seconds == pytest.approx(43 * 0.02)
