"""The Korean tokenizer, run where Rasa runs it (.venv-rasa, with rasa_env's environment)."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from dutyline import rasa_env
from nlu.project import LOCALES_DIR

SCRIPT = """
import json, sys
from korean_tokenizer import KoreanTokenizer
from rasa.shared.nlu.training_data.message import Message
pattern = sys.argv[1]
tokenizer = KoreanTokenizer({**KoreanTokenizer.get_default_config(), "token_pattern": pattern})
for text in sys.argv[2:]:
    tokens = tokenizer.tokenize(Message(data={"text": text}), "text")
    print(json.dumps([t.text for t in tokens], ensure_ascii=False))
"""


@pytest.mark.slow
def test_korean_words_are_kept_and_split_into_syllables_digits_and_latin() -> None:
    config = yaml.safe_load((LOCALES_DIR / "ko" / "config.yml").read_text("utf-8"))
    tokenizer = config["pipeline"][0]
    assert tokenizer["name"] == "korean_tokenizer.KoreanTokenizer"
    texts = ["경안로 123에 차가", "12가 3456", "SUV가 🙂"]
    out = subprocess.run(
        [
            str(rasa_env.RASA_VENV / "bin" / "python"),
            "-c",
            SCRIPT,
            tokenizer["token_pattern"],
            *texts,
        ],
        capture_output=True,
        text=True,
        env=rasa_env.rasa_environment(),
        check=True,
        timeout=300,
    )
    tokens = [json.loads(line) for line in out.stdout.splitlines()]
    # Rasa's own WhitespaceTokenizer keeps only "123" of the first: Hangul counts as emoji.
    assert tokens == [
        ["경", "안", "로", "123", "에", "차", "가"],
        ["12", "가", "3456"],
        ["SUV", "가"],
    ]
