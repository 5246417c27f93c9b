"""What happens around a complaint: emergencies, a person or voicemail, ticket status,
not being understood, silence, repeating, goodbye and hang-up."""

from __future__ import annotations

from nlu.actions import after_filing, place
from nlu.actions.complaint import (
    clean_answer,
    file_triage,
    forget_report,
    report_from,
    report_in_progress,
)
from nlu.actions.turn import Turn, spoken_digits
from nlu.contract import Expect, Outcome, ReplyControl
from nlu.numbers import digits_only

# --- emergency --------------------------------------------------------------------


EMERGENCY_ASKS = 2  # then the caller has twice been told to call the emergency number


def _times_done(turn: Turn, action: str) -> int:
    events = turn.tracker.get("events") or []
    return sum(1 for e in events if e.get("event") == "action" and e.get("name") == action)


def emergency(turn: Turn) -> None:
    if _times_done(turn, "action_emergency_declined") >= EMERGENCY_ASKS:
        # Declined twice: a misheard sentence set it off again and again (seen asked ten
        # times in a row on one call); now the words are taken as any other answer.
        _not_an_emergency(turn)
        return
    if turn.active_loop and turn.active_loop.removesuffix("_form") in turn.kinds():
        # Put the report aside: if the caller declines the transfer we go on with it.
        turn.set("paused_form", turn.active_loop)
        turn.end_form()
    turn.say(
        "utter_emergency",
        control=ReplyControl(expect=Expect.YES_NO),
        emergency_number=turn.emergency_number,
    )


def emergency_transfer(turn: Turn) -> None:
    ticket_number = None
    if report_in_progress(turn):
        # The call leaves us: keep the report they had started.
        reason = "caller was transferred to the emergency number mid-report"
        ticket_number = file_triage(turn, reason)
    control = ReplyControl(
        transfer_to=turn.emergency_number,
        ticket_number=ticket_number,
        outcome=Outcome.EMERGENCY_REFERRED,
    )
    turn.say("utter_emergency_transfer", control=control, emergency_number=turn.emergency_number)


def emergency_declined(turn: Turn) -> None:
    # Told to call the emergency number themselves: referred, whatever the call does next.
    turn.say(
        "utter_emergency_declined",
        control=ReplyControl(outcome=Outcome.EMERGENCY_REFERRED),
        emergency_number=turn.emergency_number,
    )
    paused = turn.slot("paused_form")
    if paused:
        turn.set("paused_form", None)
        turn.say("utter_resume")
        turn.followup(paused)
    elif turn.slot("filed_report") or report_in_progress(turn):
        turn.say("utter_anything_else")
    else:
        # Nothing reported yet: the caller rang to report something (a misheard "a stray
        # dog chasing people" is not an emergency); "anything else?" lost that report.
        turn.say("utter_keypad_report")


def _caller_said(turn: Turn) -> str:
    """The caller's own words: the safety net sends them as the emergency intent, with the
    words in the message's metadata (nlu/client.py)."""
    for event in reversed(turn.tracker.get("events") or []):
        if event.get("event") == "user":
            return str((event.get("metadata") or {}).get("said") or event.get("text") or "")
    return turn.text


def _not_an_emergency(turn: Turn) -> None:
    """The sentence as the answer to the form's question, or not understood."""
    form, asked = turn.active_loop, turn.slot("requested_slot")
    if form and asked and asked not in ("location", "correction"):
        turn.set(asked, clean_answer(_caller_said(turn)) or None)
        turn.followup(form)
    elif form:
        turn.followup(form)  # the place, or a correction: asked again (at most twice)
    else:
        fallback(turn)


# --- a person, or voicemail ---------------------------------------------------------


def transfer(turn: Turn) -> None:
    if turn.active_loop:
        turn.end_form()
    phone = turn.dispatch.on_duty_phone(turn.slot("kind"))
    if not phone:
        turn.say("utter_nobody_available")
        turn.followup("voicemail_form")
        return
    number = file_triage(
        turn,
        "caller asked for a person",
        description="The caller asked for a person and was put through to the officer on duty.",
    )
    turn.say(
        "utter_transfer",
        control=ReplyControl(transfer_to=phone, ticket_number=number, outcome=Outcome.TRANSFERRED),
        spoken_number=spoken_digits(number),
    )
    # Put through: nothing more this turn. Reached from the not-understood path, the
    # policy predicted that path again after it, and one turn put the caller through five
    # times, a triage ticket each.
    turn.followup("action_listen")


