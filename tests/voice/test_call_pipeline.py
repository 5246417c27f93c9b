"""Calls through the real pipeline (real Silero VAD, Whisper, Piper) over real Twilio-format
frames, with a scripted dialogue: turns, barge-in, keypad, no input, transfer."""

from __future__ import annotations

import asyncio

import pytest

from callbench.caller_voices import synthesize_caller
from nlu.contract import BotReply
from voice.speech import speak

pytestmark = pytest.mark.slow

LONG_GREETING = (
    "Good evening, you have reached the city night line for civil complaints. "
    "I can take reports about parking, noise, potholes, streetlights and dumping. "
    "I will ask you a few questions and read the details back before I file anything. "
    "When you are ready, please tell me what you would like to report."
)


def caller(text: str) -> bytes:
    return synthesize_caller(text, voice="flite:slt", silence_before_ms=200)


async def connect(app, **options):
    line = app.line(**options)
    dialed = await line.dial()
    assert dialed.status_code == 200
    await line.open_stream(dialed)
    return line


async def wait_until(predicate, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_a_turn_reaches_the_dialogue_and_the_reply_is_spoken(telephony_app) -> None:
    line = await connect(telephony_app)
    assert await line.wait_for_bot()  # the greeting, played in full
    assert any(m.endswith(".end") for m in line.marks_echoed)
    line.speak(caller("There is a car blocking my driveway."))
    await line.wait_sent()
    assert await line.wait_for_bot()
    [said] = telephony_app.dialogue.said("say")
    assert "driveway" in said.lower()
    [start] = telephony_app.dialogue.said("start")
    assert start["caller_number"] == "+15555550123" and start["call_sid"] == line.call_sid
    await line.hang_up()
    await wait_until(lambda: telephony_app.dispatch.closed)
    turns = telephony_app.dispatch.turns
    assert [t.speaker for t in sorted(turns, key=lambda t: t.index)] == ["bot", "caller", "bot"]


async def test_barge_in_clears_playback_and_stops_synthesis(telephony_app, speech_models) -> None:
    full = b"".join(speak(speech_models.synthesizer("en"), LONG_GREETING))
    full_seconds = len(full) / 16000
    telephony_app.dialogue.replies["report"] = [BotReply(text="Go ahead.")]
    original_start = telephony_app.dialogue.start

    async def long_start(call_sid, metadata):
        await original_start(call_sid, metadata)
        return [BotReply(text=LONG_GREETING)]

    telephony_app.dialogue.start = long_start
    line = await connect(telephony_app)
    await wait_until(lambda: len(line.bot_audio) > 8000 * 2)  # two seconds of the greeting
    line.speak(caller("I want to report a noise problem."))
    await wait_until(lambda: line.clears >= 1, timeout=10)
    await line.wait_sent()
    assert await line.wait_for_bot()
    greeting_audio = len(line.bot_audio) / 8000 - 1.0  # minus the reply "Go ahead."
    assert greeting_audio < full_seconds * 0.6, "synthesis went on after the barge-in"
    said = telephony_app.dialogue.said("say")
    assert any("noise" in s.lower() for s in said), said
    await line.hang_up()
    await wait_until(lambda: telephony_app.dispatch.closed)
    greeting = min(telephony_app.dispatch.turns, key=lambda t: t.index)
    assert greeting.speaker == "bot" and "[interrupted" in greeting.text
    assert greeting.ended_ms is not None and greeting.ended_ms - greeting.started_ms < (
        full_seconds * 1000 * 0.6
    )


async def test_barge_in_does_not_cut_a_ticket_number(telephony_app) -> None:
    telephony_app.dialogue.replies["yes"] = [
        BotReply(
            text="Your ticket number is 2 4 0 0 0 7. A crew will look at it tonight. Goodbye.",
            control={"ticket_number": "240007", "end_call": True, "outcome": "ticket_filed"},
        )
    ]
    line = await connect(telephony_app)
    assert await line.wait_for_bot()
    line.speak(caller("Yes."))
    await line.wait_sent()
    await wait_until(lambda: len(line.bot_audio) > 8000)  # the ticket number is playing
    line.speak(caller("Wait, one more thing."))
    await wait_until(lambda: line.closed.is_set(), timeout=40)
    assert line.clears == 0 and line.hung_up_by == "bot"
    await wait_until(lambda: telephony_app.dispatch.closed)
    [end] = telephony_app.dispatch.closed
    assert end.outcome == "ticket_filed"
    assert telephony_app.call_control.actions("hang_up", line.call_sid)
    ticket_turn = [t for t in telephony_app.dispatch.turns if "ticket number" in t.text]
    assert ticket_turn and "[interrupted" not in ticket_turn[0].text


async def test_keypad_digits_reach_the_dialogue(telephony_app) -> None:
    dialogue = telephony_app.dialogue
    dialogue.keypad_replies["2"] = [
        BotReply(
            text="Please key in your ticket number, then press pound.",
            control={"expect": "digits"},
        )
    ]
    line = await connect(telephony_app)
    assert await line.wait_for_bot()
    await line.press("2")  # a menu choice goes at once
    await wait_until(lambda: dialogue.said("keypad") == ["2"])
    assert await line.wait_for_bot()
    await line.press("240031#")  # collected until '#'
    await wait_until(lambda: dialogue.said("keypad") == ["2", "240031"])
    assert await line.wait_for_bot()
    enter = BotReply(text="Enter the number.", control={"expect": "digits"})
    dialogue.keypad_replies["9"] = [enter]
    await line.press("9")
    await wait_until(lambda: len(dialogue.said("keypad")) == 3)
    assert await line.wait_for_bot()
    spell = BotReply(text="Spell the street, or key its letters.", control={"expect": "spelling"})
    dialogue.keypad_replies["55"] = [spell]
    await line.press("55")  # collected until a pause
    await wait_until(lambda: dialogue.said("keypad")[-1] == "55", timeout=10)
    assert await line.wait_for_bot()
    await line.press("5275#")  # a street's letters are collected too: L-A-R-K
    await wait_until(lambda: dialogue.said("keypad")[-1] == "5275")
    await line.hang_up()
    await wait_until(lambda: telephony_app.dispatch.closed)
    keyed = [t for t in telephony_app.dispatch.turns if t.via == "keypad"]
    assert sorted(t.text for t in keyed) == ["2", "240031", "5275", "55", "9"]


async def test_no_input_reprompts_then_ends_politely_after_the_third(make_telephony_app) -> None:
    with make_telephony_app(no_input_timeout_seconds=1.5) as app:
        line = await connect(app)
        await wait_until(lambda: line.closed.is_set(), timeout=60)
        assert line.hung_up_by == "bot"
        assert app.dialogue.said("event")[:2] == ["no_input", "no_input"]
        await wait_until(lambda: app.dispatch.closed)
        [end] = app.dispatch.closed
        assert end.outcome == "no_input"
        bot_lines = [t.text for t in sorted(app.dispatch.turns, key=lambda t: t.index)]
        assert bot_lines[1:3] == ["Are you still there?", "Are you still there?"]
        assert "Goodbye" in bot_lines[-1]
        assert app.call_control.actions("hang_up", line.call_sid)
        assert app.dispatch.reports == []  # nothing was said: nothing to file


async def test_transfer_to_the_officer_goes_through_call_control(telephony_app) -> None:
    telephony_app.dialogue.replies["officer"] = [
        BotReply(
            text="I will put you through to the officer on duty.",
            control={"transfer_to": "+15555550999"},
        )
    ]
    line = await connect(telephony_app)
    assert await line.wait_for_bot()
    line.speak(caller("Please let me talk to an officer."))
    await wait_until(lambda: line.closed.is_set(), timeout=40)
    [transfer] = telephony_app.call_control.actions("transfer", line.call_sid)
    assert transfer["to"] == "+15555550999" and ">+15555550999</Dial>" in transfer["twiml"]
    assert 'timeout="25"' in transfer["twiml"] and 'callerId="+15555550123"' in transfer["twiml"]
    await wait_until(lambda: telephony_app.dispatch.closed)
    assert telephony_app.dispatch.closed[0].outcome == "transferred"


async def test_a_voicemail_stream_takes_a_message_without_the_dialogue(make_telephony_app) -> None:
    """mode=voicemail (an unanswered transfer): a fixed prompt, the message recognized here;
    the pound key ends it: one voicemail ticket, thanks with its number, hang up."""
    with make_telephony_app() as app:
        line = app.line()
        dialed = await line.dial()
        dialed.parameters |= {"mode": "voicemail", "dial": "busy", "turn_base": "7"}
        await line.open_stream(dialed)
        assert await line.wait_for_bot()  # the prompt
        line.speak(caller("The street light on Oak Street is out."))
        await line.wait_sent()
        await line.press("#")
        await wait_until(lambda: line.closed.is_set(), timeout=60)
        assert line.hung_up_by == "bot" and app.call_control.actions("hang_up", line.call_sid)
        await wait_until(lambda: app.dispatch.closed)
        assert app.dialogue.calls == []  # Rasa never asked
        [report] = app.dispatch.reports
        assert report.description.startswith("Voicemail: ") and "oak" in report.description.lower()
        assert report.needs_triage and "(busy)" in report.triage_reason
        assert report.call_sid == line.call_sid and report.channel == "phone"
        [end] = app.dispatch.closed
        assert end.outcome == "voicemail" and end.recording_path.endswith(f"{line.call_sid}.wav")
        turns = sorted(app.dispatch.turns, key=lambda t: t.index)
        assert turns[0].index == 7 and turns[0].speaker == "bot"
        assert " ".join(app.dispatch.tickets[line.call_sid]) in turns[-1].text


async def test_a_silent_voicemail_is_still_a_call_back_ticket(make_telephony_app) -> None:
    with make_telephony_app(no_input_timeout_seconds=1.5) as app:
        line = app.line()
        dialed = await line.dial()
        dialed.parameters |= {"mode": "voicemail", "dial": "no-answer"}
        await line.open_stream(dialed)
        await wait_until(lambda: line.closed.is_set(), timeout=60)
        await wait_until(lambda: app.dispatch.closed)
        [report] = app.dispatch.reports
        assert "no message was left; call the caller back" in report.description
        assert app.dispatch.closed[0].outcome == "voicemail"
        assert "did not hear a message" in max(app.dispatch.turns, key=lambda t: t.index).text


async def test_calls_at_once_keep_to_themselves(telephony_app) -> None:
    """Three calls share the models; each has its own session, turns and recording."""
    texts = {
        "+15555550301": "The music next door is very loud.",
        "+15555550302": "There is a pothole on Elm Street.",
        "+15555550303": "A tree fell across River Road.",
    }

    async def one_call(number: str, text: str):
        line = await connect(telephony_app, caller_number=number)
        assert await line.wait_for_bot()
        line.speak(synthesize_caller(text, voice="flite:rms", silence_before_ms=200))
        await line.wait_sent()
        assert await line.wait_for_bot()
        await line.hang_up()
        return line

    lines = await asyncio.gather(*(one_call(n, t) for n, t in texts.items()))
    await wait_until(lambda: len(telephony_app.dispatch.closed) == 3)
    said = {sid: text for kind, sid, text in telephony_app.dialogue.calls if kind == "say"}
    for line, key in zip(lines, ["music", "elm", "river"], strict=True):
        assert key in said[line.call_sid].lower()
    recordings = {end.recording_path for end in telephony_app.dispatch.closed}
    assert len(recordings) == 3
    latencies = [t.latency_ms for t in telephony_app.dispatch.turns if t.latency_ms]
    print(f"3 calls at once: latencies {sorted(latencies)} ms")
