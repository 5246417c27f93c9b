"""The background workers on a real event loop: a filed ticket's SMS goes out
without waiting for the next poll; escalation and retention loops run; stop is clean."""

from __future__ import annotations

import asyncio

from dispatch.background import DispatchWorkers
from dispatch.contract import ComplaintReport
from tests.dispatch.test_filing import answered


async def test_workers_send_the_outbox_and_stop(service, sms) -> None:
    workers = DispatchWorkers(
        service, outbox_interval=60, escalation_interval=0.05, retention_interval=0.05
    )
    workers.start()
    try:
        assert workers.running
        await asyncio.sleep(0.2)  # the first rounds found nothing to do
        filed = await asyncio.to_thread(
            service.file_complaint,
            ComplaintReport(
                kind="noise", location="Elm Street", call_sid=answered(service, "CAbg")
            ),
        )
        # The filing woke the sender; the 60 s poll interval is not waited for.
        for _ in range(100):
            if len(sms.sent) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(sms.sent) == 2
        assert any(filed.number in body for _, body in sms.sent)
    finally:
        await workers.stop()
    assert not workers.running and service.outbox_wakeup is None


async def test_a_failing_step_does_not_kill_its_loop(service) -> None:
    calls = 0

    def broken(now=None):
        nonlocal calls
        calls += 1
        raise RuntimeError("database hiccup")

    service.run_escalations = broken  # type: ignore[method-assign]
    workers = DispatchWorkers(service, escalation_interval=0.01)
    workers.start()
    try:
        for _ in range(100):
            if calls >= 3:
                break
            await asyncio.sleep(0.02)
        assert calls >= 3 and workers.running
    finally:
        await workers.stop()
