"""The place steps of the dialogue (nlu/actions/place.py) and what a caller adds after
filing (after_filing.py), against a small fake city: its edge cases, one action call at
a time. The same steps against the real geocoder and Rasa: test_conversations.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.contract import (
    ComplaintReport,
    FiledTicket,
    PlaceCandidate,
    PlaceKind,
    PlaceMatch,
    PlaceVocabulary,
)
from dutyline.settings import Settings
from nlu.actions import after_filing as after_filing_module
from nlu.actions import router
from tests.nlu.test_actions import domain, korean_domain, request, slot  # noqa: F401


def place(label: str, kind: PlaceKind, confidence: float, **extra: Any) -> PlaceCandidate:
    street = extra.pop("street", " ".join(label.split()[1:]) if label[0].isdigit() else label)
    return PlaceCandidate(
        label=label,
        kind=kind,
        street=street,
        lat=42.65,
        long=-73.75,
        confidence=confidence,
        **extra,
    )


LARK = place("Lark Street", PlaceKind.STREET, 0.95)
LARK_12 = place("12 Lark Street", PlaceKind.ADDRESS, 0.97, number="12")
LARK_42 = place("42 Lark Street", PlaceKind.ADDRESS, 0.9, number="42")
WAY = place("42 Linden Way", PlaceKind.ADDRESS, 0.72, number="42")
TERRACE = place("42 Linden Terrace", PlaceKind.ADDRESS, 0.7, number="42")
RIDGE_ROAD = place("Ridge Road", PlaceKind.STREET, 0.7)
RIDGE_PLACE = place("Ridge Place", PlaceKind.STREET, 0.69)


class FakeCity:
    """The Dispatch protocol's place and filing parts over a few places of a city."""

    PLACES: ClassVar[dict[str, list[PlaceCandidate]]] = {
        "42 clark street": [LARK_42],
        "42 lark street": [LARK_42],
        "12 lark street": [LARK_12],
        "lark": [LARK],
        "lark street": [LARK],
        "42 linden": [WAY, TERRACE],
        "42 linden terrace": [TERRACE],
        "ridge": [RIDGE_ROAD, RIDGE_PLACE],
    }

    def __init__(self, streets: list[str] | None = None) -> None:
        self.asked: list[str] = []
        self.filed: list[ComplaintReport] = []
        self.notes: list[tuple[str, str]] = []
        self.streets = (
            ["Lark Street", "Linden Way", "Linden Terrace"] if streets is None else streets
        )

    def find_place(self, said: str) -> PlaceMatch:
        self.asked.append(said)
        return PlaceMatch(said=said, candidates=self.PLACES.get(said.lower(), []))

    def place_vocabulary(self) -> PlaceVocabulary:
        return PlaceVocabulary(streets=self.streets)

    def file_complaint(self, report: ComplaintReport) -> FiledTicket:
        self.filed.append(report)
        return FiledTicket(
            number=f"26120100{len(self.filed):02d}",
            kind=report.kind,
            kind_name=report.kind or "Needs triage",
            department_code="roads",
            department_name="Roads",
            status="new",
        )

    def add_caller_note(self, call_sid: str, text: str) -> str | None:
        self.notes.append((call_sid, text))
        return f"26120100{len(self.filed):02d}" if self.filed else None


@pytest.fixture
def city() -> FakeCity:
    return FakeCity()


@pytest.fixture
def client(city: FakeCity) -> TestClient:
    settings = Settings(_env_file=None, environment="test")  # type: ignore[call-arg]
    app = FastAPI()
    app.state.services = SimpleNamespace(settings=settings, dispatch=city)
    app.include_router(router)
    return TestClient(app, headers={"Authorization": f"Bearer {settings.action_token_value}"})


def events_of(answer: dict[str, Any]) -> dict[str, Any]:
    """The slots an answer sets, the last value of each."""
    return {e["name"]: e["value"] for e in answer["events"] if e["event"] == "slot"}


