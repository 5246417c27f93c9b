"""The city's street names said whole inside words that make no place.

A poor line gives the geocoder sentences whose shape it cannot read, though a street is
named in them exactly: "2008 848 40th Street" (a house number heard as two), "1100 hunting
Clinton Avenue" (a word the recognizer made up), "Lincoln Avenue 23rd Street" (a corner
without its "and"). Read only after every other reading found nothing, and never by
likeness: a name counts only as the city writes it (normalized), so a misheard street is
still asked again, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dispatch.places.matching import NameParts

MAX_NAME_WORDS = 4  # "martin luther king boulevard"


@dataclass(frozen=True)
class NamedInside:
    street: str  # the city's spelling
    number: str | None  # the number said just before it, if any


class StreetsInside:
    """Finds the city's street names in a normalized sentence (spoken.normalize)."""

    def __init__(self, streets: Iterable[str]) -> None:
        self._by_words = {NameParts.of(name).full: name for name in streets}

    def find(self, text: str) -> list[NamedInside]:
        """The streets named exactly, left to right, each once; a run of digits just before
        one is its house number."""
        words = text.split()
        found: list[NamedInside] = []
        start = 0
        while start < len(words):
            for end in range(min(len(words), start + MAX_NAME_WORDS), start, -1):
                name = self._by_words.get(" ".join(words[start:end]))
                if name is not None:
                    before = words[start - 1] if start else ""
                    number = before if before.isdigit() and before[0] != "0" else None
                    if all(f.street != name for f in found):
                        found.append(NamedInside(name, number))
                    start = end
                    break
            else:
                start += 1
        return found
