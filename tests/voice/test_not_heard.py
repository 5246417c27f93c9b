"""A caller the recognizer cannot make out hears "Sorry, I didn't catch that" at most twice in
a row; the third time the dialogue takes the turn as not understood, and its fallback offers
the keypad, then a person (seen on a Korean call: the same sentence fourteen times).
The real path is tests/voice/test_korean_calls.py; this is the rule's edge cases."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from voice.call_session import CallSession, CallState
from voice.conversation import NOT_HEARD_TIMES, NOT_UNDERSTOOD, Conversation
from voice.frames import CallerTurn, CallEvent


class Speaker:
    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, says: Any) -> None:
        self.said.append(says.text)


def conversation(locale: str = "en") -> tuple[Conversation, Speaker]:
    session = CallSession()
    session.call_sid, session.locale = "CA1", locale
    session.state = CallState.STREAMING  # the conversation is on
    speaker = Speaker()
    ending = SimpleNamespace(tearing_down=False)
    line = SimpleNamespace(speaker=speaker)
    talk = Conversation(session, None, None, line, None, None, ending)  # type: ignore[arg-type]
    return talk, speaker


def queued(talk: Conversation) -> list[Any]:
    items = []
    while not talk._inputs.empty():
        items.append(talk._inputs.get_nowait())
    return items


def test_not_heard_twice_then_not_understood() -> None:
    talk, speaker = conversation()
    for _ in range(NOT_HEARD_TIMES):
        talk.heard(CallerTurn(""))
    assert speaker.said == ["Sorry, I didn't catch that. Could you say it again?"] * 2
    assert queued(talk) == []
    talk.heard(CallerTurn(""))
    assert speaker.said == ["Sorry, I didn't catch that. Could you say it again?"] * 2
    assert queued(talk) == [CallEvent(NOT_UNDERSTOOD)]
    talk.heard(CallerTurn(""))  # counting starts again
    assert len(speaker.said) == 3


def test_words_heard_reset_the_count_and_korean_asks_in_korean() -> None:
    talk, speaker = conversation("ko")
    talk.heard(CallerTurn(""))
    talk.heard(CallerTurn("불법 주차요"))
    talk.heard(CallerTurn(""))
    talk.heard(CallerTurn(""))
    assert len(speaker.said) == 3 and all("듣지 못했습니다" in s for s in speaker.said)
    assert [type(i).__name__ for i in queued(talk)] == ["CallerTurn"]