def answer_place(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    said: str,
    slots: dict[str, Any] | None = None,
    intent: str = "give_location",
) -> dict[str, Any]:
    """The caller's answer to the form's place question, validated."""
    body = request(
        domain,
        "validate_pothole_form",
        said=[("there's a pothole", "pothole"), (said, intent)],
        slots={"requested_slot": "location", "kind": "pothole", **(slots or {})},
        active_loop="pothole_form",
        extra_events=[slot("location", said)],
    )
    return client.post("/rasa/actions", json=body).json()


def question(client: TestClient, domain: dict[str, Any], slots: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """What the form asks for the place now (action_ask_location)."""
    body = request(
        domain,
        "action_ask_location",
        said=[("there's a pothole", "pothole")],
        slots={"requested_slot": "location", "kind": "pothole", **slots},
        active_loop="pothole_form",
    )
    [reply] = client.post("/rasa/actions", json=body).json()["responses"]
    return reply


def test_a_confident_match_is_read_back_as_the_city_names_it(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
) -> None:
    answer = answer_place(client, domain, "um forty two clark street")
    slots = events_of(answer)
    assert slots["location"] == "42 Clark Street"  # the caller's words, as every ticket keeps
    assert slots["place"]["label"] == "42 Lark Street" and slots["place_verified"] is True
    assert answer["responses"] == [{"text": "Got it, 42 Lark Street."}]


def test_the_first_question_expects_a_place(client: TestClient, domain: dict[str, Any]) -> None:  # noqa: F811
    reply = question(client, domain, {})
    assert reply["text"].startswith("Where is it?") and reply["custom"] == {"expect": "place"}


def test_close_candidates_are_asked_about_and_the_answer_picks_one(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
) -> None:
    answer = answer_place(client, domain, "forty two linden")
    slots = events_of(answer)
    assert slots["location"] is None and slots["place_step"] == "which"
    assert answer["responses"] == []  # the question is the form's: action_ask_location
    reply = question(client, domain, slots)
    assert reply == {
        "text": "Did you mean 42 Linden Way or 42 Linden Terrace?",
        "custom": {"expect": "place"},
    }
    for said, chosen in [
        ("the terrace", "42 Linden Terrace"),
        ("linden way please", "42 Linden Way"),
        ("the second one", "42 Linden Terrace"),
        ("the first", "42 Linden Way"),
    ]:
        picked = events_of(answer_place(client, domain, said, slots))
        assert picked["place"]["label"] == chosen and picked["place_verified"] is True, said
        assert picked["location"] == "42 Linden"  # what the caller said of the place


@pytest.mark.parametrize("said", ["here", "right here", "on my street", "outside", "i don't know"])
def test_pointing_words_are_never_a_place(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
    said: str,
) -> None:
    answer = answer_place(client, domain, said, intent="dont_know" if "know" in said else "affirm")
    slots = events_of(answer)
    assert slots["location"] is None and slots["place_misses"] == 1
    assert city.asked == []  # not even looked up: "here" must not become "Heron Way"
    reply = question(client, domain, slots)
    assert reply["text"].startswith("I need the exact place")


def test_two_misses_ask_for_spelling_then_the_house_number_on_the_keypad(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
) -> None:
    first = events_of(answer_place(client, domain, "zork street"))
    assert first["place_misses"] == 1 and first["place_said"] == "Zork Street"
    second = events_of(answer_place(client, domain, "zork street", first))
    assert second["place_step"] == "spell"
    slots = {**first, **second}
    assert question(client, domain, slots) == {
        "text": "I still can't find that street. Please spell the street name, letter by letter,"
        " or key its letters on your phone's keypad, then press the hash key.",
        "custom": {"expect": "spelling"},
    }
    spelled = events_of(answer_place(client, domain, "L. A. R. K.", slots))
    assert spelled["place_step"] == "number" and spelled["location"] is None
    slots.update(spelled)
    reply = question(client, domain, slots)
    assert reply["text"].startswith("Thanks, Lark Street. Please key in the house number")
    assert reply["custom"] == {"expect": "digits"}
    body = request(
        domain,
        "action_keypad",
        said=[("there's a pothole", "pothole"), ('/keypad{"digits": "42"}', "keypad")],
        slots={"requested_slot": "location", "kind": "pothole", **slots},
        active_loop="pothole_form",
    )
    body["tracker"]["latest_message"]["entities"] = [{"entity": "digits", "value": "42"}]
    keyed = client.post("/rasa/actions", json=body).json()
    found = events_of(keyed)
    assert found["place"]["label"] == "42 Lark Street" and found["place_verified"] is True
    assert found["location"] == "Zork Street" and found["place_step"] is None
    assert keyed["responses"] == [{"text": "Got it, 42 Lark Street."}]
    assert keyed["events"][-1] == {"event": "followup", "name": "pothole_form", "timestamp": None}


def test_a_spelled_street_takes_the_number_said_before(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
) -> None:
    slots = {"place_misses": 2, "place_step": "spell", "place_said": "12 Zork Street"}
    found = events_of(answer_place(client, domain, "el ay are kay", slots))
    assert found["place"]["label"] == "12 Lark Street" and found["place_verified"] is True


def test_no_house_number_keeps_the_spelled_street(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
) -> None:
    slots = {"place_misses": 2, "place_step": "number", "place": LARK.model_dump(mode="json")}
    found = events_of(answer_place(client, domain, "no", slots, intent="deny"))
    assert found["place"]["label"] == "Lark Street" and found["place_verified"] is True


def test_nothing_found_after_spelling_keeps_the_callers_words_unverified(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
) -> None:
    slots = {"place_misses": 2, "place_step": "spell", "place_said": "12 Zork Street"}
    answer = answer_place(client, domain, "Z O R K", slots)
    given_up = events_of(answer)
    assert given_up["location"] == "12 Zork Street" and given_up["place_verified"] is False
    assert given_up["place"] is None
    assert "noted the place just as you said it: 12 Zork Street" in answer["responses"][0]["text"]
    # Filed: the caller's words, unverified, no invented coordinates.
    body = request(
        domain,
        "action_file_ticket",
        said=[("there's a pothole", "pothole"), ("yes", "affirm")],
        slots={"kind": "pothole", "hazard": "deep", **given_up},
    )
    client.post("/rasa/actions", json=body)
    [report] = city.filed
    assert report.location == "12 Zork Street" and report.place_verified is False
    assert report.place is None and report.lat is None


def test_a_verified_place_is_filed_with_its_coordinates(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
) -> None:
    slots = {
        "kind": "pothole",
        "hazard": "deep",
        "location": "42 Clark Street",
        "place": LARK_42.model_dump(mode="json"),
        "place_verified": True,
    }
    said = [("there's a pothole", "pothole"), ("yes", "affirm")]
    read = client.post(
        "/rasa/actions", json=request(domain, "action_read_back", said=said, slots=slots)
    )
    assert "Pothole or road damage, at 42 Lark Street." in read.json()["responses"][0]["text"]
    client.post("/rasa/actions", json=request(domain, "action_file_ticket", said=said, slots=slots))
    [report] = city.filed
    assert report.place == LARK_42 and report.place_verified is True
    assert (report.lat, report.long) == (LARK_42.lat, LARK_42.long)
    assert report.location == "42 Clark Street"


def test_an_unverified_place_is_read_back_as_said(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
) -> None:
    slots = {"kind": "pothole", "location": "12 Zork Street", "place_verified": False}
    body = request(domain, "action_read_back", said=[("yes", "affirm")], slots=slots)
    [reply] = client.post("/rasa/actions", json=body).json()["responses"]
    assert "at 12 Zork Street, noted as you said it." in reply["text"]


def test_words_the_city_cannot_match_are_kept_as_said(
    client: TestClient,
    korean_domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
) -> None:
    """A Korean caller against an English city: read back, unverified, nobody spells."""
    answer = answer_place(client, korean_domain, "중앙로 십이")
    slots = events_of(answer)
    assert slots["location"] == "중앙로 12" and slots["place_verified"] is False
    assert answer["responses"] == [{"text": "네, 중앙로 12."}]


def test_a_city_without_places_keeps_the_words(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
) -> None:
    city.streets = []  # nothing imported
    slots = events_of(answer_place(client, domain, "twelve oak street"))
    assert slots["location"] == "12 Oak Street" and slots["place_verified"] is False


def test_a_failing_geocoder_keeps_the_words(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(said: str) -> PlaceMatch:
        raise RuntimeError("index not loaded")

    monkeypatch.setattr(city, "find_place", broken)
    answer = answer_place(client, domain, "twelve lark street")
    slots = events_of(answer)
    assert slots["location"] == "12 Lark Street" and slots["place_verified"] is False
    assert answer["responses"] == [{"text": "Got it, 12 Lark Street."}]


# --- after filing: additions are notes ---------------------------------------------


FILED = {
    "number": "2612010001",
    "kind": "illegal_parking",
    "said": "42 Clark Street",
    "place": "42 Lark Street",
}


def after_filing(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    action: str,
    said: str,
    intent: str,
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    body = request(
        domain,
        action,
        said=[("yes", "affirm"), (said, intent)],
        slots={"filed_report": FILED, "kind": intent if intent != "nlu_fallback" else None},
    )
    body["tracker"]["latest_message"]["entities"] = entities or []
    return client.post("/rasa/actions", json=body).json()


@pytest.mark.parametrize(
    ("action", "intent"),
    [
        ("action_new_report", "noise"),
        ("action_new_report", "illegal_parking"),
        ("action_fallback", "nlu_fallback"),
        ("action_out_of_scope", "out_of_scope"),
    ],
)
def test_a_detail_after_filing_is_a_note_on_that_ticket(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
    action: str,
    intent: str,
) -> None:
    city.filed.append(ComplaintReport(kind="illegal_parking", location="42 Clark Street"))
    answer = after_filing(client, domain, action, "the car is a red truck", intent)
    assert city.notes == [("CAtest1", "the car is a red truck")]
    assert answer["responses"] == [
        {
            "text": "Thank you, I've added that to ticket 2, 6, 1, 2, 0, 1, 0, 0, 0, 1."
            " Is there anything else?",
            "custom": {"expect": "more"},  # a no closes the call: the turn may end early
        }
    ]
    assert not any(e["event"] == "followup" for e in answer["events"])


@pytest.mark.parametrize(
    ("action", "intent"),
    [
        ("action_fallback", "nlu_fallback"),
        ("action_out_of_scope", "out_of_scope"),
        ("action_new_report", "noise"),
    ],
)
def test_goodbye_after_filing_ends_the_call_and_is_no_note(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
    action: str,
    intent: str,
) -> None:
    """Seen in the whole-call benchmark: "no thanks that's all goodbye" became a note."""
    city.filed.append(ComplaintReport(kind="illegal_parking", location="42 Clark Street"))
    answer = after_filing(client, domain, action, "no thanks that's all goodbye", intent)
    assert city.notes == []
    # Said once, here: a follow-up action_goodbye let the "not understood" rule fire
    # again after it, and the caller heard the goodbye five times.
    assert [r["text"] for r in answer["responses"]] == ["Thank you for calling. Goodbye."]
    assert not any(e["event"] == "followup" for e in answer["events"])


def test_only_leave_taking_words_close_the_call() -> None:
    assert after_filing_module.is_closing("No thanks, that's all. Goodbye!")
    assert after_filing_module.is_closing("nothing else thank you")
    assert not after_filing_module.is_closing("thank you so much")  # no word that ends
    assert not after_filing_module.is_closing("no the car is a red truck")
    assert not after_filing_module.is_closing("")


@pytest.mark.parametrize(
    ("said", "intent", "entities"),
    [
        ("there's also a huge pothole down the road", "pothole", []),
        (
            "and a car is blocking the hydrant on state street",
            "illegal_parking",
            [{"entity": "location", "value": "state street"}],
        ),
    ],
)
def test_a_new_problem_after_filing_is_a_new_report(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
    said: str,
    intent: str,
    entities: list[dict[str, Any]],
) -> None:
    answer = after_filing(client, domain, "action_new_report", said, intent, entities)
    assert city.notes == []
    assert answer["events"][-1] == {
        "event": "followup",
        "name": f"{intent}_form",
        "timestamp": None,
    }


# --- never the same question three times ---------------------------------------------


def test_the_same_place_without_a_problem_is_not_asked_about_a_third_time(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
) -> None:
    asked = "Got it, 42 Lark Street. What's the problem there?"
    events: list[dict[str, Any]] = [{"event": "action", "name": "action_listen"}]
    for _ in range(3):
        events.append(
            {
                "event": "user",
                "text": "forty two lark street",
                "parse_data": {"intent": {"name": "give_location"}, "entities": []},
                "metadata": {"call_sid": "CAtest1"},
            }
        )
        events.append({"event": "bot", "text": asked})
    events.append(
        {
            "event": "user",
            "text": "forty two lark street",
            "parse_data": {
                "text": "forty two lark street",
                "intent": {"name": "give_location"},
                "entities": [],
            },
        }
    )
    body = {
        "next_action": "action_location_first",
        "sender_id": "CAtest1",
        "domain": domain,
        "tracker": {
            "sender_id": "CAtest1",
            "slots": {"location": "42 Lark Street"},
            "latest_message": events[-1]["parse_data"],
            "events": events,
            "active_loop": {},
        },
    }
    answer = client.post("/rasa/actions", json=body).json()
    [reply] = answer["responses"]
    assert reply["text"] != asked and "someone will review it" in reply["text"]
    assert city.filed[0].needs_triage and city.filed[0].location == "42 Lark Street"
    # Twice is allowed: with only one earlier ask, the question comes again.
    body["tracker"]["events"] = events[:3] + events[-1:]
    [again] = client.post("/rasa/actions", json=body).json()["responses"]
    assert again["text"] == asked


def test_a_detail_left_empty_twice_is_not_asked_a_third_time(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
) -> None:
    asked = "How big is it, and is it a danger to cars or people?"
    events: list[dict[str, Any]] = [{"event": "action", "name": "action_listen"}]
    for _ in range(2):
        events += [
            {"event": "user", "text": "um", "parse_data": {"intent": {"name": "nlu_fallback"}}},
            {"event": "bot", "text": asked},
        ]
    events += [
        {
            "event": "user",
            "text": "um",
            "parse_data": {"text": "um", "intent": {"name": "nlu_fallback"}},
        },
        {"event": "slot", "name": "hazard", "value": "um"},
    ]
    body = {
        "next_action": "validate_pothole_form",
        "sender_id": "CAtest1",
        "domain": domain,
        "tracker": {
            "sender_id": "CAtest1",
            "slots": {"kind": "pothole", "location": "12 Lark Street", "requested_slot": "hazard"},
            "latest_message": events[-2]["parse_data"],
            "events": events,
            "active_loop": {"name": "pothole_form"},
        },
    }
    answer = client.post("/rasa/actions", json=body).json()
    assert events_of(answer)["hazard"] == "not known"
    body["tracker"]["events"] = events[:1] + events[3:]  # asked once: ask again
    assert events_of(client.post("/rasa/actions", json=body).json())["hazard"] is None


def test_yes_to_anything_else_makes_the_next_words_a_new_report(
    client: TestClient,
    domain: dict[str, Any],  # noqa: F811
    city: FakeCity,
) -> None:
    answer = after_filing(client, domain, "action_what_else", "yes", "affirm")
    assert events_of(answer) == {"filed_report": None}
    assert answer["responses"][0]["text"] == "Sure. What else would you like to report?"
