"""The dialogue client the text-level conversation tests talk through: the stack's English
Rasa server (tests/conftest.py starts it), as the app's voice pipeline does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from nlu.client import RasaDialogue


@pytest.fixture
async def dialogue(stack: Any) -> AsyncIterator[RasaDialogue]:
    client = RasaDialogue(stack.rasa_url, timeout=30)
    yield client
    await client.aclose()
