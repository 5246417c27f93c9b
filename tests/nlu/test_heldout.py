"""The held-out report on the real trained model: printed, and held to its target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nlu.evaluate import TARGET_ACCURACY, evaluate


@pytest.mark.slow
def test_heldout_intent_accuracy_meets_the_target(
    stack: Any, record_figures: Callable[[str, object], None]
) -> None:
    report = evaluate(stack.rasa_url, "en")
    record_figures("NLU held-out report (en)", "\n" + report.render())
    assert report.examples >= 100
    assert report.intent_accuracy >= TARGET_ACCURACY
