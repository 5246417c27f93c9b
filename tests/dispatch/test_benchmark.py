"""How long filing a complaint takes (the caller waits for the number): median of
100 on each database. Prints figures; asserts only that all 100 were filed.

    .venv/bin/python -m pytest tests/dispatch/test_benchmark.py -q -s
"""

from __future__ import annotations

import statistics
import time

from dispatch.contract import CallStart, ComplaintReport

RUNS = 100


def test_file_complaint_time(service, clock, migrated_url) -> None:
    seconds: list[float] = []
    numbers = set()
    for i in range(RUNS):
        sid = f"CA{i:032d}"
        service.open_call(CallStart(call_sid=sid, caller_number="+15185550987", started_at=clock()))
        report = ComplaintReport(
            kind="streetlight_out" if i % 2 else "noise",
            location=f"{i + 1} Main Street",  # no two alike: duplicates are checked, not found
            details={"light_count": "two", "pole_number": "no"},
            caller_number="+15185550987",
            call_sid=sid,
        )
        started = time.perf_counter()
        numbers.add(service.file_complaint(report).number)
        seconds.append(time.perf_counter() - started)
        clock.advance(seconds=20)
    assert len(numbers) == RUNS
    ordered = sorted(seconds)
    backend = migrated_url.split(":", 1)[0]
    print(
        f"\nfile_complaint on {backend}: median {statistics.median(seconds) * 1000:.1f} ms, "
        f"p95 {ordered[int(0.95 * RUNS) - 1] * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms "
        f"({RUNS} filings)"
    )
