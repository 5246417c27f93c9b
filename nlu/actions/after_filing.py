"""After a ticket is filed, "Is there anything else?": what the caller adds about the same
problem ("the car is a red truck") becomes a note on that ticket, not a new report.

A new report is a message that names another place, or another kind of problem in the
kind's own words (its keywords, from data/complaint_kinds.yaml); anything else the
caller says there, in a few words or more, is an addition.
"""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz import fuzz

from nlu.actions.turn import Turn, spoken_digits
from nlu.location import normalize_location

MIN_WORDS = 3  # "yes", "no thanks" are answers, not additions
# A message made only of these words closes the call ("no thanks that's all, goodbye");
# the recognizer's low confidence on such a jumble must not turn it into a note.
CLOSING_WORDS = frozenset(
    {
        "no",
        "nope",
        "nah",
        "thanks",
        "thank",
        "you",
        "that",
        "that's",
        "thats",
        "is",
        "it",
        "all",
        "goodbye",
        "bye",
        "good",
        "night",
        "day",
        "have",
        "a",
        "nice",
        "nothing",
        "else",
        "ok",
        "okay",
        "alright",
        "fine",
        "great",
        "cheers",
        "much",
        "very",
        "so",
    }
)
ENDING_WORDS = frozenset({"no", "nope", "nah", "all", "goodbye", "bye", "nothing"})
SAME_PLACE = 85  # rapidfuzz token-set ratio of two ways of saying one place


def remember_filed(turn: Turn, number: str, kind: str | None) -> None:
    """What the next "anything else" answer may add to (the report's slots are forgotten)."""
    place = turn.slot("place") if turn.slot("place_verified") else None
    turn.set(
        "filed_report",
        {
            "number": number,
            "kind": kind,
            "said": turn.slot("location"),
            "place": (place or {}).get("label"),
        },
    )


def note_if_added(turn: Turn) -> bool:
    """The caller's words added to the ticket just filed, and said so, or the call closed
    when they only say goodbye; False if this message is neither (the dialogue goes on
    as it would have)."""
    filed = turn.slot("filed_report")
    text = turn.text.strip()
    if not isinstance(filed, dict) or text.startswith("/"):
        return False
    if is_closing(text):
        # Said here, not as a follow-up action: after a follow-up, the rule for the message
        # ("not understood" -> action_fallback) fired again, and the caller heard the
        # goodbye once per action until Rasa's limit of actions per message.
        if turn.active_loop:
            turn.end_form()
        turn.say("utter_goodbye")
        return True
    if len(re.findall(r"[\w']+", text)) < MIN_WORDS:
        return False
    if is_new_report(turn, filed):
        turn.set("filed_report", None)
        return False
    number = turn.dispatch.add_caller_note(turn.call_sid, text)
    if not number:
        return False
    # Slots this message filled as if it began a report ("truck" as a vehicle) go.
    kind = turn.slot("kind")
    for slot in ["kind", "location", *(turn.kind_slots(kind) if kind in turn.kinds() else [])]:
        turn.set(slot, None)
    turn.say("utter_note_added", spoken_number=spoken_digits(number))
    return True


def is_closing(text: str) -> bool:
    """Only words of leave-taking, with at least one that ends ("no", "all", "bye")."""
    words = re.findall(r"[\w']+", text.lower())
    return bool(words) and set(words) <= CLOSING_WORDS and bool(ENDING_WORDS & set(words))


def is_new_report(turn: Turn, filed: dict[str, Any]) -> bool:
    place = turn.entity("location")
    if place and not same_place(place, filed):
        return True
    kind = turn.intent if turn.intent in turn.kinds() else None
    return bool(kind and kind != filed.get("kind") and names_kind(turn, kind))


def same_place(said: str, filed: dict[str, Any]) -> bool:
    words = normalize_location(said).lower()
    known = [str(v).lower() for v in (filed.get("place"), filed.get("said")) if v]
    return any(fuzz.token_set_ratio(words, k) >= SAME_PLACE for k in known)


def names_kind(turn: Turn, kind: str) -> bool:
    """The caller's message names this kind in its own words (data/complaint_kinds.yaml)."""
    keywords = [k.strip().lower() for k in turn.prompt(f"utter_words_kind_{kind}")[0].split(",")]
    text = turn.text.lower()
    return any(k and re.search(rf"(?<!\w){re.escape(k)}", text) for k in keywords)
