"""A complaint from first words to ticket: validating the form's answers, reading the
report back, taking a correction, filing. The place has its own steps (place.py)."""

from __future__ import annotations

import re

from dispatch.contract import ComplaintReport
from nlu.actions import after_filing, place
from nlu.actions.turn import Turn, spoken_digits
from nlu.contract import Expect, Outcome, ReplyControl
from nlu.location import FILLERS, is_vague, normalize_location
from nlu.numbers import words_to_digits

COMPLAINT_SLOTS_EXTRA = ("kind", "location", "correction", "paused_form")
STOP_WORDS = {"or", "and", "the", "what", "how", "is", "it", "any", "with", "of", "a", "on"}


def clean_answer(text: str) -> str:
    """An answer as an officer reads it: fillers gone, spoken numbers as digits."""
    words = [w for w in re.sub(r"[^\w\s'-]", " ", text.lower()).split() if w not in FILLERS]
    return words_to_digits(" ".join(words), lone_one=True).strip()


# --- the form ---------------------------------------------------------------------


def validate_complaint_form(turn: Turn, kind: str) -> None:
    candidates = turn.slots_to_validate()
    if not candidates:
        # Nothing was taken from this message (e.g. "let me talk to a person"): returning
        # no slot lets the form reject it, so the rules for interruptions can answer.
        return
    if turn.slot("kind") != kind:
        turn.set("kind", kind)
    asked = turn.slot("requested_slot")
    for slot, value in candidates.items():
        if value is None:
            continue  # cleared for a correction: the form asks it again
        if slot == "location":
            # Asked for: the whole answer is the place. Said unasked: the model's entity.
            place.validate_place(turn, value, whole_answer=asked == "location")
        elif slot in turn.kind_slots(kind):
            _validate_detail(turn, kind, slot, value, whole_answer=asked == slot)


def _validate_detail(
    turn: Turn, kind: str, slot: str, value: object, *, whole_answer: bool
) -> None:
    not_known = turn.prompt("utter_value_not_known")[0]
    if whole_answer and turn.intent == "dont_know":
        turn.set(slot, not_known)
        return
    answer = clean_answer(turn.text if whole_answer else str(value or ""))
    if not answer and whole_answer:
        # Nothing left (e.g. just "um"): asked again, but never a third time.
        question = turn.prompt(f"utter_ask_{kind}_form_{slot}")[0]
        answer = not_known if turn.times_asked(question) >= 2 else ""
    turn.set(slot, answer or None)


def new_report(turn: Turn) -> None:
    """A complaint kind was named: its form, unless it only adds to the ticket just filed."""
    if after_filing.note_if_added(turn):
        return
    turn.set("filed_report", None)
    turn.set("keypad_menu", None)  # said instead of keyed: the keypad's list is over
    kind = turn.intent if turn.intent in turn.kinds() else turn.slot("kind")
    if kind not in turn.kinds():
        raise RuntimeError(f"a new report of an unknown kind {kind!r}")
    turn.followup(f"{kind}_form")


def location_first(turn: Turn) -> None:
    """The caller named the place before the problem: keep it, ask what is wrong there."""
    if after_filing.note_if_added(turn):
        return
    words = normalize_location(turn.entity("location") or turn.text)
    if not words or is_vague(words):
        turn.say("utter_dont_know")
        return
    match = place.find(turn, words)
    verified: bool | None = None
    question, values = "utter_ask_kind", {}  # not confident: the form checks it again
    if match.confident and match.best:
        verified, question, values = (
            True,
            "utter_ask_kind_at_location",
            {"location": match.best.label},
        )
    elif not match.candidates and not place.city_can_match(turn, words):
        verified, question, values = False, "utter_ask_kind_at_location", {"location": words}
    if turn.times_asked(turn.prompt(question, **values)[0]) >= 2:
        # Asked twice already and still no problem named: file what we have for triage.
        number = file_triage(turn, "the caller named a place but no problem the line knows")
        after_filing.remember_filed(turn, number, None)
        turn.say(
            "utter_saved_for_review",
            control=ReplyControl(ticket_number=number, outcome=Outcome.TICKET_FILED),
            spoken_number=spoken_digits(number),
        )
        return
    place.forget_place(turn)
    turn.set("filed_report", None)
    turn.set("location", words)
    if verified is not None:
        turn.set("place_verified", verified)
    if verified and match.best:
        turn.set("place", match.best.model_dump(mode="json"))
    turn.say(question, **values)


# --- read-back and correction -----------------------------------------------------


def read_back(turn: Turn) -> None:
    kind = turn.slot("kind")
    if not kind:
        raise RuntimeError("read-back without a complaint kind")
    details = " ".join(
        turn.prompt(
            "utter_read_back_detail",
            label=turn.prompt(f"utter_label_{kind}_{slot}")[0],
            value=turn.slot(slot),
        )[0]
        for slot in turn.kind_slots(kind)
        if turn.slot(slot)
    )
    turn.say(
        "utter_read_back",
        control=ReplyControl(expect=Expect.READ_BACK),
        kind_name=turn.prompt(f"utter_kind_{kind}")[0],
        location=place.spoken_place(turn),
        details=details,
    )


