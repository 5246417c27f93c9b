"""A transcriber's beams alone and when a place answer and another turn both wait for a
busy model (the whisper transcriber's rule for load: tests/voice/test_place_rescoring.py
and test_road_scoring.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from voice.stages import RecognitionHints
from voice.whisper_transcriber import WhisperTranscriber


def beams_of(transcriber: WhisperTranscriber, run: Callable[[], object]) -> list[tuple[bool, int]]:
    """(decoded on the thread named "place", beam) of each decode while `run` runs."""
    beams: list[tuple[bool, int]] = []
    generate = transcriber._generate

    def watched(window: Any, prompt: list[int], beam: int) -> Any:
        beams.append((threading.current_thread().name == "place", beam))
        return generate(window, prompt, beam)

    transcriber._generate = watched  # type: ignore[method-assign]
    try:
        run()
    finally:
        del transcriber._generate
    return beams


def _wait_for(transcriber: WhisperTranscriber, queued: int) -> None:
    while transcriber._queued < queued:
        threading.Event().wait(0.01)


def place_answer_while_busy(
    transcriber: WhisperTranscriber, pcm: bytes, hints: RecognitionHints
) -> None:
    """The model held while a place answer (thread "place"), then another turn, queue for
    it; then both run."""
    transcriber._lock.acquire()  # the model is busy with another turn
    place = threading.Thread(target=transcriber.transcribe, args=(pcm, hints), name="place")
    other = threading.Thread(target=transcriber.transcribe, args=(pcm, None), name="other")
    place.start()
    _wait_for(transcriber, 1)
    other.start()
    _wait_for(transcriber, 2)
    transcriber._lock.release()
    place.join()
    other.join()
