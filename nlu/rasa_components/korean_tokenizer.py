"""A Rasa component, loaded by the Rasa server in .venv-rasa (never by the app).

Rasa 3.6's WhitespaceTokenizer drops every word that fully matches its emoji pattern, whose
range U+24C2..U+1F251 covers all Hangul syllables: "경안로 123" keeps only "123", so Korean
entities were never learnt and any digit in a sentence left the intent classifier nothing.
This tokenizer keeps Korean words; the locale's token_pattern then splits them.
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class KoreanTokenizer(WhitespaceTokenizer):
    def remove_emoji(self, text: str) -> str:
        return text if _HANGUL.search(text) else super().remove_emoji(text)