def file_voicemail(turn: Turn) -> None:
    message = turn.slot("voicemail") or ""
    turn.set("voicemail", None)
    kind = turn.slot("kind")
    filed = turn.dispatch.file_complaint(
        report_from(
            turn,
            kind=kind if kind in turn.kinds() else None,
            description=f"Voicemail: {message}",
            needs_triage=kind not in turn.kinds(),
            triage_reason=None if kind in turn.kinds() else "voicemail, nobody on duty reachable",
        )
    )
    forget_report(turn)
    turn.say(
        "utter_voicemail_saved",
        control=ReplyControl(ticket_number=filed.number, end_call=True, outcome=Outcome.VOICEMAIL),
        spoken_number=spoken_digits(filed.number),
    )


# --- ticket status ------------------------------------------------------------------

NO_TICKET_NUMBER = "none"  # fills the form after two answers without a number


def validate_status_form(turn: Turn) -> None:
    asked = turn.slot("requested_slot") == "ticket_number"
    for slot, value in turn.slots_to_validate().items():
        if slot != "ticket_number":
            continue
        if turn.intent == "keypad" and not asked:
            # The menu key that opened this form ("press 2") is not a ticket number.
            turn.set("ticket_number", None)
            continue
        spoken = asked and not turn.text.startswith("/")
        # Asked for: every digit of the answer, not only what the model tagged.
        number = digits_only(turn.text if spoken else str(value or ""))
        if not number:
            turn.say("utter_status_no_number")
            question = turn.prompt("utter_ask_status_form_ticket_number")[0]
            if asked and turn.times_asked(question) >= 2:
                # Never a third time: the form ends, and action_ticket_status offers the rest.
                turn.set("ticket_number", NO_TICKET_NUMBER)
                continue
        turn.set("ticket_number", number or None)


def ticket_status(turn: Turn) -> None:
    number = digits_only(str(turn.slot("ticket_number") or ""))
    turn.set("ticket_number", None)
    if not number:  # asked twice and not understood (validate_status_form)
        turn.say("utter_anything_else")
        return
    # Status and department in the caller's language (the line's, from the call's metadata).
    locale = turn.metadata.get("locale")
    view = turn.dispatch.find_ticket(number, locale) if number else None
    if view is None:
        turn.say("utter_status_not_found", spoken_number=spoken_digits(number))
        return
    kind_name = (
        turn.prompt(f"utter_kind_{view.kind}")[0] if view.kind in turn.kinds() else view.kind_name
    )
    turn.say(
        "utter_status",
        control=ReplyControl(outcome=Outcome.STATUS_CHECK),
        spoken_number=spoken_digits(view.number),
        kind_name=kind_name,
        status_label=view.status_label,
        department_name=view.department_name,
    )


# --- not understood, keypad, repeat, silence ----------------------------------------------


def _streak(turn: Turn, *intents: str) -> int:
    """How many of the caller's latest messages in a row had one of these intents."""
    count = 0
    for event in reversed(turn.tracker.get("events") or []):
        if event.get("event") != "user":
            continue
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") not in intents:
            break
        count += 1
    return count


def fallback(turn: Turn) -> None:
    # An emergency declined twice counts as not understood (_not_an_emergency).
    misses = _streak(turn, "nlu_fallback", "emergency")
    if misses <= 1 and after_filing.note_if_added(turn):
        return
    if misses <= 1:
        turn.say("utter_rephrase")
    elif misses == 2 and turn.slot("keypad_menu") == "kinds":
        # The list of problems is on offer: a key is what works now. The first menu again
        # would make its "1" (report a problem) read as the list's 1 (a wrong kind filed).
        keypad_kinds(turn)
    elif misses == 2:
        turn.say("utter_keypad_menu")
    else:
        turn.say("utter_handoff")
        turn.followup("action_transfer")


def keypad_kinds(turn: Turn) -> None:
    """The keypad's list of problems (the kinds with a `keypad` key): for a caller the
    recognizer does not understand, the kind by a key, then the form's questions."""
    items = [
        turn.prompt(
            "utter_keypad_kind_item", key=key, kind_name=turn.prompt(f"utter_kind_{code}")[0]
        )[0]
        for key, code in sorted((key, code) for code, key in _keypad_keys(turn).items())
    ]
    turn.set("keypad_menu", "kinds")
    turn.say("utter_keypad_kinds", menu=", ".join(items))


def _keypad_keys(turn: Turn) -> dict[str, str]:
    """kind -> its key, from the domain (generated from data/complaint_kinds.yaml)."""
    responses = turn.domain.get("responses") or {}
    return {
        code: turn.prompt(f"utter_keypad_kind_{code}")[0]
        for code in turn.kinds()
        if f"utter_keypad_kind_{code}" in responses
    }


