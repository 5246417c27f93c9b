"""A citizen is never stranded: hang-ups mid-call, a dead dialogue, bad frames, long calls."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from callbench.caller_voices import synthesize_caller

pytestmark = pytest.mark.slow


def caller(text: str) -> bytes:
    return synthesize_caller(text, voice="flite:rms", silence_before_ms=200)


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


@pytest.mark.parametrize("how", ["stop", "socket_closed"])
async def test_hang_up_mid_call_files_a_triage_ticket_with_what_was_said(
    telephony_app, how: str
) -> None:
    line = await connect(telephony_app, caller_number="+15555550177")
    assert await line.wait_for_bot()
    line.speak(caller("There is a dead deer on Maple Avenue."))
    await line.wait_sent()
    await wait_until(lambda: telephony_app.dialogue.said("say"))  # mid-form
    if how == "stop":
        await line.hang_up()
    else:
        await line.close()  # no stop message: the connection just dropped
    await wait_until(lambda: telephony_app.dispatch.closed)
    [report] = telephony_app.dispatch.reports
    assert report.needs_triage and report.call_sid == line.call_sid
    assert "deer" in report.transcript.lower()
    assert report.caller_number == "+15555550177"
    assert "hung up" in report.triage_reason
    [end] = telephony_app.dispatch.closed
    assert end.outcome == "abandoned" and end.recording_path


async def test_hang_up_during_recognition_keeps_the_last_words(telephony_app) -> None:
    line = await connect(telephony_app)
    assert await line.wait_for_bot()
    line.speak(caller("Someone dumped a mattress behind the library."))
    await line.wait_sent()
    await asyncio.sleep(0.7)  # the turn has just ended; recognition is running
    await line.hang_up()
    await wait_until(lambda: telephony_app.dispatch.closed)
    [report] = telephony_app.dispatch.reports
    assert "library" in report.transcript.lower()


async def test_hang_up_mid_sentence_keeps_the_words_being_spoken(telephony_app) -> None:
    line = await connect(telephony_app)
    assert await line.wait_for_bot()
    line.speak(caller("A water main broke on Pine Street and it is flooding."))
    await line.wait_sent()
    await line.hang_up()  # at once: the caller's turn never reached its end-of-turn silence
    await wait_until(lambda: telephony_app.dispatch.closed)
    assert not telephony_app.dialogue.said("say")
    [report] = telephony_app.dispatch.reports
    assert report.needs_triage and "pine" in report.transcript.lower()


async def test_hang_up_after_the_ticket_files_nothing_more(telephony_app) -> None:
    line = await connect(telephony_app)
    assert await line.wait_for_bot()
    telephony_app.dispatch.tickets[line.call_sid] = "240099"  # filed by the dialogue's action
    line.speak(caller("Thank you."))
    await line.wait_sent()
    await wait_until(lambda: telephony_app.dialogue.said("say"))
    await line.hang_up()
    await wait_until(lambda: telephony_app.dispatch.closed)
    assert telephony_app.dispatch.reports == []
    assert telephony_app.dispatch.closed[0].outcome == "ticket_filed"


async def test_dialogue_down_apologises_files_triage_and_ends(telephony_app) -> None:
    line = await connect(telephony_app, caller_number="+15555550188")
    assert await line.wait_for_bot()
    telephony_app.dialogue.down = True
    line.speak(caller("The streetlight on Pine Road is out."))
    await wait_until(lambda: line.closed.is_set(), timeout=60)
    assert line.hung_up_by == "bot"
    [report] = telephony_app.dispatch.reports
    assert report.needs_triage and "streetlight" in report.transcript.lower().replace(" ", "")
    assert "dialogue unavailable" in report.triage_reason
    await wait_until(lambda: telephony_app.dispatch.closed)
    assert telephony_app.dispatch.closed[0].outcome == "failed"
    last = max(telephony_app.dispatch.turns, key=lambda t: t.index)
    assert last.speaker == "bot" and "trouble" in last.text
    assert "2 4 0 0 0 1" in last.text  # the caller hears the reference number
    assert "[interrupted" not in last.text
    assert telephony_app.call_control.actions("hang_up", line.call_sid)


async def test_dialogue_down_from_the_start_still_answers(telephony_app) -> None:
    telephony_app.dialogue.down = True
    line = await connect(telephony_app, caller_number="+15555550189")
    await wait_until(lambda: line.closed.is_set(), timeout=60)
    assert len(line.bot_audio) > 8000  # an apology, not silence
    [report] = telephony_app.dispatch.reports  # the caller can be called back
    assert report.needs_triage and report.caller_number == "+15555550189"


async def test_bad_frames_are_skipped_and_the_call_goes_on(telephony_app) -> None:
    line = await connect(telephony_app)
    bad = [
        "this is not json",
        json.dumps({"event": "dance", "streamSid": line.stream_sid}),
        json.dumps({"event": "media", "media": {"payload": "@@not-base64@@"}}),
        json.dumps({"event": "media", "media": {"payload": "A" * 200_000}}),
        b"\x00\x01binary",
        json.dumps({"event": "dtmf", "dtmf": {"digit": "Z"}}),
    ]
    for message in bad:
        await line.send_raw(message)
    silence = base64.b64encode(b"\xff" * 160).decode()
    await line.send_raw(json.dumps({"event": "media", "media": {"payload": silence}}))  # still fine
    assert await line.wait_for_bot()
    line.speak(caller("My neighbour's dog has been barking for hours."))
    await line.wait_sent()
    assert await line.wait_for_bot()
    assert any("barking" in s.lower() for s in telephony_app.dialogue.said("say"))
    summary = await line.summary()
    assert summary["bad_frames"] == len(bad)
    await line.hang_up()


async def test_a_call_has_a_maximum_length(make_telephony_app) -> None:
    with make_telephony_app(max_call_seconds=8, no_input_timeout_seconds=30) as app:
        line = await connect(app)
        assert await line.wait_for_bot()
        line.speak(caller("There is a pothole on Elm Street near the school."))
        await wait_until(lambda: line.closed.is_set(), timeout=60)
        assert line.hung_up_by == "bot"
        await wait_until(lambda: app.dispatch.closed)
        [end] = app.dispatch.closed
        assert end.outcome == "failed"
        last = max(app.dispatch.turns, key=lambda t: t.index)
        assert "time limit" in last.text
        [report] = app.dispatch.reports
        assert "maximum call length" in report.triage_reason
