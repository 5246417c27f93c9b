"""A sample of the random-place calls (data/sample_calls/riverton_places.yaml), whole, in
real time through the running stack: the simulated Twilio line, the app's recognizer,
Rasa's dialogue and the city's geocoder, a ticket filed in the database and judged as
`dutyline bench accuracy --calls data/sample_calls/riverton_places.yaml` judges it
(callbench/task_success.py). All fifty take too long for every run; one call of each kind
of place does not, and the figures go to the run's summary. The caller answers what the
bot asks (callbench/responsive_caller.py), as a real caller would when the bot asks again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from callbench.calls import ScriptedCall, load_calls
from callbench.responsive_caller import (
    ResponsiveCaller,
    keyed,
    kind_names,
    questions,
    spelled,
)
from callbench.simulator import Turn
from callbench.task_success import run_scripts, task_success
from dutyline.settings import ROOT
from nlu.keyed_letters import name_keys

CALLS_FILE = ROOT / "data" / "sample_calls" / "riverton_places.yaml"
# The two named voices, taking turns.
VOICES = ("flite:slt", "espeak:en-us")


def sample() -> list[ScriptedCall]:
    """The first call of each kind of place, in the file's (random) order."""
    first: dict[str, ScriptedCall] = {}
    for call in load_calls(CALLS_FILE):
        assert call.place is not None
        first.setdefault(call.place.kind, call)
    return list(first.values())


@pytest.mark.slow
async def test_a_sample_of_random_place_calls_files_tickets(
    stack: Any, record_figures: Callable[[str, object], None]
) -> None:
    calls = sample()
    assert {c.place.kind for c in calls if c.place} == {
        "address", "intersection", "landmark", "block"
    }  # fmt: skip
    jobs = [(call, VOICES[i % len(VOICES)]) for i, call in enumerate(calls)]
    started = time.monotonic()
    rows = await run_scripts(
        stack.settings,
        app_url=stack.app_url,
        public_url=stack.settings.public_url,
        token=stack.settings.signing_token,
        jobs=jobs,
        parallel=len(jobs),  # four calls at once fit the machine and halve the wait
        caller="responsive",
    )
    result = task_success(rows)
    keys = ("success_rate", "kind_rate", "department_rate", "place_rate", "number_rate")
    keys += ("within_50m_rate", "verified_rate", "ticket_rate")
    record_figures(
        f"place calls, whole ({len(rows)} in real time, {time.monotonic() - started:.0f} s)",
        {key: result[key] for key in keys},
    )
    for row in rows:
        print(row["name"], row["voice"], row.get("ticket"), row.get("checks"), row.get("error"))
        for line in row.get("conversation", []):
            print("   ", line)
    assert not [r["error"] for r in rows if r.get("error")]
    # Whatever was heard, every call ends in a ticket: a place not found is filed unverified.
    assert result["ticket_rate"] == 1.0
    # The complaint sentences are the ones data/sample_calls/calls.yaml proves.
    assert result["kind_rate"] >= 0.75 and result["department_rate"] >= 0.75


# --- the responsive caller, on its own ----------------------------------------------------


def _caller(kind: str) -> ResponsiveCaller:
    call = next(c for c in load_calls(CALLS_FILE) if c.place and c.place.kind == kind)
    kinds = ROOT / "data" / "complaint_kinds.yaml"
    return ResponsiveCaller(call, questions(kinds), kind_names(kinds))


def test_the_responsive_caller_answers_what_is_asked() -> None:
    caller = _caller("address")
    call, place = caller.call, caller.call.place
    assert place is not None and place.street and place.number
    assert caller.reply("Hello. What would you like to report?") == Turn("say", call.says[0])
    asked_once = "Before you go: is there a problem you would like to report? Or hang up."
    assert caller.reply(asked_once) == Turn("say", call.says[0])  # its opening misheard
    assert caller.reply("Where is it? Tell me the street address.") == Turn("say", call.says[1])
    slot, answer = call.answers[0]
    asked = {q: s for q, s in caller.asked.items() if s == slot}
    question = next(iter(asked))
    assert caller.reply(f"Got it, somewhere. {question.capitalize()}") == Turn("say", answer)
    offered = f"Did you mean {place.street.replace('Street', 'Avenue')} or {place.street}?"
    assert caller.reply(offered) == Turn("say", place.street.lower())
    assert caller.reply("Did you mean Nowhere Lane or Elsewhere Road?") == Turn(
        "say", f"no, {call.says[1]}"
    )
    assert caller.reply("I still can't find that street. Please spell the street name.") == Turn(
        "say", spelled(place.street)
    )
    offered_keys = "Please spell the street name, or key its letters on your phone's keypad."
    assert caller.reply(offered_keys) == Turn("press", keyed(place.street))
    number = caller.reply("Thanks. Please key in the house number on your phone, then hash.")
    assert number == Turn("press", f"{place.number}#")
    landmark = _caller("landmark")
    assert landmark.call.place is not None and landmark.call.place.landmark
    assert landmark.reply(offered_keys) == Turn(
        "press", f"{name_keys(landmark.call.place.landmark)}#"
    )
    menu = "Let's try the keypad. Press 1 to report a problem. Press 2 to check on a ticket."
    assert caller.reply(menu) == Turn("press", "1")