def _mentions(words: list[str], keys: set[str]) -> int:
    """How many keys the caller said; a key may carry a particle ("위치요" says 위치).

    Short English keys ("in", "on") would match too much: they need three letters.
    """
    keys = {k for k in keys if len(k) >= 3 or not k.isascii()}
    return sum(1 for key in keys if any(word.startswith(key) for word in words))


def _correction_target(turn: Turn, kind: str, text: str) -> str | None:
    words = re.findall(r"[\w']+", text.lower())
    best, best_score = None, 0
    for slot in turn.kind_slots(kind):
        label = turn.prompt(f"utter_label_{kind}_{slot}")[0].lower()
        keys = (set(slot.split("_")) | set(re.findall(r"[\w']+", label))) - STOP_WORDS
        score = _mentions(words, keys)
        if score > best_score:
            best, best_score = slot, score
    if best:
        return best
    # The locale's words for "the place" (address, street...), kept with its prompts.
    place_words = set(turn.prompt("utter_words_place")[0].lower().split())
    if (
        _mentions(words, place_words)
        or turn.entity("location")
        or re.search(r"\d", clean_answer(text))
    ):
        return "location"
    return None


def apply_correction(turn: Turn) -> None:
    """After "no" to the read-back: clear the part the caller says is wrong and ask it again."""
    kind = turn.slot("kind")
    if not kind:
        raise RuntimeError("correction without a complaint kind")
    text = turn.slot("correction") or ""
    turn.set("correction", None)
    latest_kind = turn.intent if turn.intent in turn.kinds() else None
    # Another kind only when the caller names it: a place alone ("it's 14 Oak Street")
    # often leans the model to some kind, and that is a correction of the place.
    if latest_kind and latest_kind != kind and after_filing.names_kind(turn, latest_kind):
        # "it's not parking, it's a tree down": another kind, same place.
        for slot in turn.kind_slots(kind):
            turn.set(slot, None)
        turn.set("kind", latest_kind)
        turn.followup(f"{latest_kind}_form")
        return
    target = _correction_target(turn, kind, text)
    if target is None:
        turn.say("utter_correction_redo")
        for slot in ["location", *turn.kind_slots(kind)]:
            turn.set(slot, None)
    else:
        turn.set(target, None)
    if target in (None, "location"):
        place.forget_place(turn)  # the place is asked from the start
    turn.followup(f"{kind}_form")


# --- filing ---------------------------------------------------------------------------


def report_from(turn: Turn, **extra: object) -> ComplaintReport:
    kind = turn.slot("kind")
    details = (
        {slot: str(turn.slot(slot)) for slot in turn.kind_slots(kind) if turn.slot(slot)}
        if kind in turn.kinds()
        else {}
    )
    matched, verified = place.place_of(turn)
    values: dict[str, object] = {
        "kind": kind,
        "location": turn.slot("location"),
        "place": matched,
        "place_verified": verified,
        "lat": matched.lat if matched else None,
        "long": matched.long if matched else None,
        "details": details,
        # No caller number: dispatch takes it from the call's record (Twilio's From), never
        # from the tracker, where anyone's words or a forged action call could put one.
        "call_sid": turn.call_sid,
        "channel": "phone",
        "transcript": turn.transcript() or None,
    }
    values.update(extra)
    return ComplaintReport.model_validate(values)


def report_in_progress(turn: Turn) -> bool:
    return bool(turn.slot("kind") or turn.slot("location"))


def forget_report(turn: Turn) -> None:
    kind = turn.slot("kind")
    for slot in [*COMPLAINT_SLOTS_EXTRA, *(turn.kind_slots(kind) if kind else [])]:
        turn.set(slot, None)
    place.forget_place(turn)


def file_ticket(turn: Turn) -> None:
    filed = turn.dispatch.file_complaint(report_from(turn))
    if filed.duplicate_of:
        turn.say(
            "utter_duplicate",
            control=ReplyControl(ticket_number=filed.number, outcome=Outcome.TICKET_FILED),
            spoken_number=spoken_digits(filed.duplicate_of),
            department_name=filed.department_name,
        )
    else:
        turn.say(
            "utter_filed",
            control=ReplyControl(ticket_number=filed.number, outcome=Outcome.TICKET_FILED),
            spoken_number=spoken_digits(filed.number),
            department_name=filed.department_name,
        )
        turn.say("utter_next_steps")
    after_filing.remember_filed(turn, filed.number, turn.slot("kind"))
    forget_report(turn)


def file_triage(turn: Turn, reason: str, *, description: str | None = None) -> str:
    """Keep whatever the caller said as a ticket a supervisor sorts out."""
    kind = turn.slot("kind")
    filed = turn.dispatch.file_complaint(
        report_from(
            turn,
            kind=kind if kind in turn.kinds() else None,
            needs_triage=True,
            triage_reason=reason,
            description=description,
        )
    )
    forget_report(turn)
    return filed.number
