"""A caller who answers what the bot asks, for the whole-call place benchmark.

A fixed script (`says`) follows the dialogue's usual order; when the bot cannot place the
answer it asks again, offers two streets, asks for a spelling or for the house number on
the keypad, and a fixed script then answers the wrong question. A real caller does not:
they repeat the place, pick their street, spell it, key the number, and say "no" when the
read-back names the wrong place. This caller does that, from the call's own truth
(data/sample_calls/riverton_places.yaml: the place said, the expected place, an answer per
question of data/complaint_kinds.yaml), and otherwise says what the script says.

`dutyline bench accuracy --caller responsive`. The bot's words come from the app's call
summary, as the simulator's (callbench/simulator.py); the caller never sees the ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from callbench.caller_voices import synthesize_caller
from callbench.calls import ScriptedCall
from callbench.place_checks import names_in
from callbench.simulator import CallResult, Turn, TwilioLine
from nlu.keyed_letters import name_keys

MAX_TURNS = 20  # caller turns; a call that needs more has failed anyway
# What the bot's words mean for this caller: the first rule whose words appear wins.
# A complaint question is matched before these (its own words, from complaint_kinds.yaml).
ENDING = ("anything else",)
CHOICE = ("did you mean",)
SPELLING = ("spell the street",)
KEYED_LETTERS = ("keypad",)  # spelling may be keyed: a caller with a phone in hand keys it
KEYPAD = ("key in the house number",)
MENU = ("press 1 to report",)  # the keypad menu after two misheard openings
KIND_LIST = ("press 1 for",)  # the keypad's list of problems: "Press 1 for Illegal parking, ..."
_LISTED = re.compile(r"(\d)\s+for\s+([^,.?]+)")
READ_BACK = ("read that back", "is that right")
CORRECTION = ("what should i change",)
WHERE = ("where is it", "exact place", "street address", "the right place")
COMPLAINT = ("like to report", "what's the problem", "what is the problem")
EMERGENCY = ("emergency",)
AGAIN = ("didn't catch", "say it again", "another way", "are you still there")
FILED = ("ticket number", "report is filed", "as ticket", "to ticket")


def questions(complaint_kinds: Path) -> dict[str, str]:
    """Each complaint question, lower case -> its slot."""
    data = yaml.safe_load(complaint_kinds.read_text("utf-8"))
    return {
        spec["question"].lower(): slot
        for kind in data["kinds"].values()
        for slot, spec in kind["slots"].items()
    }


def kind_names(complaint_kinds: Path) -> dict[str, str]:
    """Each kind's name as the bot says it, lower case: "pothole" -> "pothole or road damage"."""
    data = yaml.safe_load(complaint_kinds.read_text("utf-8"))
    return {code: kind["name"].lower() for code, kind in data["kinds"].items()}


def _stem(name: str) -> str:
    words = name.split()
    return "".join(words[:-1] if len(words) > 1 else words)


def spelled(name: str) -> str:
    """ "Lark Street" -> "L, A, R, K": the name without its street type, letter by letter."""
    return ", ".join(ch.upper() for ch in _stem(name) if ch.isalnum())


def keyed(name: str) -> str:
    """ "Lark Street" -> "5275#": the name without its type on the phone's letters."""
    return f"{name_keys(_stem(name))}#"


@dataclass
class ResponsiveCaller:
    call: ScriptedCall
    asked: dict[str, str]  # question -> slot
    kinds: dict[str, str] = field(default_factory=dict)  # kind -> its name (`kind_names`)
    corrected: bool = False  # said "no" to a read-back's place
    kind_corrected: bool = False  # said "no" to a read-back's kind
    fixing_kind: bool = False  # the next "what should I change?" is about the kind
    done: bool = False
    filed: bool = False  # the caller has heard a ticket number
    retold: int = 0  # times the complaint was told again before any ticket
    last: Turn | None = None

    @property
    def place_said(self) -> str:
        return self.call.says[self.call.place_turn or 1]

    def reply(self, *bot_turns: str) -> Turn | None:
        """What to say (or key) after the bot's turns since the caller last spoke, the last
        one first (it holds the question). None: nothing to answer yet (the bot has not
        asked anything: wait for it), or, once `done`, nothing more to say."""
        if self.done or not bot_turns:
            return None
        self.filed = self.filed or any(w in t.lower() for t in bot_turns for w in FILED)
        for said in reversed(bot_turns):
            turn = self._answer(said)
            if turn is not None:
                self.last = turn
                return turn
        if not bot_turns[-1].rstrip().endswith("?"):
            return None  # "Thank you. Your report is filed..." and more is coming
        self.last = Turn("say", "yes")  # a question this caller has no rule for
        return self.last

    def _answer(self, bot: str) -> Turn | None:
        text = bot.lower()
        if any(w in text for w in AGAIN):
            return self.last
        for question, slot in self.asked.items():
            if question in text:
                return Turn("say", dict(self.call.answers).get(slot, "I don't know"))
        if any(w in text for w in ENDING):
            if not self.filed and self.retold < 2:  # nothing reported yet: tell it again
                self.retold += 1
                return Turn("say", f"yes, {self.call.says[0]}")
            self.done = True
            return Turn("say", "no thanks, that's all, goodbye")
        if any(w in text for w in CHOICE):
            return Turn("say", self._choose(bot))
        if any(w in text for w in SPELLING):
            expected = self.call.place
            if expected and any(w in text for w in KEYED_LETTERS):
                if expected.street:
                    return Turn("press", keyed(expected.street))
                if expected.landmark:  # a landmark's whole name: "Civic Center"
                    return Turn("press", f"{name_keys(expected.landmark)}#")
            name = (expected.street or expected.landmark) if expected else None
            return Turn("say", spelled(name) if name else self.place_said)
        if any(w in text for w in MENU):
            return Turn("press", "1")
        if any(w in text for w in KIND_LIST):
            # The caller's problem's key when it is on the list; else they say it again.
            listed = {name.strip(): key for key, name in _LISTED.findall(text)}
            key = listed.get(self.kinds.get(self.call.kind, ""))
            if key:
                return Turn("press", key)
        if any(w in text for w in KEYPAD):
            number = self.call.place.number if self.call.place else None
            return Turn("press", f"{number}#") if number else Turn("say", "no")
        if any(w in text for w in READ_BACK):
            return Turn("say", self._confirm(bot))
        if any(w in text for w in CORRECTION) and self.fixing_kind:
            self.fixing_kind = False
            return Turn("say", f"the problem is {self.kinds[self.call.kind]}")
        if any(w in text for w in CORRECTION + WHERE):
            return Turn("say", self.place_said)
        if any(w in text for w in COMPLAINT):
            return Turn("say", self.call.says[0])
        if any(w in text for w in EMERGENCY):
            return Turn("say", "no, it's not an emergency")
        return None

    def _choose(self, bot: str) -> str:
        """The offered place that is the caller's, as the bot put it; else the place again."""
        offered = bot.lower().split("did you mean", 1)[1].strip(" ?.")
        options = [o.strip() for o in re.split(r",\s*(?:or\s+)?|\s+or\s+", offered) if o.strip()]
        expected = self.call.place
        for option in options:
            if expected is not None and names_in(expected, option):
                return option
        return f"no, {self.place_said}"

    def _confirm(self, bot: str) -> str:
        """ "yes" when the read-back names the caller's problem and place; "no" once to a
        wrong problem (then its name, as on the keypad's list), "no" once to a wrong place."""
        name = self.kinds.get(self.call.kind)
        text = bot.lower()
        if name and "read that back" in text and name not in text and not self.kind_corrected:
            self.kind_corrected = self.fixing_kind = True
            return "no"
        expected = self.call.place
        if self.corrected or expected is None or names_in(expected, bot):
            return "yes"
        self.corrected = True
        return "no"


