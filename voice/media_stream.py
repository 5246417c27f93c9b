"""One call over an accepted WebSocket: the line's messages in as frames, the bot's out.

Provider-neutral: a provider's routes accept the WebSocket (after checking whatever
signature it uses) and hand it here with that provider's serializer. The Twilio
routes and the softphone page both run their calls through `serve_stream`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from fastapi import WebSocket

from voice.call_session import CallRegistry
from voice.frames import BadFrame, CallStarted, Frame, UnhearableStream
from voice.pipeline import CallPipeline

log = logging.getLogger("dutyline.voice.stream")


class StreamSerializer(Protocol):
    """A provider's wire messages <-> frames (voice/twilio_serializer.py is one)."""

    call_sid: str | None

    def deserialize(self, message: str | bytes) -> Frame | None:
        """A frame, None for a message with nothing for us; BadFrame if malformed."""
        ...

    def serialize(self, frame: Frame) -> str: ...


def registry_of(app: Any) -> CallRegistry:
    """The app's live calls (one registry per app, made on first use)."""
    registry = getattr(app.state, "voice_calls", None)
    if registry is None:
        registry = app.state.voice_calls = CallRegistry()
    return registry


async def serve_stream(
    websocket: WebSocket, serializer: StreamSerializer, *, expect_call_sid: str | None = None
) -> None:
    """Run one call over an accepted WebSocket speaking `serializer`'s protocol.

    `expect_call_sid`: the only call sid this stream may start (the softphone's token).
    """
    services = websocket.app.state.services
    lock = asyncio.Lock()
    line_open = True

    async def send(frame: Frame) -> None:
        nonlocal line_open
        if not line_open:
            return
        message = serializer.serialize(frame)
        async with lock:
            try:
                await websocket.send_text(message)
            except Exception:  # the caller is gone; the reader will see it
                line_open = False

    async def close() -> None:
        nonlocal line_open
        if line_open:
            line_open = False
            try:
                await websocket.close()
            except Exception as error:
                log.debug("closing the stream: %s", error)

    pipeline = CallPipeline(services, send, close, registry_of(websocket.app))
    await pipeline.run(_frames(websocket, serializer, pipeline, expect_call_sid))
    await close()


async def _frames(
    websocket: WebSocket,
    serializer: StreamSerializer,
    pipeline: CallPipeline,
    expect_call_sid: str | None = None,
) -> AsyncIterator[Frame]:
    """The line's messages as frames, until it closes or the call ends. Bad frames are skipped.

    Runs 50 times a second per call, so a frame costs one `receive()` and nothing else: the
    end of the call is watched by one task for the whole call, which cancels the read it
    finds waiting (a message being handled meanwhile ends the loop at the next turn).
    """
    reader = asyncio.current_task()
    assert reader is not None
    waiting = stopped = interrupted = False

    async def watch() -> None:
        nonlocal stopped, interrupted
        await pipeline.closed.wait()
        stopped = True
        if waiting:
            interrupted = True
            reader.cancel()

    watcher = asyncio.create_task(watch())
    try:
        while not stopped:
            waiting = True
            try:
                message = await websocket.receive()
            except asyncio.CancelledError:
                # Ours (the call ended) unless someone else cancelled the call's task too.
                if interrupted and reader.uncancel() == 0:
                    return
                raise
            except Exception as error:  # the connection broke
                log.info("call %s: the stream broke: %s", serializer.call_sid or "?", error)
                return
            finally:
                waiting = False
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            try:
                frame = serializer.deserialize(data)
            except UnhearableStream as error:
                # Closing makes the provider end the call rather than leave the caller in dead air.
                log.error("call %s: closing the stream: %s", serializer.call_sid or "?", error)
                return
            except BadFrame as error:
                pipeline.session.bad_frames += 1
                log.warning("call %s: skipped a bad frame: %s", serializer.call_sid or "?", error)
                continue
            if isinstance(frame, CallStarted) and expect_call_sid not in (None, frame.call_sid):
                log.warning("refused a stream starting call %s (not its token's)", frame.call_sid)
                return
            if frame is not None:
                yield frame
    finally:
        watcher.cancel()
