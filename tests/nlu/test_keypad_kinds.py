"""The keypad's list of problems, through the real trained Rasa servers (English and Korean):
a caller the recognizer does not understand picks the kind with a key, and the kind's form
asks its questions. The keys come from data/complaint_kinds.yaml (`keypad`)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from nlu.client import RasaDialogue
from nlu.project import kinds_domain, load_kinds
from tests.nlu.test_conversations import Call, text, unclear_lines

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]


async def until_read_back(call: Call, place: str, detail: str) -> None:
    """The place, then the same detail to each question, until the read-back (or 4 tries)."""
    await call.say(place)
    for _ in range(4):
        if "Is that right?" in call.last_text:
            return
        await call.say(detail)


def keyed_kinds(stack: Any) -> dict[str, str]:
    data = yaml.safe_load((stack.settings.data_dir / "complaint_kinds.yaml").read_text())
    return {str(k["keypad"]): code for code, k in data["kinds"].items() if "keypad" in k}


async def test_key_1_offers_the_problems_and_a_key_picks_one(
    stack: Any, dialogue: RasaDialogue
) -> None:
    keys = keyed_kinds(stack)
    assert keys["1"] == "illegal_parking" and keys["2"] == "dead_animal"
    call = Call(dialogue)
    await call.start()
    menu = text(await call.keypad("1"))
    assert "1 for Illegal parking" in menu and "2 for Dead animal" in menu, menu
    assert "what is the problem" in menu  # saying it still works
    asked = text(await call.keypad("2"))
    assert asked.startswith("Where is it?"), asked
    await until_read_back(call, "fourteen oak street", "a raccoon, it's in the middle of the road")
    assert "Dead animal" in call.last_text and "14 Oak Street" in call.last_text


async def test_a_key_not_in_the_list_offers_it_again(dialogue: RasaDialogue) -> None:
    call = Call(dialogue)
    await call.start()
    await call.keypad("1")
    again = text(await call.keypad("12"))  # every single key 1-9 names a problem
    assert "not one of the options" in again and "1 for Illegal parking" in again, again


async def test_saying_the_problem_after_the_list_still_works(dialogue: RasaDialogue) -> None:
    call = Call(dialogue)
    await call.start()
    await call.keypad("1")
    asked = text(await call.say("there's a huge pothole in the road"))
    assert asked.startswith("Where is it?"), asked


async def test_a_ticket_number_is_asked_at_most_twice(dialogue: RasaDialogue) -> None:
    call = Call(dialogue)
    await call.start()
    asked = text(await call.keypad("2"))
    assert "ticket number" in asked, asked
    again = text(await call.say("i really do not know it"))
    assert "didn't get a ticket number" in again and "ticket number" in again, again
    ended = text(await call.say("no idea sorry"))
    assert "anything else" in ended, ended


async def test_the_korean_list_picks_the_pilots_two_kinds(stack: Any) -> None:
    dialogue = RasaDialogue(stack.ko.rasa_url, timeout=30)
    try:
        for key, question in (("1", "위치"), ("2", "위치")):
            call = Call(dialogue)
            await dialogue.start(call.sid, {"call_sid": call.sid, "locale": "ko"})
            menu = text(await call.keypad("1"))
            assert "불법 주정차 1번" in menu and "동물 사체 2번" in menu, menu
            asked = text(await call.keypad(key))
            assert question in asked, asked
    finally:
        await dialogue.aclose()


async def test_keypad_keys_must_be_distinct_digits() -> None:
    from dispatch.settings import DATA_DIR

    kinds = load_kinds("en", DATA_DIR)
    kinds["noise"]["keypad"] = kinds["illegal_parking"]["keypad"]
    with pytest.raises(ValueError, match="distinct digits"):
        kinds_domain(kinds)


async def test_misheard_twice_after_the_list_offers_the_list_again(
    stack: Any, dialogue: RasaDialogue
) -> None:
    """Seen in the whole-call place benchmark: a caller misheard twice after the list was
    offered got the first menu again ("Press 1 to report a problem"), and their 1 was read
    as the list's 1: an illegal-parking ticket for a pothole."""
    unclear = await unclear_lines(stack.rasa_url)
    call = Call(dialogue)
    await call.start()
    await call.keypad("1")
    first = text(await call.say(unclear[0]))
    assert "say it another way" in first, first
    again = text(await call.say(unclear[1]))
    assert "4 for Pothole" in again and "Press 1 to report a problem" not in again, again
    asked = text(await call.keypad("4"))
    assert asked.startswith("Where is it?"), asked
    await until_read_back(call, "fourteen oak street", "about a foot wide")
    assert "Pothole" in call.last_text and "Illegal parking" not in call.last_text
