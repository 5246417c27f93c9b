"""The dialogue's own time in a turn: Rasa checks every answer of our action server against
its response schema with `jsonschema.validate`, which also re-checks the schema itself each
time. With jsonschema 4.17 that took 63 ms per custom action, four of them in a complaint
turn; Rasa's environment pins 3.2 (nlu/requirements-rasa.txt), 4 ms. Figures printed every
run; the checks that answers are still validated, and the pin, are asserted."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dutyline.rasa_env import RASA_VENV, REQUIREMENTS, rasa_environment

pytestmark = pytest.mark.slow

CHECK = """
import json, time
from jsonschema import ValidationError, validate, __version__
from rasa.core.actions.action import RemoteAction
spec = RemoteAction.action_response_format_spec()
good = {"events": [{"event": "slot", "name": "location", "value": "Lark Street"}],
        "responses": [{"response": "utter_ask_location"}]}
started = time.perf_counter()
for _ in range(20):
    validate(good, spec)
ms = (time.perf_counter() - started) / 20 * 1000
try:
    validate({"events": "not a list"}, spec)
    rejected = False
except ValidationError:
    rejected = True
print(json.dumps({"version": __version__, "ms": round(ms, 2), "bad_rejected": rejected}))
"""


def test_rasa_checks_each_action_answer_with_the_pinned_jsonschema(
    record_figures: Callable[[str, object], None],
) -> None:
    result = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", CHECK],
        capture_output=True, text=True, env=rasa_environment(), check=True, timeout=300,
    )  # fmt: skip
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    record_figures("rasa: one action answer checked (ms, jsonschema)", measured)
    pinned = next(
        line.split("==")[1].strip()
        for line in REQUIREMENTS.read_text().splitlines()
        if line.startswith("jsonschema==")
    )
    assert measured["version"] == pinned == "3.2.0"
    assert measured["bad_rejected"]  # the answers are still checked, only faster


async def test_a_complaint_turns_dialogue_time(
    stack: Any, record_figures: Callable[[str, object], None]
) -> None:
    """Rasa's whole answer to an opening complaint (the form starts: four custom actions)."""
    times: list[float] = []
    async with httpx.AsyncClient(base_url=stack.rasa_url, timeout=30) as rasa:
        for _ in range(10):
            sender = f"timing-{uuid.uuid4().hex[:8]}"
            hook = "/webhooks/rest/webhook"
            await rasa.post(hook, json={"sender": sender, "message": "/greet"})
            started = time.perf_counter()
            answer = await rasa.post(
                hook, json={"sender": sender, "message": "there is a tree down across the road"}
            )
            times.append((time.perf_counter() - started) * 1000)
            texts = " ".join(m.get("text", "") for m in answer.json())
            assert "Where is it?" in texts, texts
    record_figures(
        "rasa: an opening complaint's dialogue turn (ms)",
        {"p50": round(statistics.median(times), 1), "max": round(max(times), 1), "turns": 10},
    )