async def responsive_call(
    app_url: str,
    call: ScriptedCall,
    asked: dict[str, str],
    *,
    public_url: str,
    token: str,
    voice: str,
    caller_number: str,
    kinds: dict[str, str] | None = None,
    turn_timeout: float = 60.0,
    hang_up_wait: float = 8.0,
) -> CallResult:
    caller = ResponsiveCaller(call, asked, kinds or {})
    line = TwilioLine(app_url, public_url=public_url, token=token, caller_number=caller_number)
    dialed = await line.dial()
    if dialed.status_code != 200 or not dialed.stream_url:
        raise RuntimeError(f"the webhook answered {dialed.status_code}: {dialed.twiml[:300]}")
    await line.open_stream(dialed)
    caller_turns: list[dict[str, Any]] = []
    try:
        await line.wait_for_bot(timeout=turn_timeout)
        seen: set[int] = set()  # the bot turns (their index) already read
        heard: list[str] = []  # the bot's turns since the caller last spoke
        while len(caller_turns) < MAX_TURNS and not line.closed.is_set():
            said = await _new_bot_turns(line, seen)
            heard += said
            turn = caller.reply(*heard)
            if turn is None:
                if caller.done or not said:
                    break  # said goodbye, or the bot has gone quiet
                await line.wait_for_bot(timeout=turn_timeout)
                continue  # the bot is not done talking
            heard = []
            if turn.kind == "press":
                await line.press(turn.value)
            else:
                audio = await asyncio.to_thread(
                    synthesize_caller, turn.value, voice=voice, silence_before_ms=200
                )
                line.speak(audio)
                await line.wait_sent()
            caller_turns.append({"kind": turn.kind, "value": turn.value})
            await line.wait_for_bot(timeout=turn_timeout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(line.closed.wait(), hang_up_wait)
        await line.hang_up()
        summary = await _final_summary(line)
    finally:
        await line.close()
    stored = summary.get("turns", [])
    return CallResult(
        call_sid=line.call_sid,
        outcome=summary.get("outcome"),
        ticket_number=summary.get("ticket_number"),
        hung_up_by=line.hung_up_by,
        turns=stored,
        caller_turns=caller_turns,
        latencies_ms=[t["latency_ms"] for t in stored if t.get("latency_ms") is not None],
        heard_latencies_ms=[int(s * 1000) for s in line.first_bot_audio_after],
        recording_path=summary.get("recording_path"),
        bot_audio_seconds=len(line.bot_audio) / 8000,
        clears=line.clears,
    )


async def _new_bot_turns(line: TwilioLine, seen: set[int], wait: float = 20.0) -> list[str]:
    """The bot's turns not read before (`seen` is updated). A bot turn is stored as it is
    heard, a moment after its audio stops, and not always after the caller's turn before
    it: wait for one, and go by each turn's own index rather than by position."""
    deadline = time.monotonic() + wait
    while True:
        turns = (await line.summary() or {}).get("turns", [])
        new = [t for t in turns if t["speaker"] == "bot" and t["index"] not in seen]
        if new or time.monotonic() > deadline or line.closed.is_set():
            seen.update(t["index"] for t in new)
            return [t["text"] for t in sorted(new, key=lambda t: t["index"])]
        await asyncio.sleep(0.3)


async def _final_summary(line: TwilioLine, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    summary: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        summary = await line.summary()
        if summary and summary.get("state") == "ended":
            return summary
        await asyncio.sleep(0.2)
    return summary or {}
