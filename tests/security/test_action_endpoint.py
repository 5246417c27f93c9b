"""Issue 10, item 1: only the dialogue server reaches POST /rasa/actions.

An outsider's forged tracker (the attack in the issue: `action_file_ticket` with the slots of
a noise complaint) is refused before anything is read, filed or sent, and the real Rasa
server, whose endpoints file carries the shared secret, still runs the whole dialogue.
"""

from __future__ import annotations

import logging
import stat
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import ValidationError

from dutyline import rasa_env
from dutyline.settings import Settings
from nlu.client import RasaDialogue
from tests.conftest import make_settings
from tests.nlu.test_conversations import Call, report

FORGED_STREET = "1 Forged Street"
FORGED_CALLER = "+15557770123"


def forged_call(sid: str) -> dict[str, Any]:
    """What the issue's attacker posted: a made-up tracker ready to file a ticket."""
    slots = {"kind": "noise", "location": FORGED_STREET, "source": "party", "ongoing": "yes"}
    user = {
        "event": "user",
        "text": "yes",
        "parse_data": {"text": "yes", "intent": {"name": "affirm", "confidence": 1.0}},
        "metadata": {"call_sid": sid, "caller_number": FORGED_CALLER},
    }
    return {
        "next_action": "action_file_ticket",
        "sender_id": sid,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": sid,
            "slots": slots,
            "latest_message": user["parse_data"],
            "events": [user],
            "active_loop": {},
        },
    }


def _nothing_happened(stack: Any, sid: str, tickets_before: int, sent_before: int) -> None:
    dispatch = stack.services.dispatch
    assert dispatch.count_tickets() == tickets_before
    assert dispatch.ticket_for_call(sid) is None
    assert dispatch.get_call(sid) is None  # not even a placeholder call record
    assert len(stack.services.call_control.sent) == sent_before  # no SMS, no call control


@pytest.mark.slow
@pytest.mark.parametrize(
    "headers, query",
    [
        ({}, ""),  # the anonymous POST
        ({"Authorization": "Bearer not-the-token"}, ""),
        ({"Authorization": "Basic " + "x" * 20}, ""),
        ({}, "?token=not-the-token"),  # Rasa's query-string token is not accepted either
    ],
    ids=["anonymous", "wrong-token", "wrong-scheme", "query-token"],
)
def test_forged_action_calls_are_refused_and_change_nothing(
    stack: Any, caplog: pytest.LogCaptureFixture, headers: dict[str, str], query: str
) -> None:
    caplog.set_level(logging.DEBUG)
    sid = "CAforged" + uuid.uuid4().hex
    tickets, sent = stack.services.dispatch.count_tickets(), len(stack.services.call_control.sent)
    response = httpx.post(
        f"{stack.app_url}/rasa/actions{query}", json=forged_call(sid), headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "events" not in response.json()
    _nothing_happened(stack, sid, tickets, sent)
    refused = [r for r in caplog.records if "refused POST /rasa/actions" in r.getMessage()]
    assert len(refused) == 1
    # The server's records (the test's own HTTP client logs the URL it called).
    logged = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    for secret in (FORGED_STREET, FORGED_CALLER, sid, "not-the-token"):
        assert secret not in logged  # one line, without the body or the presented token


@pytest.mark.slow
def test_a_forged_call_with_the_real_token_would_have_filed(stack: Any) -> None:
    """The control: the same request with the secret is what Rasa sends, and it files.
    Without it, the refusals above could be a broken endpoint rather than a locked one."""
    sid = "CAcontrol" + uuid.uuid4().hex
    token = stack.settings.action_token_value
    response = httpx.post(
        f"{stack.app_url}/rasa/actions",
        json=forged_call(sid),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert stack.services.dispatch.ticket_for_call(sid) is not None


@pytest.mark.slow
async def test_the_real_dialogue_still_runs_its_actions(stack: Any) -> None:
    """Rasa reads the endpoints file start_rasa wrote and sends the header: a whole report,
    validated and filed by the app's actions, goes through."""
    kinds = yaml.safe_load((stack.settings.data_dir / "complaint_kinds.yaml").read_text())
    questions = {
        spec["question"]: (code, slot)
        for code, kind in kinds["kinds"].items()
        for slot, spec in kind["slots"].items()
    }
    dialogue = RasaDialogue(stack.rasa_url, timeout=30)
    try:
        call = Call(dialogue)
        number, _ = await report(call, questions, "dead_animal")
    finally:
        await dialogue.aclose()
    ticket = stack.services.dispatch.get_ticket(number)
    assert ticket is not None and ticket.kind == "dead_animal"


def test_endpoints_file_carries_the_token_as_a_private_header(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, port=8123)
    path = rasa_env.write_endpoints(
        tmp_path / "endpoints.yml", settings.action_endpoint, settings.action_token_value
    )
    written = yaml.safe_load(path.read_text())["action_endpoint"]
    assert written == {
        "url": "http://127.0.0.1:8123/rasa/actions",
        "headers": {"Authorization": f"Bearer {settings.action_token_value}"},
    }
    assert "token" not in written  # never the query-string token: it lands in access logs
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_deployed_rasa_writes_the_header_too() -> None:
    entrypoint = (rasa_env.ROOT / "deploy" / "rasa-entrypoint.sh").read_text()
    assert 'Authorization: "Bearer ${DUTYLINE_ACTION_TOKEN}"' in entrypoint
    assert "${DUTYLINE_ACTION_TOKEN:?" in entrypoint  # refuses to start without it
    compose = yaml.safe_load((rasa_env.ROOT / "docker-compose.yml").read_text())
    assert "DUTYLINE_ACTION_TOKEN" in compose["services"]["rasa"]["environment"]


def test_token_is_derived_outside_production_and_required_in_it(tmp_path: Path) -> None:
    dev = make_settings(tmp_path)
    assert len(dev.action_token_value) >= 32
    assert dev.action_token_value == make_settings(tmp_path).action_token_value  # app and Rasa
    other_key = make_settings(tmp_path, secret_key="another-secret")
    assert other_key.action_token_value != dev.action_token_value
    assert make_settings(tmp_path, action_token="chosen" * 5).action_token_value == "chosen" * 5
    production = {
        "environment": "production",
        "secret_key": "a-real-secret-key-for-this-test",
        "public_url": "https://line.example.gov",
    }
    for token in (None, "", "short"):
        with pytest.raises(ValidationError, match="DUTYLINE_ACTION_TOKEN"):
            Settings(_env_file=None, **production, action_token=token)  # type: ignore[call-arg]
    ok = Settings(_env_file=None, **production, action_token="t" * 32)  # type: ignore[call-arg]
    assert ok.action_token_value == "t" * 32
