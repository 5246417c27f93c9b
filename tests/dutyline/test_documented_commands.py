"""Every command the docs show runs as written.

Commands of the project's console scripts (pyproject's [project.scripts], e.g.
`dutyline ...` or `.venv/bin/dutyline ...`) are read from README.md, docs/*.md and the
packages' README files: lines of fenced code blocks and inline code spans. Each one is
parsed by the real command-line app (with --help: unknown commands and options are usage
errors). The harmless examples of fenced blocks are then run for real, as written,
through the installed entry point against a temporary SQLite database, which also
catches missing options and bad values.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
from sqlmodel import Session, select
from typer.testing import CliRunner

from dispatch.db import make_engine
from dispatch.models import ApiKey, Staff
from dutyline.settings import ROOT

SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted(p for p in ROOT.glob("*/README.md") if not p.parent.name.startswith(".")),
]
# Placeholder brackets of a synopsis (`[--locale en]`) mark optional parts: keep them.
OPTIONAL = str.maketrans("", "", "[]")
# Changes only the temporary database the test points it at.
HARMLESS = {("migrate",), ("user", "add"), ("user", "list"), ("apikey", "add"), ("apikey", "list")}
PASSWORD = "night-shift-2026"


@dataclass(frozen=True)
class Documented:
    where: str  # file:line, for the failure message
    script: str
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    example: bool = False  # in a fenced block (an example to run), not a prose synopsis

    def __str__(self) -> str:
        return f"{self.where}: {self.script} {shlex.join(self.args)}"

    def starts(self, *words: str) -> bool:
        return self.args[: len(words)] == words


def _command(text: str, where: str, *, example: bool) -> Documented | None:
    names = "|".join(re.escape(name) for name in SCRIPTS)
    if not re.match(rf"\s*(?:\w+=\S+\s+)*(?:\S*/)?(?:{names})(?:\s|$)", text):
        return None
    words = shlex.split(text, comments=True)
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    script = Path(words.pop(0)).name
    args: list[str] = []
    for word in words:
        if word in ("&", "&&", ";", "|", ">", "2>&1"):
            break
        args.append(word.translate(OPTIONAL))
    if not args and not example:
        return None  # the program's name in prose, not a command
    return Documented(where, script, tuple(a for a in args if a), env, example)


def documented_commands() -> list[Documented]:
    found: list[Documented] = []
    for doc in DOCS:
        name = doc.relative_to(ROOT)
        fenced = False
        pending = ""
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            if line.lstrip().startswith("```"):
                fenced, pending = not fenced, ""
                continue
            if fenced:
                pending += line
                if pending.endswith("\\"):  # a command continued on the next line
                    pending = pending[:-1] + " "
                    continue
                command = _command(pending, f"{name}:{number}", example=True)
                pending = ""
            else:
                spans = re.findall(r"`([^`]+)`", line)
                commands = [_command(span, f"{name}:{number}", example=False) for span in spans]
                found += [c for c in commands if c is not None]
                continue
            if command is not None:
                found.append(command)
    return found


COMMANDS = documented_commands()


def _app(script: str) -> typer.Typer:
    module, attr = SCRIPTS[script].split(":")
    app = getattr(importlib.import_module(module), attr)
    assert isinstance(app, typer.Typer), f"{script} is not a Typer app"
    return app


def test_the_docs_show_the_commands_people_need() -> None:
    # The README's own examples; if these vanish, the extraction is broken.
    for words in [("user", "add"), ("apikey", "add"), ("call",), ("run",), ("setup",)]:
        assert any(c.starts(*words) for c in COMMANDS), words
    assert any(c.where.startswith("docs/") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_each_documented_command_parses(command: Documented) -> None:
    """The words as written, with --help: Click parses every one before it shows the
    help, so an unknown command or option is a usage error (exit 2)."""
    result = CliRunner().invoke(_app(command.script), [*command.args, "--help"])
    assert result.exit_code == 0, f"{command}:\n{result.output}"


def test_the_harmless_examples_run_as_written(tmp_path: Path) -> None:
    examples = [c for c in COMMANDS if c.example and any(c.starts(*h) for h in HARMLESS)]
    assert any(c.starts("user", "add") for c in examples)
    database = tmp_path / "dutyline.db"
    env = {
        **os.environ,
        "DUTYLINE_DATABASE_URL": f"sqlite:///{database}",
        "DUTYLINE_RECORDINGS_DIR": str(tmp_path / "recordings"),
        "DUTYLINE_SPOOL_DIR": str(tmp_path / "spool"),
    }
    bin_dir = Path(sys.executable).parent

    def run(script: str, *args: str, extra: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            [str(bin_dir / script), *args],
            env={**env, **(extra or {})},
            cwd=tmp_path,
            input=f"{PASSWORD}\n{PASSWORD}\n",
            capture_output=True,
            text=True,
            timeout=120,
            # No terminal: the password prompt reads the piped answers.
            start_new_session=True,
        )
        assert result.returncode == 0, f"{script} {shlex.join(args)}:\n{result.stderr}"
        return result.stdout

    run("dutyline", "migrate")
    for command in examples:
        run(command.script, *command.args, extra=command.env)

    engine = make_engine(env["DUTYLINE_DATABASE_URL"])
    with Session(engine) as session:
        staff = {s.username: s.role for s in session.exec(select(Staff))}
        partners = {k.name for k in session.exec(select(ApiKey))}
    engine.dispose()
    for command in examples:
        if command.starts("user", "add"):
            role = command.args[command.args.index("--role") + 1]
            assert staff[command.args[2]] == role
        if command.starts("apikey", "add"):
            assert command.args[2] in partners