def test_the_responsive_caller_says_no_once_to_a_wrong_problem() -> None:
    caller = _caller("address")
    place = caller.call.place
    assert place is not None and caller.call.kind != "noise"
    name = caller.kinds[caller.call.kind]
    at = f"{place.number} {place.street}"
    wrong = f"Let me read that back. Noise, at {at}. Is that right?"
    assert caller.reply(wrong) == Turn("say", "no")
    assert caller.reply("Okay. What should I change?") == Turn("say", f"the problem is {name}")
    assert caller.reply(wrong) == Turn("say", "yes")  # once corrected, the caller gives up
    right = f"Let me read that back. {name.capitalize()}, at {at}. Is that right?"
    assert _caller("address").reply(right) == Turn("say", "yes")


def test_the_responsive_caller_says_no_once_to_a_wrong_place() -> None:
    caller = _caller("intersection")
    place = caller.call.place
    assert place is not None
    name = caller.kinds[caller.call.kind].capitalize()
    wrong = f"Let me read that back. {name}, at 1 Nowhere Lane. Is that right?"
    assert caller.reply(wrong) == Turn("say", "no")
    assert caller.reply("Okay. What should I change?") == Turn("say", caller.call.says[1])
    assert caller.reply(wrong) == Turn("say", "yes")  # once corrected, the caller gives up
    # A question after a remark, and a request to say it again, are answered.
    noted = "I couldn't find that on the city's map, so I've noted the place just as you said it."
    slot, answer = caller.call.answers[0]
    question = next(q for q, s in caller.asked.items() if s == slot)
    assert caller.reply(noted, question.capitalize()) == Turn("say", answer)
    assert caller.reply("Sorry, I didn't catch that. Could you say it again?") == caller.last
    assert caller.reply("Thank you. Your report is filed.") is None  # more is coming: wait
    right = f"Let me read that back. {name}, at {place.street} and {place.cross_street}. Right?"
    assert _caller("intersection").reply(right) == Turn("say", "yes")
    # Asked for "anything else" before any ticket: the caller tells the complaint again.
    fresh = _caller("intersection")
    complaint = Turn("say", f"yes, {fresh.call.says[0]}")
    assert fresh.reply("Okay. Is there anything else I can help with?") == complaint
    filed = "Thank you. Your ticket number is 1, 2. Is there anything else?"
    assert caller.reply(filed) == Turn("say", "no thanks, that's all, goodbye")
    assert caller.reply("Thank you for calling. Goodbye.") is None
    assert (
        spelled("Lark Street") == "L, A, R, K" and spelled("Broadway") == "B, R, O, A, D, W, A, Y"
    )
    assert (
        keyed("Lark Street") == "5275#"
        and keyed("Broadway") == "27623929#"
        and keyed("10th Street") == "1084#"
    )


def test_the_responsive_caller_keys_its_problem_from_the_list() -> None:
    listed = (
        "Press 1 for Illegal parking, 2 for Dead animal, 3 for Noise, 4 for Pothole or road "
        "damage, 5 for Streetlight out. Or tell me in a few words: what is the problem?"
    )
    calls = load_calls(CALLS_FILE)
    kinds = ROOT / "data" / "complaint_kinds.yaml"
    pothole = next(c for c in calls if c.kind == "pothole")
    caller = ResponsiveCaller(pothole, questions(kinds), kind_names(kinds))
    assert caller.reply(listed) == Turn("press", "4")
    # A problem the list does not have is said again, as the bot asks.
    tree = next(c for c in calls if c.kind == "fallen_tree")
    caller = ResponsiveCaller(tree, questions(kinds), kind_names(kinds))
    assert caller.reply(listed) == Turn("say", tree.says[0])
