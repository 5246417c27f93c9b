"""Background workers on the app's event loop: the outbox sender, the escalation
scheduler and the daily retention purge. The work itself is synchronous service
methods run in a thread; every due time lives in the database, so a restart
picks up where the last process stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from dispatch.service import DispatchService

log = logging.getLogger("dutyline.dispatch.background")

OUTBOX_INTERVAL_SECONDS = 5.0
ESCALATION_INTERVAL_SECONDS = 30.0
RETENTION_INTERVAL_SECONDS = 24 * 3600.0
SPOOL_INTERVAL_SECONDS = 10.0
LOST_CALLS_SECONDS = 20.0  # calls whose replica died: see dispatch/lost_calls.py
WEBHOOK_INTERVAL_SECONDS = 5.0
HANDOVER_INTERVAL_SECONDS = 60.0  # a shift change's hand-over goes out within a minute


class DispatchWorkers:
    def __init__(
        self,
        service: DispatchService,
        *,
        outbox_interval: float = OUTBOX_INTERVAL_SECONDS,
        escalation_interval: float = ESCALATION_INTERVAL_SECONDS,
        retention_interval: float = RETENTION_INTERVAL_SECONDS,
    ) -> None:
        self.service = service
        self.outbox_interval = outbox_interval
        self.escalation_interval = escalation_interval
        self.retention_interval = retention_interval
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox_event: asyncio.Event | None = None

    def start(self) -> None:
        """Start the loops on the running event loop (call from the app's lifespan)."""
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        self._outbox_event = event
        # Filing happens in worker threads: wake the sender thread-safely.
        # A filing also wakes the webhook sender (other changes wait for its round).
        hooks = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(event.set)
            loop.call_soon_threadsafe(hooks.set)

        self.service.outbox_wakeup = wake
        self._tasks = [
            asyncio.create_task(
                self._loop("webhooks", self._send_webhooks, WEBHOOK_INTERVAL_SECONDS, hooks)
            ),
            asyncio.create_task(self._loop("outbox", self._deliver, self.outbox_interval, event)),
            asyncio.create_task(self._loop("escalation", self._escalate, self.escalation_interval)),
            asyncio.create_task(self._loop("retention", self._purge, self.retention_interval)),
            asyncio.create_task(self._loop("spool", self._refile, SPOOL_INTERVAL_SECONDS)),
            asyncio.create_task(self._loop("lost calls", self._lost_calls, LOST_CALLS_SECONDS)),
            asyncio.create_task(self._loop("handover", self._hand_over, HANDOVER_INTERVAL_SECONDS)),
        ]

    async def stop(self) -> None:
        self.service.outbox_wakeup = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    async def _loop(
        self,
        name: str,
        step: Callable[[], Awaitable[object]],
        interval: float,
        wake: asyncio.Event | None = None,
    ) -> None:
        while True:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the loop alive; the next round retries
                log.exception("%s worker step failed", name)
            if wake is None:
                await asyncio.sleep(interval)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=interval)
            wake.clear()

    async def _deliver(self) -> object:
        return await asyncio.to_thread(self.service.deliver_outbox)

    async def _send_webhooks(self) -> object:
        return await asyncio.to_thread(self.service.deliver_webhooks)

    async def _escalate(self) -> object:
        return await asyncio.to_thread(self.service.run_escalations)

    async def _purge(self) -> object:
        return await asyncio.to_thread(self.service.purge_expired)

    async def _hand_over(self) -> object:
        return await asyncio.to_thread(self.service.send_handovers)

    async def _lost_calls(self) -> object:
        return await asyncio.to_thread(self.service.file_lost_calls)

    async def _refile(self) -> object:
        if not self.service.spool.pending():
            return 0
        return await asyncio.to_thread(self.service.refile_spooled)
