"""Which calls `dutyline bench accuracy` places in which voice: every call in every voice by
default; with --voices-take-turns each call once, the voices in turn (the whole fifty place
calls of data/sample_calls/riverton_places.yaml in three voices, as docs/benchmarks.md ran
them). The calls themselves are run by tests/voice/test_place_calls.py; here only the plan."""

from __future__ import annotations

import asyncio
from typing import Any

from callbench import task_success
from dutyline.settings import ROOT

CALLS = ROOT / "data" / "sample_calls" / "riverton_places.yaml"
VOICES = ("flite:slt", "espeak:en-us", "flite:rms")


def _planned(monkeypatch, **options: Any) -> list[tuple[str, str]]:
    planned: list[tuple[str, str]] = []

    async def run_scripts(settings, *, jobs, **_: Any) -> list[dict[str, Any]]:
        planned.extend((call.name, voice) for call, voice in jobs)
        return []

    monkeypatch.setattr(task_success, "run_scripts", run_scripts)
    plan = task_success.scripted_calls(
        None, app_url="", public_url="", token="", calls_file=CALLS, voices=VOICES, parallel=3,
        **options,
    )  # fmt: skip
    asyncio.run(plan)
    return planned


def test_every_call_in_every_voice_by_default(monkeypatch) -> None:
    planned = _planned(monkeypatch, limit=5)
    assert len(planned) == 15
    assert {voice for _, voice in planned} == set(VOICES)
    assert len(set(planned)) == 15


def test_voices_take_turns_runs_each_call_once(monkeypatch) -> None:
    planned = _planned(monkeypatch, voices_take_turns=True)
    names = [name for name, _ in planned]
    assert len(names) == len(set(names)) >= 40  # all the calls, once each
    assert [voice for _, voice in planned[:4]] == [*VOICES, VOICES[0]]
    counts = [sum(v == voice for _, v in planned) for voice in VOICES]
    assert max(counts) - min(counts) <= 1
