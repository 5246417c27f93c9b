"""`dutyline bench frames` runs for real: an app process of its own, two Twilio-format calls
sending 20 ms frames in real time, the process's CPU read. Figures are printed by the
benchmark, not asserted here: only that they are produced."""

from __future__ import annotations

import pytest

from callbench import frame_cost

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_two_idle_calls_are_measured_and_printed() -> None:
    result = frame_cost.run(calls=2, seconds=5, modes=("idle",))
    (level,) = result["levels"]
    assert level["mode"] == "idle" and level["calls"] == 2
    assert level["calls_closed_early"] == 0  # both callers stayed connected throughout
    assert level["app_percent"] > 0  # the app process did work for the calls
    assert isinstance(level["per_call_percent"], float)
    assert set(result["micro"]) == {"silence_us_per_frame", "speech_us_per_frame"}
    lines: list[str] = []
    frame_cost.print_result(result, lines.append)
    assert any("target: an idle call <= 1.5% of one core" in line for line in lines)
