"""The Speaker with the real Piper voice: no silence inside a bot turn, cached sentences
never go to Piper, and a barge-in throws away what was being made ahead (issue 12)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from dutyline.settings import Settings
from voice.frames import BotAudio, BotSays, ClearPlayback, Frame, PlaybackMark
from voice.piper_synthesizer import PiperSynthesizer
from voice.recorder import CallRecorder
from voice.speaker import FRAME_BYTES, FRAME_SECONDS, Speaker, Utterance
from voice.speech import PromptCache

READ_BACK_INTRO = (
    "Thank you, I have all I need. Before I file it, I will read the whole report back to "
    "you, so that you can check every detail."
)
READ_BACK = (
    "Noise complaint, at the corner of Fifth Avenue and Elm Street, next to the gas station "
    "across from the primary school. Source: a dog barking in a back yard. Is that right?"
)


class Counting:
    """The real Piper voice, noting each text it is asked to make and when."""

    def __init__(self, voice: PiperSynthesizer) -> None:
        self.voice = voice
        self.name = voice.name
        self.sample_rate = voice.sample_rate
        self.made: list[tuple[float, str]] = []

    def synthesize(self, text: str, *, due: float | None = None) -> Iterator[bytes]:
        self.made.append((time.monotonic(), text))
        yield from self.voice.synthesize(text, due=due)

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.made]


class Line:
    """Twilio's side of the stream: frames play back to back from when they arrive; each mark
    is echoed when the audio before it has played; `clear` throws away what is queued."""

    def __init__(self) -> None:
        self.speaker: Speaker | None = None
        self.frames: list[tuple[float, bytes]] = []
        self.play_end = 0.0
        self.dry: list[float] = []  # silences between frames after the first (seconds)
        self.cleared_at: float | None = None
        self.marks: dict[str, float] = {}  # name: when the audio before it has played
        self.marks_sent: dict[str, float] = {}

    async def send(self, frame: Frame) -> None:
        now = time.monotonic()
        if isinstance(frame, BotAudio):
            if self.frames and now - self.play_end > FRAME_SECONDS:
                self.dry.append(now - self.play_end)
            self.frames.append((now, frame.pcm8k))
            self.play_end = max(self.play_end, now) + FRAME_SECONDS
        elif isinstance(frame, PlaybackMark):
            assert self.speaker is not None
            self.marks[frame.name], self.marks_sent[frame.name] = self.play_end, now
            asyncio.get_running_loop().call_at(self.play_end, self.speaker.mark_played, frame.name)
        elif isinstance(frame, ClearPlayback):
            self.cleared_at = now

    def audio(self) -> bytes:
        return b"".join(pcm for _, pcm in self.frames)


@pytest.fixture(scope="module")
def piper(speech_settings: Settings) -> PiperSynthesizer:
    voice = PiperSynthesizer(speech_settings.models_dir / "piper" / "en_US-joe-medium.onnx")
    list(voice.synthesize("Warm up the voice."))
    return voice


def _speaker(
    line: Line, tmp_path: Path, synthesizer: Counting, cache: PromptCache | None = None
) -> Speaker:
    speaker = Speaker(
        line.send,
        CallRecorder(tmp_path / "call.wav"),
        lambda: synthesizer,
        lambda text: b"",
        lambda utterance: None,
        cached=(lambda text: cache.cached(text)) if cache else (lambda text: None),
    )
    line.speaker = speaker
    return speaker


async def _played(*utterances: Utterance) -> None:
    await asyncio.wait_for(asyncio.gather(*(u.done.wait() for u in utterances)), 60)


@pytest.mark.slow
async def test_a_reply_in_two_messages_plays_without_a_gap(
    piper: PiperSynthesizer, tmp_path: Path
) -> None:
    line, synthesizer = Line(), Counting(piper)
    speaker = _speaker(line, tmp_path, synthesizer)
    running = asyncio.create_task(speaker.run())
    try:
        first = speaker.say(BotSays(READ_BACK_INTRO))
        second = speaker.say(BotSays(READ_BACK))
        await _played(first, second)
    finally:
        running.cancel()
    assert not first.interrupted and not second.interrupted
    assert len(first.heard) == 2 and len(second.heard) == 3
    # The read-back's first sentence went to Piper while the intro was still being sent...
    started = {text: at for at, text in synthesizer.made}
    assert started[READ_BACK.split(". ")[0] + "."] < line.marks_sent["u1.end"]
    # ...so the line never ran dry from the intro's first frame to the read-back's last.
    assert line.dry == [], f"silences inside the turn: {line.dry}"
    assert speaker.gaps == 0 and first.gaps == second.gaps == 0


@pytest.mark.slow
async def test_cached_sentences_never_go_to_piper(piper: PiperSynthesizer, tmp_path: Path) -> None:
    line, synthesizer = Line(), Counting(piper)
    cache = PromptCache(lambda locale: synthesizer)
    assert cache.warm(["Let me read that back.", "Is that right?"]) == 2
    synthesizer.made.clear()
    speaker = _speaker(line, tmp_path, synthesizer, cache)
    running = asyncio.create_task(speaker.run())
    try:
        reply = speaker.say(BotSays("Let me read that back. Noise, at Oak Street. Is that right?"))
        await _played(reply)
    finally:
        running.cancel()
    assert synthesizer.texts == ["Noise, at Oak Street."]  # the slotted sentence only
    assert reply.heard == ["Let me read that back.", "Noise, at Oak Street.", "Is that right?"]
    intro, question = cache.cached("Let me read that back."), cache.cached("Is that right?")
    assert intro and question
    sent = line.audio()
    assert sent.startswith(intro)  # the cached audio itself, not a new synthesis
    assert sent.rstrip(b"\0").endswith(question.rstrip(b"\0"))
    assert len(sent) % FRAME_BYTES == 0


@pytest.mark.slow
async def test_a_barge_in_drops_what_was_made_ahead(
    piper: PiperSynthesizer, tmp_path: Path
) -> None:
    line, synthesizer = Line(), Counting(piper)
    speaker = _speaker(line, tmp_path, synthesizer)
    running = asyncio.create_task(speaker.run())
    later = "One more thing. And another thing. A third thing here. And a fourth one to end."
    try:
        first = speaker.say(BotSays(READ_BACK_INTRO))
        second = speaker.say(BotSays(later))
        deadline = time.monotonic() + 30
        while second not in speaker._audio and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        ahead = speaker._audio[second]  # the next utterance is being made while one plays
        while ahead.sentences_made < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert first.first_audio_at is not None and second.first_audio_at is None
        assert await speaker.interrupt()
        interrupted_at = time.monotonic()
        assert await asyncio.to_thread(ahead.finished.wait, 30)  # the worker gave up
    finally:
        running.cancel()
    assert ahead.stopped and speaker._audio == {} and speaker._making is None
    assert first.interrupted and second.interrupted and second.first_audio_at is None
    # Piper finishes at most the sentence it was on; nothing more is made after that.
    assert len([text for at, text in synthesizer.made if at > interrupted_at]) <= 1
    assert len([t for t in synthesizer.texts if t in later]) <= 2
    assert line.cleared_at is not None
    assert [at for at, _ in line.frames if at > line.cleared_at] == []


class _Slow:
    """A unit's edge case: a synthesizer that makes the second utterance late."""

    name, sample_rate = "slow", 8000

    def synthesize(self, text: str, *, due: float | None = None) -> Iterator[bytes]:
        if text.startswith("Late"):
            time.sleep(0.6)
        yield b"\x10\x00" * 1600  # 0.2 s


async def test_a_silence_inside_a_turn_is_counted(tmp_path: Path) -> None:
    def gaps() -> float:
        return REGISTRY.get_sample_value("dutyline_bot_audio_gaps_total") or 0.0

    before = gaps()
    line = Line()
    slow = _Slow()
    speaker = Speaker(
        line.send, CallRecorder(tmp_path / "c.wav"), lambda: slow, lambda t: b"", lambda u: None
    )
    line.speaker = speaker
    running = asyncio.create_task(speaker.run())
    try:
        first = speaker.say(BotSays("Early."))
        second = speaker.say(BotSays("Late."))
        await _played(first, second)
        alone = speaker.say(BotSays("Early again."))  # a turn of its own: no gap before it
        await _played(alone)
    finally:
        running.cancel()
    assert (first.gaps, second.gaps, alone.gaps) == (0, 1, 0)
    assert speaker.gaps == 1 and second.gap_seconds > 0.2
    assert gaps() == before + 1
