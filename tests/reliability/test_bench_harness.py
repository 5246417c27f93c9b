"""The benchmark harness itself: the gap meter on the simulated line and the verdicts
against the issue's targets (no models, no servers)."""

from __future__ import annotations

from typing import Any

from callbench.calls import MeteredLine, load_calls
from callbench.latency import summarize_level, verdicts
from callbench.simulator import FRAME
from dutyline.settings import ROOT


def _media(line: MeteredLine, frames: int) -> None:
    """What TwilioLine._receive does with a media message."""
    audio = b"\x10" * (FRAME * frames)
    line.messages_in.append({"event": "media", "media": {"payload": ""}})
    line._playback += audio
    line._received += len(audio)


def _mark(line: MeteredLine, name: str) -> None:
    line.messages_in.append({"event": "mark", "mark": {"name": name}})


def _ticks(line: MeteredLine, count: int) -> None:
    for _ in range(count):
        line._play()


def test_a_stall_inside_an_utterance_counts_as_a_gap() -> None:
    line = MeteredLine("http://127.0.0.1:1", public_url="http://127.0.0.1:1", token="t")
    _ticks(line, 5)  # waiting for the bot's first audio is latency, not a gap
    _media(line, 2)
    _mark(line, "u1.s1")
    _ticks(line, 2)
    _ticks(line, 3)  # the next sentence is late: the caller hears 60 ms of nothing
    _media(line, 1)
    _mark(line, "u1.end")
    _ticks(line, 4)  # after the final mark, silence is the end of the utterance
    assert (line.gap_frames, line.gap_events, line.longest_gap_frames) == (3, 1, 3)
    _media(line, 1)  # the next utterance starts clean
    _ticks(line, 1)
    _mark(line, "u2.end")
    _ticks(line, 3)
    assert line.gap_frames == 3


def test_a_clear_ends_the_utterance() -> None:
    line = MeteredLine("http://127.0.0.1:1", public_url="http://127.0.0.1:1", token="t")
    _media(line, 1)
    _ticks(line, 1)
    line.messages_in.append({"event": "clear"})
    line._playback.clear()
    _ticks(line, 5)
    assert line.gap_frames == 0


def _run(latencies: list[int], gaps: int = 0, ticket: bool = True) -> Any:
    from callbench.calls import CallRun

    run = CallRun(name="x", call_sid="CA1", voice="flite:rms", gap_frames=gaps, gap_events=gaps)
    run.turns = [
        {"speaker": "bot", "latency_ms": ms, "stage_ms": {"dialogue": 50}} for ms in latencies
    ]
    run.ticket_number = "1" if ticket else None
    return run


def test_verdicts_follow_the_issue_targets() -> None:
    one = summarize_level(1, [_run([600, 650, 700, 1300])], 10)
    eight = summarize_level(8, [_run([1000, 1400])] * 8, 10)
    twelve = summarize_level(12, [_run([900])] * 11 + [_run([900], gaps=2)], 10)
    found = {row["target"]: row["met"] for row in verdicts([one, eight, twelve])}
    assert found["p50 <= 700 ms, one call"] is True
    assert found["p95 <= 1200 ms, one call"] is False
    assert found["p95 <= 1500 ms, 8 calls"] is True
    assert [met for target, met in found.items() if target.startswith(">= 10")] == [False]
    assert verdicts([one])[-1]["met"] is None  # not measured is not "met"


def test_the_scripted_calls_load() -> None:
    calls = load_calls(ROOT / "data" / "sample_calls" / "calls.yaml")
    assert calls and all(c.says and c.kind and c.department for c in calls)


def test_calls_taken_at_capacity_are_counted_apart_from_the_admitted() -> None:
    """A full line takes a message without dialogue: its long wait for the goodbye is not a
    turn's latency, so the figures are the admitted calls' and the rest are counted."""
    admitted = _run([700, 800])
    admitted.outcome = "ticket_filed"
    full = _run([9000])
    full.outcome = "voicemail_at_capacity"
    level = summarize_level(20, [admitted, full], 10)
    assert (level["calls"], level["at_capacity"], level["tickets"]) == (2, 1, 2)
    assert level["max_ms"] == 800 and level["bot_turns"] == 2
    assert level["outcomes"] == {"ticket_filed": 1, "voicemail_at_capacity": 1}
