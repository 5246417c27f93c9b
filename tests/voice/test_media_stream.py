"""voice/media_stream.py: the read loop without a timer per frame still ends with the call."""

from __future__ import annotations

import asyncio
from typing import Any


async def test_a_call_ended_by_the_app_closes_a_line_that_sends_nothing(telephony_app) -> None:
    # The caller's side sends no audio at all (marks only), so the stream's reader sits in
    # receive() when the call ends: the call's end must still close the line.
    telephony_app.dialogue.down = True  # the call ends by itself after an apology
    line = telephony_app.line(caller_number="+15555550190")
    send = line.send

    async def no_media(message: dict[str, Any]) -> None:
        if message.get("event") != "media":
            await send(message)

    line.send = no_media  # type: ignore[method-assign]
    dialed = await line.dial()
    await line.open_stream(dialed)
    async with asyncio.timeout(60):
        await line.closed.wait()
    assert line.hung_up_by == "bot" and len(line.bot_audio) > 8000  # an apology, then closed
    [report] = telephony_app.dispatch.reports
    assert report.needs_triage


class SilentSocket:
    """A WebSocket that never delivers another message (a peer that stopped talking and
    never answers a close): only the call's end can stop the reader."""

    async def receive(self) -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class EndingPipeline:
    def __init__(self) -> None:
        self.closed = asyncio.Event()


async def _read_all(pipeline: EndingPipeline) -> list[object]:
    from voice.media_stream import _frames
    from voice.twilio_serializer import TwilioSerializer

    return [f async for f in _frames(SilentSocket(), TwilioSerializer(), pipeline)]  # type: ignore[arg-type]


async def test_the_reader_stops_when_the_call_ends_while_it_waits() -> None:
    pipeline = EndingPipeline()
    reading = asyncio.create_task(_read_all(pipeline))
    await asyncio.sleep(0.05)
    assert not reading.done()
    pipeline.closed.set()
    async with asyncio.timeout(5):
        assert await reading == []  # ended normally, not cancelled


async def test_cancelling_the_call_task_still_cancels_it() -> None:
    reading = asyncio.create_task(_read_all(EndingPipeline()))
    await asyncio.sleep(0.05)
    reading.cancel()
    try:
        async with asyncio.timeout(5):
            await reading
    except asyncio.CancelledError:
        pass
    assert reading.cancelled()
