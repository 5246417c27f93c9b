"""The Korean line's dialogue at the text level, through the app's own dialogue client and
real Rasa servers (the stack runs one per locale): a Korean call's messages go to the
Korean model and get Korean replies, an English call's go to the English one, and the
actions geocode against the line's city (the `city` the Media Stream's parameters give)."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from nlu.client import RasaDialogue
from nlu.rasa_servers import rasa_urls_of

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _korean(text: str) -> bool:
    return len(HANGUL.findall(text)) >= 5


def _user_messages(rasa_url: str, call_sid: str) -> list[str]:
    tracker = httpx.get(f"{rasa_url}/conversations/{call_sid}/tracker", timeout=30).json()
    return [e.get("text") or "" for e in tracker.get("events") or [] if e.get("event") == "user"]


@contextlib.asynccontextmanager
async def app_dialogue(stack: Any) -> AsyncIterator[RasaDialogue]:
    """The app's dialogue client as the app builds it (dutyline/app.py), on this test's event
    loop (the app's own instance keeps connections on the server's loop)."""
    dialogue = RasaDialogue(rasa_urls_of(stack.settings), timeout=60, locale="en")
    assert dialogue.urls == stack.services.dialogue.urls
    try:
        yield dialogue
    finally:
        await dialogue.aclose()


async def test_each_line_talks_to_its_own_locale_model(stack: Any) -> None:
    assert stack.ko is not None and stack.rasa_urls["ko"] == stack.ko.rasa_url
    assert stack.services.dialogue.urls == {"en": [stack.rasa_url], "ko": [stack.ko.rasa_url]}
    async with app_dialogue(stack) as dialogue:
        await _talk_in_both_languages(stack, dialogue)


async def _talk_in_both_languages(stack: Any, dialogue: RasaDialogue) -> None:
    korean, english = f"CAko{uuid.uuid4().hex}", f"CAen{uuid.uuid4().hex}"
    ko_meta = {"locale": "ko", "city": stack.ko.city, "called_number": stack.ko.number}
    en_meta = {"locale": "en", "city": "Riverton", "called_number": "+15555550100"}

    greeting = await dialogue.start(korean, {**ko_meta, "caller_number": "+821055501234"})
    assert greeting and _korean(greeting[0].text), greeting
    hello = await dialogue.start(english, {**en_meta, "caller_number": "+15555550143"})
    assert hello and hello[0].text and not HANGUL.search(hello[0].text), hello

    reply = await dialogue.say(korean, "집 앞에 차가 불법 주차되어 있어요", ko_meta)
    assert reply and all(_korean(r.text) for r in reply if r.text), reply
    answer = await dialogue.say(english, "a car is blocking my driveway", en_meta)
    assert answer and not any(HANGUL.search(r.text) for r in answer), answer

    # Each conversation is on its own locale's server only.
    assert "집 앞에 차가 불법 주차되어 있어요" in _user_messages(stack.ko.rasa_url, korean)
    assert _user_messages(stack.rasa_url, korean) == []
    assert "a car is blocking my driveway" in _user_messages(stack.rasa_url, english)
    assert _user_messages(stack.ko.rasa_url, english) == []
    # the call's locale is kept for messages that do not say it (keypad, call events)
    await dialogue.keypad(korean, "1")
    assert any("keypad" in text for text in _user_messages(stack.ko.rasa_url, korean))
    assert await dialogue.ready()


async def test_a_korean_caller_place_is_found_in_the_line_city(stack: Any) -> None:
    """Riverton has no 중앙로: only the Korean line's city can make "중앙로 12" a place."""
    async with app_dialogue(stack) as dialogue:
        await _report_at_a_korean_address(stack, dialogue)


async def _report_at_a_korean_address(stack: Any, dialogue: RasaDialogue) -> None:
    call = f"CAko{uuid.uuid4().hex}"
    meta = {"locale": "ko", "city": stack.ko.city, "called_number": stack.ko.number}
    await dialogue.start(call, {**meta, "caller_number": "+821055501235"})
    asked = await dialogue.say(call, "차가 불법 주차되어 있어요", meta)
    assert any("위치" in r.text for r in asked), asked  # where is it?
    read_back = await dialogue.say(call, "중앙로 12", meta)
    assert "중앙로 12" in read_back[0].text, read_back  # read back as the city names it
    number = None
    for answer in ("흰색 승용차요", "대문 앞을 막고 있어요", "네"):  # the kind's questions, yes
        await dialogue.say(call, answer, meta)
        tracker = httpx.get(f"{stack.ko.rasa_url}/conversations/{call}/tracker", timeout=30).json()
        number = (tracker["slots"].get("filed_report") or {}).get("number")
        if number:
            break
    assert number, tracker["slots"]
    ticket = stack.services.dispatch.get_ticket(number)
    assert ticket is not None and ticket.kind == "illegal_parking"
    assert ticket.place_verified is True and ticket.place_name and "중앙로" in ticket.place_name
    assert ticket.lat is not None and 37.3 < ticket.lat < 37.5  # Gwangju, not Riverton (42.x)
    # the call's messages all went to the Korean server
    assert _user_messages(stack.rasa_url, call) == []
