"""POST /rasa/actions: Rasa's action-server protocol against the real DispatchService."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.contract import ComplaintReport
from dispatch.db import make_engine
from dispatch.service import DispatchService
from dutyline.settings import Settings
from nlu.actions import router
from nlu.project import prepare
from voice.call_control import LocalCallControl


@pytest.fixture(scope="module")
def domain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    build = prepare("en", tmp_path_factory.mktemp("rasa-en"), Settings(_env_file=None).data_dir)  # type: ignore[call-arg]
    return yaml.safe_load((build / "domain.yml").read_text())


@pytest.fixture
def dispatch(migrated_settings: Settings) -> DispatchService:
    return DispatchService(
        make_engine(migrated_settings.database_url), migrated_settings, sms=LocalCallControl(None)
    )


@pytest.fixture
def client(migrated_settings: Settings, dispatch: DispatchService) -> TestClient:
    app = FastAPI()
    app.state.services = SimpleNamespace(settings=migrated_settings, dispatch=dispatch)
    app.include_router(router)
    token = migrated_settings.action_token_value  # what Rasa's endpoints file carries
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def user(text: str, intent: str, confidence: float = 0.99) -> dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []}
    return {
        "event": "user",
        "text": text,
        "parse_data": parse,
        "metadata": {"call_sid": "CAtest1", "caller_number": "+15550001111"},
    }


def request(
    domain: dict[str, Any],
    action: str,
    *,
    said: list[tuple[str, str]],
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
    extra_events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    events = [{"event": "action", "name": "action_listen"}]
    for text, intent in said:
        events += [user(text, intent), {"event": "action", "name": "action_listen"}]
    events.pop()  # the latest message is being handled now
    events += extra_events or []
    return {
        "next_action": action,
        "sender_id": "CAtest1",
        "version": "3.6.21",
        "domain": domain,
        "tracker": {
            "sender_id": "CAtest1",
            "slots": slots or {},
            "latest_message": events[-1 - len(extra_events or [])]["parse_data"],
            "events": events,
            "active_loop": {"name": active_loop} if active_loop else {},
        },
    }


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def test_unknown_action_is_404(client: TestClient, domain: dict[str, Any]) -> None:
    body = request(domain, "action_make_coffee", said=[("hello", "greet")])
    response = client.post("/rasa/actions", json=body)
    assert response.status_code == 404
    assert response.json()["action_name"] == "action_make_coffee"


def test_a_request_without_a_tracker_is_rejected(client: TestClient) -> None:
    response = client.post("/rasa/actions", json={"next_action": "action_read_back"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "next_action and tracker are required",
        "action_name": "action_read_back",
    }


def test_the_whole_answer_is_the_location_normalized_and_read_back(
    client: TestClient, domain: dict[str, Any]
) -> None:
    answer = "um it's at two oh three lark street"
    body = request(
        domain,
        "validate_pothole_form",
        said=[("there's a big pothole", "pothole"), (answer, "give_location")],
        slots={"requested_slot": "location", "kind": "pothole"},
        active_loop="pothole_form",
        extra_events=[slot("location", "lark street")],  # what the model tagged, not all of it
    )
    answer_json = client.post("/rasa/actions", json=body).json()
    assert {
        "event": "slot",
        "name": "location",
        "value": "203 Lark Street",
        "timestamp": None,
    } in (answer_json["events"])
    # Read back as the city names it (or, before its places are imported, as said).
    assert answer_json["responses"] == [{"text": "Got it, 203 Lark Street."}]


def test_no_place_in_the_answer_asks_again(client: TestClient, domain: dict[str, Any]) -> None:
    body = request(
        domain,
        "validate_noise_form",
        said=[("loud music", "noise"), ("i don't know", "dont_know")],
        slots={"requested_slot": "location", "kind": "noise"},
        active_loop="noise_form",
        extra_events=[slot("location", "i don't know")],
    )
    answer = client.post("/rasa/actions", json=body).json()
    assert {"event": "slot", "name": "location", "value": None, "timestamp": None} in answer[
        "events"
    ]
    # The form asks again (action_ask_location), now for the exact place.
    body["next_action"] = "action_ask_location"
    body["tracker"]["slots"].update(
        {e["name"]: e["value"] for e in answer["events"] if e["event"] == "slot"}
    )
    [reply] = client.post("/rasa/actions", json=body).json()["responses"]
    assert "exact place" in reply["text"] and "street address" in reply["text"]
    assert reply["custom"] == {"expect": "place"}


def test_filing_tells_the_number_digit_by_digit(
    client: TestClient, domain: dict[str, Any], dispatch: DispatchService
) -> None:
    slots = {
        "kind": "streetlight_out",
        "location": "12 Main Street",
        "light_count": "3",
        "pole_number": "no",
    }
    body = request(
        domain,
        "action_file_ticket",
        said=[("the streetlights are out", "streetlight_out"), ("yes", "affirm")],
        slots=slots,
    )
    answer = client.post("/rasa/actions", json=body).json()
    number = answer["responses"][0]["custom"]["ticket_number"]
    assert ", ".join(number) in answer["responses"][0]["text"]
    view = dispatch.find_ticket(number)
    assert view is not None
    assert view.kind == "streetlight_out"
    assert view.location and "Main Street" in view.location
    # The report is forgotten after filing, so a second report starts clean.
    assert {"event": "slot", "name": "kind", "value": None, "timestamp": None} in answer["events"]


def test_a_failing_action_files_what_was_said_for_triage(
    client: TestClient, domain: dict[str, Any], dispatch: DispatchService
) -> None:
    # A read-back without a kind is a broken conversation: the action raises.
    body = request(
        domain,
        "action_read_back",
        said=[("there's a tree on the wires at twelve oak street", "fallen_tree")],
        slots={"location": "12 Oak Street"},
    )
    response = client.post("/rasa/actions", json=body)
    assert response.status_code == 200
    replies = response.json()["responses"]
    number = replies[0]["custom"]["ticket_number"]
    assert "something went wrong" in replies[0]["text"]
    assert replies[-1]["custom"] == {"end_call": True}
    detail = dispatch.get_ticket(number)
    assert detail is not None
    assert "tree on the wires" in (detail.model_dump_json())


def test_hang_up_mid_form_files_a_triage_ticket(
    client: TestClient, domain: dict[str, Any], dispatch: DispatchService
) -> None:
    body = request(
        domain,
        "action_hangup",
        said=[("there's water gushing out of the road", "water_leak"), ("/hangup", "hangup")],
        slots={
            "kind": "water_leak",
            "location": "corner of Elm and 2nd",
            "requested_slot": "flooding",
        },
        active_loop="water_leak_form",
    )
    answer = client.post("/rasa/actions", json=body).json()
    number = answer["responses"][0]["custom"]["ticket_number"]
    detail = dispatch.get_ticket(number)
    assert detail is not None
    assert "water gushing" in detail.model_dump_json()
    assert {"event": "active_loop", "name": None, "timestamp": None} in answer["events"]


def test_every_action_in_the_domain_is_served(client: TestClient, domain: dict[str, Any]) -> None:
    from nlu.actions.server import find_action
    from nlu.actions.turn import Turn

    turn = Turn("CA", {}, domain, dispatch=None, emergency_number="911")  # type: ignore[arg-type]
    missing = [a for a in domain["actions"] if find_action(a, turn) is None]
    assert missing == []


def test_prompts_of_every_kind_come_from_data(domain: dict[str, Any]) -> None:
    kinds = yaml.safe_load(
        (Path(Settings(_env_file=None).data_dir) / "complaint_kinds.yaml").read_text()
    )  # type: ignore[call-arg]
    for code, kind in kinds["kinds"].items():
        assert domain["forms"][f"{code}_form"]["required_slots"] == ["location", *kind["slots"]]
        for slot_name, spec in kind["slots"].items():
            assert (
                domain["responses"][f"utter_ask_{code}_form_{slot_name}"][0]["text"]
                == spec["question"]
            )


@pytest.fixture(scope="module")
def korean_domain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir = Settings(_env_file=None).data_dir  # type: ignore[call-arg]
    build = prepare("ko", tmp_path_factory.mktemp("rasa-ko"), data_dir)
    return yaml.safe_load((build / "domain.yml").read_text())


@pytest.mark.parametrize(
    ("locale", "kind", "said", "cleared"),
    [
        ("en", "illegal_parking", "the vehicle is wrong", "vehicle"),
        ("en", "illegal_parking", "the address", "location"),
        ("en", "fallen_tree", "there are no wires down", "wires_down"),
        ("ko", "illegal_parking", "위치요", "location"),
        ("ko", "illegal_parking", "차량이 틀렸어요", "vehicle"),
    ],
)
def test_a_correction_clears_the_part_the_caller_names(
    client: TestClient,
    domain: dict[str, Any],
    korean_domain: dict[str, Any],
    locale: str,
    kind: str,
    said: str,
    cleared: str,
) -> None:
    body = request(
        korean_domain if locale == "ko" else domain,
        "action_apply_correction",
        said=[("no", "deny"), (said, "give_location")],
        slots={"kind": kind, "location": "12 Oak Street", "correction": said},
    )
    answer = client.post("/rasa/actions", json=body).json()
    assert {"event": "slot", "name": cleared, "value": None, "timestamp": None} in answer["events"]
    assert answer["events"][-1] == {"event": "followup", "name": f"{kind}_form", "timestamp": None}


def test_slots_cleared_for_a_correction_are_not_validated(
    client: TestClient, domain: dict[str, Any]
) -> None:
    body = request(
        domain,
        "validate_pothole_form",
        said=[("no", "deny"), ("everything is wrong", "deny")],
        slots={"kind": "pothole"},
        active_loop="pothole_form",
        extra_events=[slot("location", None), slot("hazard", None)],
    )
    assert client.post("/rasa/actions", json=body).json() == {"events": [], "responses": []}


# --- what the call came to: the outcome rides on the reply's control -----------------


def test_a_status_check_says_so(
    client: TestClient, domain: dict[str, Any], dispatch: DispatchService
) -> None:
    filed = dispatch.file_complaint(
        ComplaintReport(kind="pothole", location="12 Main Street", channel="api")
    )
    body = request(
        domain,
        "action_ticket_status",
        said=[("check my ticket", "check_status"), (filed.number, "give_location")],
        slots={"ticket_number": filed.number},
    )
    [reply] = client.post("/rasa/actions", json=body).json()["responses"]
    assert reply["custom"] == {"outcome": "status_check", "expect": "more"}
    # A number that is no ticket is not a status check: the caller got nothing.
    body["tracker"]["slots"] = {"ticket_number": "999999999"}
    [reply] = client.post("/rasa/actions", json=body).json()["responses"]
    assert reply["custom"] == {"expect": "more"}  # "...Is there anything else?"


def test_a_voicemail_says_so(client: TestClient, domain: dict[str, Any]) -> None:
    body = request(
        domain,
        "action_file_voicemail",
        said=[("a person please", "talk_to_human"), ("the bins were not collected", "garbage")],
        slots={"voicemail": "the bins on elm street were not collected"},
    )
    [reply] = client.post("/rasa/actions", json=body).json()["responses"]
    assert reply["custom"]["outcome"] == "voicemail" and reply["custom"]["end_call"] is True
    assert reply["custom"]["ticket_number"]


def test_an_emergency_referral_says_so(client: TestClient, domain: dict[str, Any]) -> None:
    said = [("my neighbour's house is on fire", "emergency"), ("yes", "affirm")]
    transfer = client.post(
        "/rasa/actions", json=request(domain, "action_emergency_transfer", said=said)
    ).json()["responses"]
    assert transfer[-1]["custom"] == {"transfer_to": "911", "outcome": "emergency_referred"}
    said[-1] = ("no", "deny")
    declined = client.post(
        "/rasa/actions", json=request(domain, "action_emergency_declined", said=said)
    ).json()["responses"]
    assert declined[0]["custom"] == {"outcome": "emergency_referred"}
