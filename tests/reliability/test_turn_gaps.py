"""The line's gap meter (callbench/calls.py) counts a silence between two utterances of one
bot turn, and not the pause before an answer to the caller or a later turn of its own."""

from __future__ import annotations

from callbench.calls import MeteredLine
from callbench.simulator import FRAME


def _line() -> MeteredLine:
    return MeteredLine("http://127.0.0.1:1", public_url="http://127.0.0.1:1", token="t")


def _utterance(line: MeteredLine, name: str, frames: int = 2) -> None:
    """What TwilioLine._receive does with an utterance's media, then its final mark."""
    line.messages_in.append({"event": "media", "media": {"payload": ""}})
    line._playback += b"\x10" * (FRAME * frames)
    line._received += FRAME * frames
    line.messages_in.append({"event": "mark", "mark": {"name": f"{name}.end"}})


def _ticks(line: MeteredLine, count: int) -> None:
    for _ in range(count):
        line._play()


def test_a_silence_between_two_messages_of_one_turn_is_a_gap() -> None:
    line = _line()
    _utterance(line, "u1")  # "Let me read that back."
    _ticks(line, 2 + 40)  # played, then 800 ms of nothing
    _utterance(line, "u2")  # the read-back, late
    _ticks(line, 3)
    assert (line.between_gap_events, line.between_gap_frames) == (1, 40)
    assert line.longest_between_gap_frames == 40
    assert line.gap_frames == 0  # inside each utterance all was well


def test_a_caller_who_took_the_silence_for_their_turn_still_counts() -> None:
    line = _line()
    _utterance(line, "u1")
    _ticks(line, 2 + 20)
    line.speak(b"\x00" * FRAME * 30)  # "No, that's all" into the silence
    line._outgoing.popleft()  # the clock sends one caller frame a tick
    _ticks(line, 5)
    _utterance(line, "u2")  # the bot goes on over the caller
    _ticks(line, 1)
    assert line.between_gap_events == 1 and line.between_gap_frames == 25


def test_an_answer_to_the_caller_or_a_later_turn_is_not_a_gap() -> None:
    line = _line()
    _utterance(line, "u1")
    _ticks(line, 2 + 5)
    line.speak(b"\x00" * FRAME * 2)  # the caller answers; the bot replies after
    for _ in range(2):
        line._outgoing.popleft()
        _ticks(line, 1)
    _ticks(line, 30)
    _utterance(line, "u2")
    _ticks(line, 2 + 200)  # four seconds of silence: "are you still there?" is a new turn
    _utterance(line, "u3")
    _ticks(line, 2)
    line.messages_in.append({"event": "clear"})  # a barge-in, then the reply to it
    line._playback.clear()
    _ticks(line, 10)
    _utterance(line, "u4")
    _ticks(line, 2)
    assert line.between_gap_events == 0 and line.between_gap_frames == 0
