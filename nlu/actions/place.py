"""Where the problem is: the caller's words checked against the city's own places.

A place is only ever read back as the city names it (a confident match of its data) or
as the caller's own words, marked unverified. The steps, kept in slots between turns:

- a confident match: read back its canonical label ("Got it, 42 Lark Street.");
- two or three close candidates: ask which ("Did you mean Linden Way or Linden Terrace?");
  the answer is matched against them first (a distinguishing word, or "the second one");
- nothing, or only pointing words ("here", "my street"): ask again; the second time, ask
  the caller to spell the street, then to key the house number (then '#');
- nothing after that: keep the caller's words, unverified, for an officer. Never invent one.

When the city's data cannot match what the caller says at all (no places imported, or
words in another script than the city's names: a Korean caller against an English city),
the words are read back and kept unverified at once, as before the city had a map.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from rapidfuzz import fuzz

from dispatch.contract import AMBIGUOUS_MARGIN, PlaceCandidate, PlaceKind, PlaceMatch
from nlu.actions.turn import Turn
from nlu.contract import Expect, ReplyControl
from nlu.keyed_letters import keyed_streets
from nlu.location import is_vague, normalize_location, spelled_word
from nlu.numbers import digits_only, words_to_digits

log = logging.getLogger("dutyline.nlu.actions")

# `place`: the matched PlaceCandidate (as JSON); `place_verified`: True for a match, False
# for the caller's words kept unverified; the rest is the state of the questions.
PLACE_SLOTS = (
    "place",
    "place_verified",
    "place_choices",
    "place_step",
    "place_misses",
    "place_said",
)
WHICH, SPELL, NUMBER = "which", "spell", "number"
MAX_CHOICES = 3
ERROR = "error"  # the geocoder failed: the caller's words are kept, nobody is asked to spell
SAME_WORD = 80  # rapidfuzz ratio above which an answer's word names a choice's word


# --- the city's data -------------------------------------------------------------------


def line_city(turn: Turn) -> str | None:
    """The city of the line the caller dialled (voice/ puts it in the call's metadata);
    None: the deployment's first line's."""
    return str(turn.metadata.get("city") or "") or None


def find(turn: Turn, words: str) -> PlaceMatch:
    """The city's candidates; a failing geocoder is no match (the words are kept)."""
    city = line_city(turn)
    try:
        return turn.dispatch.find_place(words, city) if city else turn.dispatch.find_place(words)
    except Exception:
        log.exception("finding a place failed on call %s", turn.sender_id)
        return PlaceMatch(said=words, problem=ERROR)


def _scripts(text: str) -> set[str]:
    return {unicodedata.name(ch, "?").split(" ")[0] for ch in text if ch.isalpha()}


def city_can_match(turn: Turn, words: str) -> bool:
    """Could the city's names be what the caller said? No when it has none, or none in
    the script the caller's words are in."""
    try:
        city = line_city(turn)
        vocabulary = (
            turn.dispatch.place_vocabulary(city) if city else turn.dispatch.place_vocabulary()
        )
    except Exception:
        log.exception("the city's place names are unavailable on call %s", turn.sender_id)
        return False
    names = " ".join([*vocabulary.streets, *vocabulary.landmarks, *vocabulary.aliases])
    said = _scripts(words)
    return bool(names.strip()) and (not said or bool(said & _scripts(names)))


def candidate(value: Any) -> PlaceCandidate | None:
    return PlaceCandidate.model_validate(value) if value else None


def _choices(match: PlaceMatch) -> list[PlaceCandidate]:
    best = match.best
    if best is None:
        return []
    close = [c for c in match.candidates if c.confidence >= best.confidence - AMBIGUOUS_MARGIN]
    unique = list({c.label: c for c in reversed(close)}.values())[::-1]
    return unique[:MAX_CHOICES]


# --- the caller's answer ------------------------------------------------------------


def validate_place(turn: Turn, value: object, *, whole_answer: bool) -> None:
    """Validate the form's location: asked for (the whole answer) or said unasked."""
    if not whole_answer:
        _said_unasked(turn, str(value or ""))
        return
    step = turn.slot("place_step")
    if step == NUMBER:
        _house_number(turn, turn.text)
        return
    if step == SPELL:
        _spelled(turn, turn.text)
        return
    if step == WHICH:
        chosen = pick(turn, turn.text, [candidate(c) for c in turn.slot("place_choices") or []])
        if chosen is not None:
            _found(turn, chosen)
            return
    words = normalize_location(turn.text)
    if turn.intent == "dont_know" or not words or is_vague(words):
        _missed(turn, None)
        return
    match = find(turn, words)
    if match.confident and match.best:
        _found(turn, match.best, said=words)
    elif not match.candidates and (match.problem == ERROR or not city_can_match(turn, words)):
        keep_as_said(turn, words, prompt="utter_location_read_back")
    elif match.ambiguous and step != WHICH:
        _ask_which(turn, match, words)
    else:
        _missed(turn, words)


def _said_unasked(turn: Turn, value: str) -> None:
    """A place in the first sentence, or named before the problem: kept if the city has it."""
    if turn.slot("place_verified") is not None and value == turn.slot("location"):
        return  # checked when it was said (location first); the form only picks it up
    words = normalize_location(value)
    if not words or is_vague(words):
        turn.set("location", None)  # asked for properly: "Where is it?"
        return
    match = find(turn, words)
    if match.confident and match.best:
        _found(turn, match.best, said=words)
    elif not match.candidates and (match.problem == ERROR or not city_can_match(turn, words)):
        keep_as_said(turn, words, prompt="utter_location_read_back")
    elif match.ambiguous:
        _ask_which(turn, match, words)
    else:
        turn.set("location", None)


def pick(turn: Turn, answer: str, choices: list[PlaceCandidate | None]) -> PlaceCandidate | None:
    """The choice the answer names: a word only it has ("terrace"), or its place in the list."""
    options = [c for c in choices if c is not None]
    said = re.findall(r"[\w']+", answer.lower())
    if not options or not said:
        return None
    words = [set(re.findall(r"[\w']+", c.label.lower())) for c in options]
    scores = []
    for i, own in enumerate(words):
        others = set().union(*(w for j, w in enumerate(words) if j != i))
        scores.append(
            sum(1 for w in own - others if any(fuzz.ratio(w, s) >= SAME_WORD for s in said))
        )
    best = max(scores)
    if best and scores.count(best) == 1:
        return options[scores.index(best)]
    # "the second one": the locale's ordinal words, kept with its prompts.
    named = [
        i
        for i in range(len(options))
        if set(turn.prompt(f"utter_words_choice_{i + 1}")[0].lower().split()) & set(said)
    ]
    return options[named[0]] if len(named) == 1 else None


def _spelled(turn: Turn, answer: str) -> None:
    word = spelled_word(answer)
    match = find(turn, word) if word and turn.intent != "dont_know" else PlaceMatch(said=word)
    if match.confident and match.best:
        _found(turn, match.best)
    elif match.ambiguous:
        _ask_which(turn, match, word)
    else:
        give_up(turn)


def _house_number(turn: Turn, answer: str) -> None:
    """The number on the street the caller spelled: spoken, or keyed (calls.keypad)."""
    street = candidate(turn.slot("place"))
    if street is None or not street.street:
        give_up(turn)
        return
    number = "" if turn.intent == "deny" else digits_only(words_to_digits(answer))
    if number:
        match = find(turn, f"{number} {street.street}")
        best = match.best
        if match.confident and best and best.street == street.street:
            _accept(turn, best, said=turn.slot("place_said"))
            return
    _accept(turn, street, said=turn.slot("place_said"))


def keyed_place(turn: Turn, digits: str) -> bool:
    """Keypad digits while the form asks for the place: the street's name keyed on the
    phone's letters (after two misses), or its house number; False at any other time."""
    if turn.slot("requested_slot") != "location":
        return False
    step = turn.slot("place_step")
    if step == NUMBER:
        _house_number(turn, digits)
    elif step == SPELL:
        _keyed_street(turn, digits)
    else:
        return False
    return True


def _keyed_street(turn: Turn, digits: str) -> None:
    """The street or landmark the keys spell: one is found (a street's house number is
    asked next), two or three are offered; none, or too many for the keys pressed, keeps
    the caller's words."""
    try:
        city = line_city(turn)
        book = turn.dispatch.place_vocabulary(city) if city else turn.dispatch.place_vocabulary()
        names = keyed_streets(digits, [*book.streets, *book.landmarks], MAX_CHOICES)
    except Exception:
        log.exception("the city's place names are unavailable on call %s", turn.sender_id)
        names = []
    found = [
        best
        for name in names
        if (best := find(turn, name).best) is not None and name in (best.street, best.label)
    ]
    if len(found) == 1:
        _found(turn, found[0])
    elif found:
        turn.set("location", None)
        turn.set("place_choices", [c.model_dump(mode="json") for c in found])
        turn.set("place_step", WHICH)
    else:
        give_up(turn)


def _found(turn: Turn, place: PlaceCandidate, *, said: str | None = None) -> None:
    """A place of the city. Reached by spelling, a street still wants its house number."""
    misses = int(turn.slot("place_misses") or 0)
    if misses >= 2 and place.kind == PlaceKind.STREET and place.number is None and place.street:
        corner = _corner_with(turn, place.street)
        if corner is not None:
            _accept(turn, corner, said=turn.slot("place_said"))
            return
        number = re.match(r"\s*(\d+)\b", turn.slot("place_said") or "")
        if number:
            match = find(turn, f"{number.group(1)} {place.street}")
            if match.confident and match.best and match.best.street == place.street:
                _accept(turn, match.best, said=turn.slot("place_said"))
                return
        else:
            turn.set("place", place.model_dump(mode="json"))
            turn.set("place_step", NUMBER)
            turn.set("place_choices", None)
            turn.set("location", None)
            return
    _accept(turn, place, said=said or turn.slot("place_said") or place.label)


def _corner_with(turn: Turn, street: str) -> PlaceCandidate | None:
    """The corner the caller first named ("Lark and 12th", heard "Clark and 12th"), its
    street now spelled: the spelled street with the other side of the "and" as heard (the
    side less like it); a confident corner of that street, else None (then the house
    number is asked)."""
    sides = re.split(r"\s+(?:and|&)\s+", turn.slot("place_said") or "", flags=re.IGNORECASE)
    if len(sides) != 2:
        return None
    other = min(sides, key=lambda side: fuzz.partial_ratio(street.lower(), side.lower()))
    match = find(turn, f"{street} and {other}")
    best = match.best
    if match.confident and best and best.kind == PlaceKind.INTERSECTION and street in best.label:
        return best
    return None


def _accept(turn: Turn, place: PlaceCandidate, *, said: str | None) -> None:
    forget_place(turn)
    turn.set("location", said or place.label)  # the caller's words, as every ticket keeps
    turn.set("place", place.model_dump(mode="json"))
    turn.set("place_verified", True)
    turn.say("utter_location_read_back", location=place.label)


def _ask_which(turn: Turn, match: PlaceMatch, words: str) -> None:
    turn.set("location", None)
    turn.set("place_choices", [c.model_dump(mode="json") for c in _choices(match)])
    turn.set("place_step", WHICH)
    if words and not turn.slot("place_said"):
        turn.set("place_said", words)


def _missed(turn: Turn, words: str | None) -> None:
    misses = int(turn.slot("place_misses") or 0) + 1
    turn.set("location", None)
    turn.set("place_misses", misses)
    turn.set("place_choices", None)
    turn.set("place_step", SPELL if misses >= 2 else None)
    if words and not turn.slot("place_said"):
        turn.set("place_said", words)


def give_up(turn: Turn) -> None:
    """Nothing matched after spelling: the caller's own words, unverified, for an officer."""
    words = turn.slot("place_said") or normalize_location(turn.text) or turn.text.strip()
    keep_as_said(turn, words, prompt="utter_place_noted")


def keep_as_said(turn: Turn, words: str, *, prompt: str) -> None:
    forget_place(turn)
    turn.set("location", words)
    turn.set("place_verified", False)
    turn.say(prompt, location=words)


def forget_place(turn: Turn) -> None:
    for slot in PLACE_SLOTS:
        turn.set(slot, None)


# --- asking -----------------------------------------------------------------------------


def ask_location(turn: Turn) -> None:
    """action_ask_location: the form's question for the place, as far as the steps got."""
    step = turn.slot("place_step")
    choices = [candidate(c) for c in turn.slot("place_choices") or []]
    labels = [c.label for c in choices if c is not None]
    place = candidate(turn.slot("place"))
    if step == WHICH and len(labels) >= 2:
        word_or = turn.prompt("utter_word_or")[0]
        joined = f"{', '.join(labels[:-1])} {word_or} {labels[-1]}"
        turn.say("utter_place_which", control=ReplyControl(expect=Expect.PLACE), choices=joined)
    elif step == NUMBER and place is not None:
        turn.say("utter_ask_house_number", street=place.label)
    elif step == SPELL:
        turn.say("utter_ask_spelling")
    elif int(turn.slot("place_misses") or 0) >= 1:
        turn.say("utter_location_again")
    else:
        turn.say("utter_ask_location")


# --- what the report carries -----------------------------------------------------------


def place_of(turn: Turn) -> tuple[PlaceCandidate | None, bool | None]:
    """The confirmed place (only when verified) and whether the place is verified."""
    verified = turn.slot("place_verified")
    place = candidate(turn.slot("place")) if verified else None
    return place, (None if verified is None else bool(verified))


def spoken_place(turn: Turn) -> str:
    """The place as the read-back says it: the city's name, or the words as said."""
    place, verified = place_of(turn)
    if place is not None:
        return place.label
    location = str(turn.slot("location") or "")
    return (
        turn.prompt("utter_place_as_said", location=location)[0] if verified is False else location
    )
