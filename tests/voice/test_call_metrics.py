"""The issue's "curl /metrics after one call": a whole call through the real app, models and
Rasa files a ticket, and /metrics shows it live and then ended, by outcome, with its
turn latency and stages, the recognizer's confidence and the ticket by kind and department.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from callbench.simulator import Turn, simulate_call

pytestmark = pytest.mark.slow

SAYS = [
    "A truck is blocking my driveway.",
    "Twelve Oak Street.",
    "A white pickup truck.",
    "My driveway.",
    "Yes, that's right.",
    "No, that's all. Thank you.",
]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(values: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str):
    wanted = set(labels.items())
    return sum(v for (n, got), v in values.items() if n == name and wanted <= got)


async def test_metrics_after_one_call(stack: Any) -> None:
    settings = stack.settings
    async with httpx.AsyncClient(base_url=stack.app_url, timeout=30) as http:
        assert (await http.get("/livez")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["prompts"] == "ok"
        before = samples((await http.get("/metrics")).text)
        call = asyncio.create_task(
            simulate_call(
                stack.app_url,
                [Turn("say", text) for text in SAYS],
                public_url=settings.public_url,
                token=settings.signing_token,
                caller_number="+15555550188",
            )
        )
        most_active = 0.0
        while not call.done():  # scrape while the call is on, as Prometheus would
            during = samples((await http.get("/metrics")).text)
            most_active = max(most_active, total(during, "dutyline_active_calls"))
            await asyncio.sleep(0.5)
        result = await call
        assert result.outcome == "ticket_filed", result.turns
        dispatch = stack.services.dispatch
        ticket = await asyncio.to_thread(dispatch.find_ticket, result.ticket_number or "")
        for _ in range(100):  # the call's record closes just after the line does
            after = samples((await http.get("/metrics")).text)
            if total(after, "dutyline_calls_ended_total") > total(
                before, "dutyline_calls_ended_total"
            ):
                break
            await asyncio.sleep(0.2)
        text = (await http.get("/metrics")).text

    print(text)
    after = samples(text)

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert most_active >= 1
    assert total(after, "dutyline_active_calls") == total(before, "dutyline_active_calls")
    assert grew("dutyline_calls_ended_total", outcome="ticket_filed") == 1
    bot_turns = len(result.latencies_ms)
    assert bot_turns >= len(SAYS)
    assert grew("dutyline_turn_latency_seconds_count") == bot_turns
    assert grew("dutyline_turn_latency_seconds_sum") > 0
    for stage in ("end_of_turn", "recognition", "dialogue", "synthesis"):
        assert 0 < grew("dutyline_turn_stage_seconds_count", stage=stage) <= bot_turns, stage
    heard = [t for t in result.turns if t["asr_confidence"] is not None]  # caller turns
    assert heard and grew("dutyline_recognition_confidence_count") == len(heard)
    assert ticket is not None and ticket.kind == "illegal_parking"
    department = stack.services.dispatch.kinds["illegal_parking"].department
    kind = {"kind": "illegal_parking", "department": department, "channel": "phone"}
    assert grew("dutyline_tickets_filed_total", **kind) == 1
    assert grew("dutyline_inbound_lag_seconds_count") > 0
    # Counted in the database at the scrape (the worker may have sent the texts already).
    backlog = [labels for name, labels in after if name == "dutyline_outbox_backlog"]
    assert {dict(labels)["channel"] for labels in backlog} == {"sms", "email", "webhook"}
