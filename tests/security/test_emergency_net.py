"""Issue 10, item 6: an emergency is never filed as a pothole.

The keyword safety net (nlu/emergency.py, rules in nlu/locales/*/emergency.yml) runs on the
caller's sentence before the intent model. Tested on phrasings the model was never trained
on, as unit tests and through the real trained Rasa server, and against ordinary complaints
that share its words ("a dead deer after a crash", "smoke from a barbecue").
"""

from __future__ import annotations

import glob
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import yaml

from nlu.client import RasaDialogue
from nlu.emergency import LOCALES_DIR, EmergencyNet, net_for

# Not in the training data or the held-out set (checked below).
EMERGENCIES_EN = {
    "my grandfather fell down and now he isn't breathing": "breathing",
    "the apartment upstairs is full of flames": "fire",
    "black smoke is pouring out of the garage on elm street": "smoke",
    "a guy just pulled a gun on me at the gas station": "weapon",
    "somebody got stabbed outside the bar on fifth": "weapon",
    "my roommate took a whole bottle of pills i think it's an overdose": "breathing",
    "there's a lady at the bus stop and she's unconscious": "breathing",
    "a motorcycle crashed on route nine and the rider is badly injured": "crash with injuries",
    "two cars collided at the corner and one driver is trapped": "crash with injuries",
    "i can smell gas in the whole stairwell": "gas",
    "I think my husband is having a heart attack!": "breathing",
    "a little boy is bleeding from his head at the playground": "bleeding",
    "um yeah there's uh a kitchen fire next door": "fire",
    "There was an explosion at the corner store.": "fire",
}
ORDINARY_EN = [
    "there's a dead deer on the road after a crash",
    "a car crashed into the streetlight last night and knocked it over",
    "my neighbors are grilling and the smoke comes right into my window",
    "smoke from a barbecue is drifting over the whole block",
    "someone is parked in front of the fire hydrant",
    "the fire lane is blocked by a delivery truck",
    "the smoke detector in the hallway keeps chirping all night",
    "kids are shooting off fireworks at midnight",
    "the streetlight on my corner is burned out",
    "the street lights are burning all day long",
    "water is shooting out of a crack in the road",
    "there's a pothole the size of a bathtub on oak street",
    "a loose pit bull attacked another dog on my street",
    "traffic is backed up because of an accident",
]
EMERGENCIES_KO = {
    "아래층에서 불이 났어요 빨리 와 주세요": "fire",
    "할머니가 숨을 안 쉬세요": "breathing",
    "교통사고가 났는데 운전자가 크게 다쳤어요": "crash with injuries",
    "남자가 칼을 들고 사람들을 위협해요": "weapon",
    "아파트 복도에서 가스 냄새가 심하게 나요": "gas",
}
ORDINARY_KO = [
    "가로등 불이 나갔어요",
    "교통사고로 죽은 고라니가 도로에 있어요",
    "옆집에서 고기 굽는 연기가 계속 들어와요",
    "소화전 앞에 차가 주차돼 있어요",
]


def training_sentences(locale: str) -> dict[str, str]:
    """Every example the model trained or is evaluated on -> its intent."""
    files = [*glob.glob(str(LOCALES_DIR / locale / "data" / "nlu" / "*.yml"))]
    files.append(str(LOCALES_DIR / locale / "heldout.yml"))
    seen: dict[str, str] = {}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            items = yaml.safe_load(handle)["nlu"]
        for item in items:
            for line in (item.get("examples") or "").splitlines():
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip().removeprefix("- "))
                if text and "intent" in item:
                    seen[text.lower()] = item["intent"]
    return seen


# --- the rules -------------------------------------------------------------------------------


def test_the_phrasings_are_new_to_the_model() -> None:
    for locale, phrases in (("en", [*EMERGENCIES_EN, *ORDINARY_EN]), ("ko", EMERGENCIES_KO)):
        known = training_sentences(locale)
        assert not [p for p in phrases if p.lower() in known], "tested on training data"


@pytest.mark.parametrize("said, rule", EMERGENCIES_EN.items())
def test_english_emergencies_are_caught(said: str, rule: str) -> None:
    assert net_for("en").rule_for(said) == rule


@pytest.mark.parametrize("said", ORDINARY_EN)
def test_english_complaints_sharing_the_words_are_not(said: str) -> None:
    assert net_for("en").rule_for(said) is None


@pytest.mark.parametrize("said, rule", EMERGENCIES_KO.items())
def test_korean_emergencies_are_caught(said: str, rule: str) -> None:
    assert net_for("ko").rule_for(said) == rule


@pytest.mark.parametrize("said", ORDINARY_KO)
def test_korean_complaints_sharing_the_words_are_not(said: str) -> None:
    assert net_for("ko").rule_for(said) is None


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_no_training_complaint_sets_it_off_and_every_trained_emergency_does(locale: str) -> None:
    net = net_for(locale)
    examples = training_sentences(locale)
    caught = {text: net.rule_for(text) for text in examples}
    false_alarms = [t for t, rule in caught.items() if rule and examples[t] != "emergency"]
    missed = [t for t, rule in caught.items() if not rule and examples[t] == "emergency"]
    assert false_alarms == [] and missed == []
    assert len(examples) > 150  # the data really was read


def test_compounds_are_ignored_but_a_real_fire_beside_them_is_not() -> None:
    net = net_for("en")
    assert net.rule_for("the fire hydrant is leaking") is None
    assert net.rule_for("the car by the fire hydrant is on fire") == "fire"
    assert net.rule_for("a crash, and the driver is hurt") == "crash with injuries"
    assert net.rule_for("a crash") is None
    assert net.rule_for("fireside drive has a pothole") is None  # whole words only


