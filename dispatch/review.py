"""When a call is up for a supervisor's review: the confidence thresholds below which a
caller's turn counts as misheard or misunderstood. The Calls page flags turns with them,
the hand-over lists such calls; one place, so both say the same."""

from __future__ import annotations

from typing import Any

from sqlmodel import col

from dispatch.models import Turn

LOW_ASR_CONFIDENCE = 0.6  # speech recognition below this: heard with low confidence
LOW_INTENT_CONFIDENCE = 0.5  # intent below this: understood with low confidence


def heard_unsure(asr_confidence: float | None) -> bool:
    return asr_confidence is not None and asr_confidence < LOW_ASR_CONFIDENCE


def understood_unsure(intent_confidence: float | None) -> bool:
    return intent_confidence is not None and intent_confidence < LOW_INTENT_CONFIDENCE


def unsure_turn() -> Any:
    """The SQL condition for a turn heard or understood with low confidence (a NULL
    confidence, never measured, is not low)."""
    return (col(Turn.asr_confidence) < LOW_ASR_CONFIDENCE) | (
        col(Turn.intent_confidence) < LOW_INTENT_CONFIDENCE
    )
