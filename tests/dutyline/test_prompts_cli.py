"""`dutyline prompts`: a locale's prompts, which the city has recorded, and the script of
the missing ones for its voice talent."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dutyline.cli import app
from tests.conftest import make_settings
from voice.recorded_prompts import catalogue

WIDE = {"COLUMNS": "300"}  # Rich's table on one line per prompt


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    folder = tmp_path / "prompts" / "ko"
    folder.mkdir(parents=True)
    subprocess.run(
        ["sox", "-n", "-r", "16000", str(folder / "not_heard.wav"), "synth", "1.2", "sine", "300"],
        check=True,
    )
    (folder / "still_there.ogg").write_bytes(b"OggS not really")
    return tmp_path / "prompts"


def test_lists_each_prompt_with_its_text_and_recording(recordings: Path, tmp_path: Path) -> None:
    total = len(catalogue("ko", make_settings(tmp_path)))
    result = CliRunner().invoke(
        app, ["prompts", "--locale", "ko", "--prompts-dir", str(recordings)], env=WIDE
    )
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines()
            if line.count("│") >= 4}  # fmt: skip
    assert "not_heard.wav (1.2 s)" in rows["not_heard"]
    assert "잘 듣지 못했습니다" in rows["not_heard"]
    assert "unusable" in rows["still_there"] and "not readable" in rows["still_there"]
    assert (
        "none" in rows["utter_ask_location"] and "위치가 어디인가요?" in rows["utter_ask_location"]
    )
    assert f"1 of {total} prompts recorded for ko." in result.output


def test_exports_a_script_of_the_missing_ones(recordings: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.csv"
    result = CliRunner().invoke(
        app,
        ["prompts", "--locale", "ko", "--prompts-dir", str(recordings), "--export", str(script)],
    )
    assert result.exit_code == 0, result.output
    with script.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_key = {row["key"]: row for row in rows}
    assert list(rows[0]) == ["key", "text", "file"]
    assert "not_heard" not in by_key  # recorded
    assert by_key["still_there"]["file"] == "ko/still_there.wav"  # unusable: record again
    assert by_key["utter_ask_location"]["text"].startswith("위치가 어디인가요?")
    assert len(rows) == len(catalogue("ko", make_settings(tmp_path))) - 1
    assert f"{len(rows)} missing prompts written" in result.output


def test_the_default_folder_is_the_settings(
    recordings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUTYLINE_PROMPTS_DIR", str(recordings))
    result = CliRunner().invoke(app, ["prompts", "--locale", "ko"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "not_heard.wav" in result.output and str(recordings / "ko") in result.output