def test_rules_are_data() -> None:
    net = EmergencyNet.model_validate(
        {"rules": [{"name": "flood", "any": ["water rising"], "with": ["trapped"]}]}
    )
    assert net.rule_for("The water rising, we are trapped!") == "flood"
    assert net.rule_for("the water rising slowly") is None
    assert net_for("xx") == EmergencyNet()  # a locale without rules: nothing caught


def test_the_dialogues_emergency_question_is_recognised() -> None:
    question = "This sounds like an emergency. Please call 911 right now. Shall I do that?"
    assert net_for("en").asks(question)
    assert not net_for("en").asks("Where is it?")


# --- through the real dialogue server --------------------------------------------------------


@pytest.fixture
async def dialogue(stack: Any) -> AsyncIterator[RasaDialogue]:
    client = RasaDialogue(stack.rasa_url, timeout=30)
    yield client
    await client.aclose()


# The session's event loop, which the `dialogue` fixture's client lives on.
on_session_loop = pytest.mark.asyncio(loop_scope="session")


def _text(replies: list[Any]) -> str:
    return " ".join(r.text or "" for r in replies)


async def _call(dialogue: RasaDialogue) -> str:
    sid = "CA" + uuid.uuid4().hex
    await dialogue.start(sid, {"caller_number": "+15550001234", "locale": "en"})
    return sid


@pytest.mark.slow
@on_session_loop
async def test_unseen_emergencies_get_the_emergency_number_from_the_real_dialogue(
    stack: Any, dialogue: RasaDialogue, record_figures: Callable[[str, object], None]
) -> None:
    number = stack.settings.emergency_number
    missed_by_model = []
    async with httpx.AsyncClient(base_url=stack.rasa_url, timeout=30) as rasa:
        for said in EMERGENCIES_EN:
            parsed = (await rasa.post("/model/parse", json={"text": said})).json()
            if parsed["intent"]["name"] != "emergency":
                missed_by_model.append(f"{said!r} -> {parsed['intent']['name']}")
    for said in EMERGENCIES_EN:
        sid = await _call(dialogue)
        replies = await dialogue.say(sid, said, {"locale": "en"})
        assert f"Please call {number} right now" in _text(replies), said
    record_figures("emergencies the intent model alone would have missed", missed_by_model)


@pytest.mark.slow
@on_session_loop
async def test_ordinary_complaints_still_reach_their_forms(
    stack: Any, dialogue: RasaDialogue
) -> None:
    async with httpx.AsyncClient(base_url=stack.rasa_url, timeout=30) as rasa:
        for said, form in [
            ("there's a dead deer on the road after a crash", "dead_animal_form"),
            ("someone is parked in front of the fire hydrant", "illegal_parking_form"),
            ("the smoke detector in the hallway keeps chirping all night", None),
        ]:
            sid = await _call(dialogue)
            replies = await dialogue.say(sid, said, {"locale": "en"})
            assert "emergency" not in _text(replies), said
            tracker = (await rasa.get(f"/conversations/{sid}/tracker")).json()
            assert tracker["latest_message"]["text"] == said  # the model read the words
            if form:
                assert (tracker.get("active_loop") or {}).get("name") == form, _text(replies)


@pytest.mark.slow
@on_session_loop
async def test_yes_after_the_nets_question_transfers(stack: Any, dialogue: RasaDialogue) -> None:
    sid = await _call(dialogue)
    await dialogue.say(sid, "the apartment upstairs is full of flames", {"locale": "en"})
    replies = await dialogue.say(sid, "yes please", {"locale": "en"})
    assert replies[-1].control.transfer_to == stack.settings.emergency_number


async def test_the_answer_to_the_emergency_question_is_left_to_the_model() -> None:
    """An edge case, with a stand-in Rasa: after the dialogue asks "shall I transfer you?",
    the caller's answer ("yes, it's on fire!") goes to the model as said, so a yes stays a
    yes; the sentence after that is screened again."""
    sent: list[str] = []
    question = "This sounds like an emergency. Please call 911 right now. Shall I do that?"

    def rasa(request: httpx.Request) -> httpx.Response:
        message = json.loads(request.content)["message"]
        sent.append(message)
        text = question if message == "/emergency" else "Okay."
        return httpx.Response(200, json=[{"recipient_id": "x", "text": text}])

    dialogue = RasaDialogue("http://rasa.test", timeout=5, transport=httpx.MockTransport(rasa))
    try:
        await dialogue.say("CA1", "there's smoke pouring out of the garage")
        await dialogue.say("CA1", "yes it's on fire hurry")
        await dialogue.say("CA1", "now my neighbor is bleeding")
        await dialogue.say("CA2", "/emergency please")  # a caller can't send an intent
    finally:
        await dialogue.aclose()
    assert sent == ["/emergency", "yes it's on fire hurry", "/emergency", "emergency please"]


@pytest.mark.slow
@on_session_loop
async def test_mid_report_the_net_pauses_the_form_and_no_resumes_it(
    dialogue: RasaDialogue,
) -> None:
    sid = await _call(dialogue)
    await dialogue.say(sid, "there's a big pothole", {"locale": "en"})
    replies = await dialogue.say(sid, "oh no a kid on a bike fell in it and he's unconscious", {})
    assert "emergency" in _text(replies)
    replies = await dialogue.say(sid, "no", {})
    assert _text(replies).endswith("Tell me the street address, the nearest corner, or a landmark.")
