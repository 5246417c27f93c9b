"""Is what the caller said so far a complete answer to what the bot asked?

At the first short pause (`EndOfTurn.pause_ms`) the Listener transcribes the turn so far;
if `TurnCompletion.check` says that text is a complete answer, the turn ends right then
instead of after the full end-of-turn silence. A wrong "complete" cuts a caller who only
paused, so every rule errs towards "not complete" (the configured silence):

- yes_no: the whole text is a yes or a no ("yes", "no, that's wrong"), nothing dangling;
- read_back ("Is that right?"): a yes ("yeah, that's right"); a no is not, for the caller
  goes on to say what is wrong ("No, [pause] it's on Elm Street"), unless the no itself
  names the trouble and the place, as an opening does;
- more ("anything else?"): the whole text is a no or a closing ("no, that's all, thank
  you", "nothing else"); a yes is not (the new report follows), unless it names the
  trouble and the place;
- number: the whole text is a number (digits or words), with a little lead-in ("about 3");
- place: a street, landmark or alias of the city's data is named (the names the
  recognizer's place hints hold), a corner names two of them, nothing dangles after it;
- complaint (the opening): a finished sentence that names the trouble (a complaint kind's
  keyword) and the city's place: all the bot needs to act on. Without a place the bot asks
  where, and callers who paused often go on to say it, so the silence is kept;
- animal: an animal word in a finished sentence; vehicle: colour, make and kind all said
  (a partial description is often extended: "a red pickup, I think a Ford");
- digits, spelling, nothing expected, or another language: never early (callers say
  digits and letters in chunks with pauses).

"Finished" is a small rule: it does not end in a function word (article, preposition,
conjunction, possessive, auxiliary), a filler, or a comma or dash. Measured by
`dutyline bench accuracy --parts turn` (callbench/accuracy.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from nlu.contract import Expect
from voice.expectations import ANIMAL_WORDS, NUMBER_WORDS, STREET_TYPES

if TYPE_CHECKING:
    from voice.expectations import Expectations


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words after which a sentence goes on.
DANGLING = _set(
    "a an the my your his her its our their this that these those some any "
    "of in on at to for from by with about near into onto over under behind across between "
    "beside next outside inside off up down past toward towards around like "
    "and or but so because if when while then also plus than as where which who whose "
    "is are was were be been am has have had do does did can could will would should "
    "there it's i i'm we you he she they "
    "um uh er erm hmm mm well just very really kind sort "
    "apartment unit suite number corner intersection block"
)
YES = _set("yes yeah yep yup correct right exactly sure absolutely okay ok affirmative")
NO = _set("no nope wrong incorrect nah negative")
# Words a yes or a no may carry around it ("yes, that's right", "no, it is not").
YES_NO_FILLER = _set("that's that is it it's thats please thank thanks you not isn't sir ma'am")
# Words that close a call's "anything else?": "no, that's all", "nothing else, I'm good".
CLOSING = _set("all nothing else i'm im good fine set for now much very bye goodbye")
CLOSES = {Expect.YES_NO: YES | NO, Expect.READ_BACK: YES, Expect.MORE: NO | _set("nothing")}
NUMBER_FILLER = _set("about around maybe like roughly approximately it's it is just only")
ORDINALS = {
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
}  # fmt: skip
ABBREVIATIONS = {"st": "street", "ave": "avenue", "rd": "road", "dr": "drive", "ln": "lane"}
# A corner names two places.
CORNER = _set("corner intersection between junction crossing")
# A full vehicle description: its colour, its make and what kind of vehicle it is.
COLOURS = _set(
    "black white silver gray grey red blue green yellow orange brown beige gold maroon "
    "tan purple dark light"
)
MAKES = _set(
    "toyota honda ford chevrolet chevy nissan hyundai kia subaru volkswagen vw dodge "
    "tesla mazda lexus bmw mercedes audi volvo buick cadillac chrysler ram gmc jeep"
)
VEHICLE_KINDS = _set("car truck pickup van sedan suv motorcycle trailer bus jeep hatchback")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_MAX_PLACE_WORDS = 5


@dataclass(frozen=True)
class Completion:
    complete: bool
    reason: str  # why, for the log and the benchmark (never the caller's words)

    def __bool__(self) -> bool:
        return self.complete


def _tokens(text: str) -> list[str]:
    words = _TOKEN.findall(text.lower().replace("’", "'"))
    return [ABBREVIATIONS.get(ORDINALS.get(w, w), ORDINALS.get(w, w)) for w in words]


def _is_number(word: str) -> bool:
    return word.isdigit() or word in NUMBER_WORDS


class TurnCompletion:
    """The check, with the city's place names and the complaint keywords (shared, read-only)."""

    def __init__(
        self,
        places: Iterable[str] = (),
        complaint_words: Iterable[str] = (),
        *,
        locale: str = "en",
    ) -> None:
        self.locale = locale
        self._places = frozenset(" ".join(_tokens(p)) for p in places if _tokens(p))
        # The same names without their spaces: "River Side Park", "Oakstreet".
        self._joined = frozenset(name.replace(" ", "") for name in self._places)
        self._complaint = frozenset(w.lower() for w in complaint_words)

    @classmethod
    def from_expectations(cls, expectations: Expectations) -> TurnCompletion:
        return _from_expectations(expectations)

    def check(self, text: str, expect: Expect | None, locale: str = "en") -> Completion:
        if locale.split("-")[0].split("_")[0] != self.locale:
            return Completion(False, "locale")
        if expect is None:
            return Completion(False, "nothing expected")
        stripped = text.strip()
        words = _tokens(stripped)
        if not words:
            return Completion(False, "empty")
        if stripped[-1] in ",-–—:;" or stripped.endswith("..."):
            return Completion(False, "trailing comma")
        if words[-1] in DANGLING and words[-2:] != ["thank", "you"]:
            return Completion(False, "dangling word")
        if expect in (Expect.YES_NO, Expect.READ_BACK, Expect.MORE):
            # The answers that close the question: a yes to a read-back, a no to "more?".
            closing = CLOSES[expect]
            answer = self._yes_no(words, closing)
            # "No, it's a pothole on Main Street", "There's also a tree down on Elm Street":
            # a correction or a new report is complete as an opening would be.
            return answer or self._complaint_check(words) or answer
        if expect is Expect.NUMBER:
            return self._number(words)
        if expect is Expect.PLACE:
            return self._place(words)
        if expect is Expect.COMPLAINT:
            return self._complaint_check(words)
        if expect is Expect.ANIMAL:
            if any(w in ANIMAL_WORDS or w.rstrip("s") in ANIMAL_WORDS for w in words):
                return Completion(True, "animal")
            return Completion(False, "no animal")
        if expect is Expect.VEHICLE:
            said = set(words)
            if said & COLOURS and said & MAKES and said & VEHICLE_KINDS:
                return Completion(True, "vehicle described")
            return Completion(False, "partial vehicle")
        return Completion(False, f"{expect.value} never early")  # digits, spelling

    def _yes_no(self, words: list[str], closing: frozenset[str]) -> Completion:
        answer = {w for w in words if w in YES or w in NO or w == "nothing"}
        if not answer:
            return Completion(False, "no yes or no")
        if any(w not in answer and w not in YES_NO_FILLER | CLOSING for w in words):
            return Completion(False, "more than yes or no")
        if not answer <= closing:
            return Completion(False, "an answer that goes on")
        return Completion(True, "yes/no")

    def _number(self, words: list[str]) -> Completion:
        numbers = [w for w in words if _is_number(w)]
        if not numbers:
            return Completion(False, "no number")
        if any(not _is_number(w) and w not in NUMBER_FILLER and w != "and" for w in words):
            return Completion(False, "more than a number")
        return Completion(True, "number")

    def places_in(self, words: list[str]) -> list[tuple[int, int]]:
        """(start, end) of the city's names in the words, longest first, not overlapping."""
        found: list[tuple[int, int]] = []
        i = 0
        while i < len(words):
            for size in range(min(_MAX_PLACE_WORDS, len(words) - i), 0, -1):
                if "".join(words[i : i + size]) in self._joined:
                    found.append((i, i + size))
                    i += size
                    break
            else:
                i += 1
        return found

    def _place(self, words: list[str]) -> Completion:
        found = self.places_in(words)
        if not found:
            return Completion(False, "no place of the city")
        if len(found) < 2 and (
            set(words) & CORNER or words[found[0][0] - 1 : found[0][0]] == ["of"]
        ):
            # "the corner of Main Street", also misheard ("the quarter of Main Street"): a
            # place built from two, or "<something> of" a street, often goes on.
            return Completion(False, "corner with one street")
        tail = words[found[-1][1] :]
        # After the last name only a closing word may follow ("12 Oak Street please").
        if any(w not in _set("please thanks thank you") for w in tail):
            return Completion(False, "more after the place")
        return Completion(True, "place of the city")

    def _complaint_check(self, words: list[str]) -> Completion:
        if len(words) < 3:
            return Completion(False, "too short")
        if not any(w in self._complaint or w.rstrip("s") in self._complaint for w in words):
            return Completion(False, "no complaint kind")
        if not self.places_in(words):
            return Completion(False, "no place yet")
        return Completion(True, "complaint with place")


@lru_cache(maxsize=4)
def _from_expectations(expectations: Expectations) -> TurnCompletion:
    # Built once per Expectations (the app's one, shared by all calls).
    place_hints = expectations.hints.get(Expect.PLACE)
    places = place_hints.phrases if place_hints else ()
    # A keyword that is also a word of the city's names ("street", "main", "road") says
    # nothing about the trouble: "I live on Main Street" is no complaint yet.
    in_places = {w for p in places for w in _tokens(p)} | STREET_TYPES
    words = [w for w in expectations.words.get(Expect.COMPLAINT, ()) if w not in in_places]
    return TurnCompletion(places, words, locale=expectations.locale)
