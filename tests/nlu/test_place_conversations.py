"""Places in whole conversations: the real trained Rasa server, the app's actions and the
real geocoder over the demo city (Riverton, imported at seeding), as in
test_conversations.py. Every place read back is the city's or the caller's words marked
unverified; what a caller adds after filing is a note; no question is asked three times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from dispatch.contract import CallStart
from dispatch.db import session_scope
from dispatch.models import Ticket, TicketNote
from nlu.client import RasaDialogue
from nlu.contract import Expect
from tests.nlu.test_conversations import Call, text

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]

EXACT_PLACE = "I need the exact place"
SPELL = "Please spell the street name, letter by letter, or key its letters"


async def opened(stack: Any, dialogue: RasaDialogue) -> Call:
    """A call with its record open (as Twilio's webhook opens it) and the greeting heard."""
    call = Call(dialogue)
    stack.services.dispatch.open_call(
        CallStart(call_sid=call.sid, caller_number="+15550001234", started_at=datetime.now(UTC))
    )
    await call.start()
    return call


async def asked_to_spell(stack: Any, dialogue: RasaDialogue) -> Call:
    """A pothole at a street the city does not have, said twice: the bot asks to spell it."""
    call = await opened(stack, dialogue)
    await call.say("there's a pothole")
    await call.say("zork street")
    replies = await call.say("zork street")
    assert SPELL in text(replies) and replies[-1].control.expect == Expect.SPELLING
    return call


def questions_in_a_row(call: Call) -> int:
    """The most times one question ended the bot's turn in a row, over the call."""
    most, run, last = 0, 0, None
    for reply in call.heard:
        if not reply.text:
            continue
        run = run + 1 if reply.text == last else 1
        last = reply.text
        most = max(most, run)
    return most


def ticket_row(stack: Any, number: str) -> Ticket:
    with session_scope(stack.services.dispatch.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
        session.expunge(ticket)
        return ticket


async def finish(call: Call, answers: dict[str, str] | None = None) -> str:
    """Answer the kind's questions with the given words (or "no"), confirm, and file."""
    start = len(call.heard)
    for _ in range(8):
        number = next(
            (r.control.ticket_number for r in call.heard[start:] if r.control.ticket_number),
            None,
        )
        if number:
            return str(number)
        prompt = call.heard[-1].text or ""
        if "Is that right?" in prompt:
            await call.say("yes")
        else:
            said = next((a for q, a in (answers or {}).items() if q in prompt), "no")
            await call.say(said)
    pytest.fail(f"no ticket filed; heard: {[r.text for r in call.heard]}")


async def test_a_confident_address_is_read_back_as_the_city_names_it(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await opened(stack, dialogue)
    replies = await call.say("there's a huge pothole in the road")
    assert replies[-1].control.expect == Expect.PLACE
    replies = await call.say("forty two lark street")
    assert "Got it, 42 Lark Street." in text(replies)
    number = await finish(call, {"How big": "about a foot wide"})
    assert any("at 42 Lark Street." in (r.text or "") for r in call.heard)  # the read-back
    ticket = ticket_row(stack, number)
    assert ticket.place_verified is True and ticket.location_text == "42 Lark Street"
    assert ticket.lat and ticket.long


async def test_a_misheard_street_is_snapped_to_the_citys(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await opened(stack, dialogue)
    await call.say("there's a pothole")
    replies = await call.say("forty two clark street")
    assert "Got it, 42 Lark Street." in text(replies)
    ticket = ticket_row(stack, await finish(call))
    # The caller's words stay on the ticket; the place is the city's.
    assert ticket.location_text == "42 Clark Street" and ticket.place_verified is True
    assert ticket.place_name and "Lark Street" in ticket.place_name


async def test_look_alike_streets_are_asked_about_and_the_answer_chooses(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await opened(stack, dialogue)
    await call.say("there's a pothole")
    replies = await call.say("forty two linden")
    assert "Did you mean" in text(replies) and "42 Linden Way" in text(replies)
    assert "42 Linden Terrace" in text(replies)
    assert replies[-1].control.expect == Expect.PLACE
    replies = await call.say("linden way")
    assert "Got it, 42 Linden Way." in text(replies)
    ticket = ticket_row(stack, await finish(call))
    assert ticket.place_verified is True and ticket.place_name and "Linden Way" in ticket.place_name


async def test_a_street_not_found_twice_is_spelled_and_found(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await opened(stack, dialogue)
    await call.say("there's a pothole")
    replies = await call.say("twelve zork street")
    assert EXACT_PLACE in text(replies)
    replies = await call.say("zork street")
    assert SPELL in text(replies) and replies[-1].control.expect == Expect.SPELLING
    replies = await call.say("L A R K")
    assert "Got it, 12 Lark Street." in text(replies)  # the number said before, on that street
    ticket = ticket_row(stack, await finish(call))
    assert (
        ticket.place_verified is True and ticket.place_name and "Lark Street" in ticket.place_name
    )
    assert questions_in_a_row(call) <= 2


async def test_a_spelled_street_takes_its_house_number_from_the_keypad(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await asked_to_spell(stack, dialogue)
    replies = await call.say("L A R K")
    assert "house number" in text(replies) and replies[-1].control.expect == Expect.DIGITS
    replies = await call.keypad("42")
    assert "Got it, 42 Lark Street." in text(replies)


async def test_a_street_keyed_on_the_phones_letters_is_found(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await opened(stack, dialogue)
    await call.say("there's a pothole")
    await call.say("twelve zork street")
    replies = await call.say("zork street")
    assert SPELL in text(replies) and replies[-1].control.expect == Expect.SPELLING
    replies = await call.keypad("5275")  # L-A-R-K
    assert "Got it, 12 Lark Street." in text(replies)  # the number said before, on that street
    ticket = ticket_row(stack, await finish(call))
    assert ticket.place_verified is True and "12 Lark Street" in (ticket.place_name or "")


async def test_a_corner_keeps_its_cross_street_when_the_other_is_keyed(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    """Seen in the whole-call benchmark: a corner whose first street was misheard twice
    and then keyed was filed as that street alone, its cross street lost."""
    call = await opened(stack, dialogue)
    await call.say("there's a pothole")
    for _ in range(2):
        replies = await call.say("the corner of zork street and 12th street")
    assert SPELL in text(replies) and replies[-1].control.expect == Expect.SPELLING
    replies = await call.keypad("5275")  # L-A-R-K
    assert "Got it, Lark Street and 12th Street." in text(replies), text(replies)
    ticket = ticket_row(stack, await finish(call))
    assert ticket.place_verified is True and ticket.place_name == "Lark Street and 12th Street"


async def test_keys_that_spell_two_streets_ask_which_then_the_house_number(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await asked_to_spell(stack, dialogue)
    replies = await call.keypad("546336")  # L-I-N-D-E-N: Linden Way and Linden Terrace
    assert "Did you mean Linden Way or Linden Terrace?" in text(replies)
    replies = await call.say("terrace")
    assert "Thanks, Linden Terrace." in text(replies)
    assert replies[-1].control.expect == Expect.DIGITS
    replies = await call.keypad("7")
    assert "Got it, " in text(replies) and "Linden Terrace" in text(replies)


@pytest.mark.parametrize("spelled", ["Z O R K", "keyed 9679"])  # keys that name no street
async def test_nothing_found_keeps_the_callers_words_unverified(
    stack: Any,
    dialogue: RasaDialogue,
    spelled: str,
) -> None:
    call = await opened(stack, dialogue)
    await call.say("there's a pothole")
    await call.say("twelve zork street")
    await call.say("zork street")
    if spelled.startswith("keyed "):
        replies = await call.keypad(spelled.removeprefix("keyed "))
    else:
        replies = await call.say(spelled)
    assert "as you said it: 12 Zork Street" in text(replies)
    number = await finish(call)
    assert any("12 Zork Street, noted as you said it" in (r.text or "") for r in call.heard)
    ticket = ticket_row(stack, number)
    assert ticket.location_text == "12 Zork Street" and ticket.place_verified is False
    assert ticket.lat is None and ticket.long is None  # never an invented place
    assert questions_in_a_row(call) <= 2


async def test_here_is_not_a_place(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await opened(stack, dialogue)
    await call.say("there's a pothole")
    replies = await call.say("right here")
    assert EXACT_PLACE in text(replies) and "Got it" not in text(replies)


async def test_a_detail_after_filing_is_a_note_on_that_ticket(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await opened(stack, dialogue)
    await call.say("there's a car blocking my driveway")
    await call.say("ninety eight elm street")
    number = await finish(call, {"vehicle": "a car", "blocking": "my driveway"})
    replies = await call.say("the car is a red truck")
    assert "added that to ticket" in text(replies) and ", ".join(number) in text(replies)
    assert stack.services.dispatch.ticket_for_call(call.sid) == number  # no new report
    with session_scope(stack.services.dispatch.engine) as session:
        notes = session.exec(
            select(TicketNote).where(TicketNote.ticket_id == ticket_row(stack, number).id)
        ).all()
    assert [(n.author, n.body) for n in notes] == [("caller", "the car is a red truck")]
    replies = await call.say("no that's all thanks")
    assert replies[-1].control.end_call is True


async def test_the_same_question_is_never_asked_three_times_in_a_row(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    """The call seen on the supervisors' page: the same corner said again and again."""
    call = await opened(stack, dialogue)
    for _ in range(4):
        await call.say("at the corner of main and second")
        if call.control("ticket_number"):
            break
    assert questions_in_a_row(call) <= 2, [r.text for r in call.heard]
    number = call.control("ticket_number")
    assert number, [r.text for r in call.heard]  # filed what it had, for triage
    assert ticket_row(stack, number).needs_triage


async def test_a_new_problem_after_filing_is_a_new_report(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await opened(stack, dialogue)
    await call.say("there's a car blocking my driveway")
    await call.say("ninety eight elm street")
    first = await finish(call, {"vehicle": "a car", "blocking": "my driveway"})
    replies = await call.say("yes")
    assert "What else would you like to report?" in text(replies)
    replies = await call.say("the street light is out")
    assert "added that" not in text(replies)
    assert replies[-1].control.expect == Expect.PLACE  # a new report asks where
    await call.say("forty two lark street")
    second = await finish(call, {"How many": "one", "pole": "no"})
    assert second != first and ticket_row(stack, second).kind == "streetlight_out"


async def test_a_landmark_keyed_by_its_name_is_found(
    stack: Any,
    dialogue: RasaDialogue,
) -> None:
    call = await asked_to_spell(stack, dialogue)
    replies = await call.keypad("24842236837")  # C-I-V-I-C C-E-N-T-E-R
    assert "Got it, Civic Center." in text(replies), text(replies)
