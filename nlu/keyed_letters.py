"""A street's name keyed on the phone's letters: L-A-R-K is 5-2-7-5.

When a street is not heard after asking twice, the caller may spell it or key it. Keys
are never misheard, and on a city's few hundred streets four keyed letters almost always
name one street (the letters printed on the keys are the ITU E.161 layout every phone has).
"""

from __future__ import annotations

import re

LETTERS_ON_KEYS = {
    "2": "abc",
    "3": "def",
    "4": "ghi",
    "5": "jkl",
    "6": "mno",
    "7": "pqrs",
    "8": "tuv",
    "9": "wxyz",
}
KEY_OF = {letter: key for key, letters in LETTERS_ON_KEYS.items() for letter in letters}
MIN_KEYS = 2  # one key names dozens of streets


def name_keys(name: str) -> str:
    """The keys that spell a name: "Lark" -> "5275". Digits key themselves."""
    return "".join(KEY_OF.get(ch, ch) for ch in name.lower() if ch.isalnum() and ch.isascii())


def ways_to_key(street: str) -> set[str]:
    """What a caller may key for a street: its name without its type ("Lark Street" ->
    5275), the whole name, and a numbered street's number ("10th Street" -> 10)."""
    words = street.split()
    stem = " ".join(words[:-1]) if len(words) > 1 else street
    ways = {name_keys(stem), name_keys(street)}
    number = re.match(r"(\d+)(st|nd|rd|th)\b", stem.lower())
    if number:
        ways.add(number.group(1))
    return {w for w in ways if w}


def keyed_streets(keys: str, streets: list[str], most: int) -> list[str]:
    """The streets the keys spell: those named by exactly these keys, else those whose
    names start with them; none when more than `most` would be left (too few keys), or for
    fewer than MIN_KEYS keys."""
    keys = re.sub(r"\D", "", keys)
    if len(keys) < MIN_KEYS:
        return []
    ways = {street: ways_to_key(street) for street in streets}
    exact = [s for s, w in ways.items() if keys in w]
    found = exact or [s for s, w in ways.items() if any(k.startswith(keys) for k in w)]
    return sorted(found, key=lambda s: (len(s), s)) if len(found) <= most else []