def _kind_by_key(turn: Turn, digits: str) -> None:
    turn.set("keypad_menu", None)
    kind = next((code for code, key in _keypad_keys(turn).items() if key == digits), None)
    if kind is None:
        turn.say("utter_keypad_invalid")
        keypad_kinds(turn)
        return
    turn.set("filed_report", None)
    turn.set("kind", kind)
    turn.followup(f"{kind}_form")


def keypad(turn: Turn) -> None:
    digits = digits_only(turn.entity("digits") or "")
    form = turn.active_loop
    asked = turn.slot("requested_slot")
    if not form and turn.slot("keypad_menu") == "kinds" and digits not in ("", "0"):
        _kind_by_key(turn, digits)
    elif form and asked == "location":
        # The street keyed on the phone's letters, or its house number; else the place is
        # asked again.
        place.keyed_place(turn, digits)
        turn.followup(form)
    elif form and asked:
        # A form's question answered on the keypad ("how many lights?" -> 3).
        turn.set(asked, digits or None)
        turn.followup(form)
    elif digits == "1":
        if _keypad_keys(turn):
            keypad_kinds(turn)
        else:
            turn.say("utter_keypad_report")
    elif digits == "2":
        turn.followup("status_form")
    elif digits == "0":
        turn.followup("action_transfer")
    elif len(digits) >= 6:
        turn.set("ticket_number", digits)
        turn.followup("action_ticket_status")
    else:
        turn.say("utter_keypad_invalid")
        turn.say("utter_keypad_menu")


def what_else(turn: Turn) -> None:
    """ "Yes" to "anything else?": what comes next is a new report, not a note."""
    turn.set("filed_report", None)
    turn.say("utter_what_else")


def out_of_scope(turn: Turn) -> None:
    if not after_filing.note_if_added(turn):
        turn.say("utter_out_of_scope")


def repeat(turn: Turn) -> None:
    if turn.active_loop:
        turn.followup(turn.active_loop)  # the form asks its question again
        return
    last = turn.last_bot_text()
    if last:
        turn.responses.append({"text": last})
    else:
        turn.say("utter_how_can_i_help")


def no_input(turn: Turn) -> None:
    if _streak(turn, "no_input") >= 3:  # re-prompt twice, end on the third silence
        if report_in_progress(turn):
            file_triage(turn, "caller went silent before the report was filed")
        turn.say("utter_no_input_goodbye", control=ReplyControl(outcome=Outcome.NO_INPUT))
        return
    turn.say("utter_no_input")
    repeat(turn)


# --- the end of the call --------------------------------------------------------------------


# What a call has done once one of these ran: a "no" then is the end of the call.
_DONE = (
    "action_file_ticket",
    "action_ticket_status",
    "action_transfer",
    "action_file_voicemail",
    "action_emergency_transfer",
    "action_goodbye",  # the caller was asked once already
)


def _nothing_done_yet(turn: Turn) -> bool:
    """Nothing reported, filed, checked or put through in the call so far."""
    if turn.active_loop or report_in_progress(turn):
        return False
    return not any(_times_done(turn, action) for action in _DONE)


def goodbye(turn: Turn) -> None:
    if _nothing_done_yet(turn):
        # A misheard opening taken for "no" or "bye" ("There are not three non-caping
        # people", also after an emergency declined) ended the call before anything was
        # understood: the caller is asked once.
        turn.say("utter_anything_to_report")
        return
    if turn.active_loop:
        turn.end_form()
    if report_in_progress(turn):
        number = file_triage(turn, "caller said goodbye before confirming the report")
        turn.say(
            "utter_saved_before_goodbye",
            control=ReplyControl(ticket_number=number),
            spoken_number=spoken_digits(number),
        )
    turn.say("utter_goodbye")


def thanks(turn: Turn) -> None:
    """ "Thank you" asks whether there is more; "that's all, thank you, goodbye" ends."""
    if after_filing.is_closing(turn.text):
        goodbye(turn)
    else:
        turn.say("utter_welcome")


def hangup(turn: Turn) -> None:
    """The caller hung up: keep a report in progress for triage. Nobody hears a reply."""
    if turn.active_loop:
        turn.end_form()
    if report_in_progress(turn):
        number = file_triage(turn, "caller hung up before the report was filed")
        turn.control(ReplyControl(ticket_number=number, end_call=True))
