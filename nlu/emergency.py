"""The emergency safety net: keywords checked before the intent model.

The intent model was trained on a few dozen emergencies; a caller in danger may say it in
words it never saw, and must not have that filed as a pothole. Each locale's rules
(nlu/locales/<locale>/emergency.yml) name words that mean danger; a sentence that matches
goes to Rasa as the `emergency` intent, and the dialogue offers the emergency number as if
the model had heard it. The net only ever adds an emergency; it never hides one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from nlu.project import LOCALES_DIR

INTENT = "emergency"  # the domain's intent (nlu/locales/*/domain/base.yml)


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    name: str
    any: tuple[str, ...]
    with_: tuple[str, ...] = Field((), alias="with")
    unless: tuple[str, ...] = ()


class EmergencyNet(BaseModel):
    """One locale's rules; `match` says which rule a sentence sets off, if any."""

    model_config = ConfigDict(frozen=True)

    match: Literal["words", "substring"] = "words"
    ignore: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    question: str = ""  # how the dialogue's emergency question starts (see `asks`)

    def normalize(self, text: str) -> str:
        text = text.lower().replace("\u2019", "'")
        if self.match == "words":
            text = re.sub(r"[^\w' ]+", " ", text)
        text = " ".join(text.split())
        for phrase in self.ignore:
            text = self._sub(phrase, " | ", text)
        return text

    def rule_for(self, text: str) -> str | None:
        """The name of the first rule the sentence sets off, or None."""
        said = self.normalize(text)
        for rule in self.rules:
            if not self._any(rule.any, said):
                continue
            if rule.with_ and not self._any(rule.with_, said):
                continue
            if self._any(rule.unless, said):
                continue
            return rule.name
        return None

    def asks(self, bot_text: str | None) -> bool:
        """Is this the dialogue asking whether to put the caller through to the emergency
        number? The caller's next sentence answers it, so the net leaves that one alone."""
        return bool(self.question and bot_text and bot_text.startswith(self.question))

    def _any(self, phrases: tuple[str, ...], said: str) -> bool:
        return any(self._found(phrase, said) for phrase in phrases)

    def _found(self, phrase: str, said: str) -> bool:
        if self.match == "substring":
            return phrase.lower() in said
        return re.search(self._pattern(phrase), said) is not None

    def _sub(self, phrase: str, replacement: str, said: str) -> str:
        if self.match == "substring":
            return said.replace(phrase.lower(), replacement)
        return re.sub(self._pattern(phrase), replacement, said)

    @staticmethod
    def _pattern(phrase: str) -> str:
        return r"(?<![\w'])" + re.escape(phrase.lower()) + r"(?![\w'])"


@lru_cache
def net_for(locale: str) -> EmergencyNet:
    """The locale's net (loaded once); a locale without rules gets an empty one."""
    folder = LOCALES_DIR / locale
    path = folder / "emergency.yml"
    if not path.is_file():
        return EmergencyNet()
    net = EmergencyNet.model_validate(yaml.safe_load(path.read_text("utf-8")))
    return net.model_copy(update={"question": _question(folder)})


def _question(folder: Path) -> str:
    """The emergency question's fixed opening, from the locale's domain."""
    domain = yaml.safe_load((folder / "domain" / "base.yml").read_text("utf-8"))
    text = domain["responses"]["utter_emergency"][0]["text"]
    return text.split("{", 1)[0]
