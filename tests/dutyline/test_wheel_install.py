"""The non-editable install the Docker image uses (deploy/app.Dockerfile: `pip install .`)
finds its data and migrations: the built wheel is installed in a fresh environment and
its `dutyline migrate` runs from a folder outside the checkout.

The wheel is built as pip builds it for the image (an isolated build, so setuptools comes
from the package registry or pip's cache). The fresh environment borrows the app's
installed dependencies through a .pth line instead of reinstalling them; .pth files among
them (the editable install of this checkout) are not processed that way, so only the
wheel's copy of dutyline is importable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from dispatch.db import make_engine
from dispatch.models import Department
from dutyline.settings import ROOT

PACKAGES = ("dutyline", "voice", "nlu", "dispatch", "callbench")
# In the checkout but not needed by an installed app: docs, and Rasa's own requirements
# (the dialogue server is built from the checkout in its own image).
NOT_SHIPPED = {"nlu/README.md", "nlu/requirements-rasa.txt"}
SKIP_DIRS = {".git", ".venv", ".venv-rasa", "models", "var", "build", "tests", "__pycache__"}


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{cmd}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _ignore(directory: str, names: list[str]) -> set[str]:
    top = Path(directory) == ROOT
    return {
        n
        for n in names
        if (top and n in SKIP_DIRS)
        or n in ("__pycache__", ".pytest_cache", ".ruff_cache")
        or n.endswith((".egg-info", ".pyc"))
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: an in-tree build would write build/ and egg-info into the checkout.
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=_ignore)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        work / "dist",
        ".",
        cwd=source,
    )
    [built] = (work / "dist").glob("dutyline-*.whl")
    return built


def sources(wheel: Path) -> Path:
    """The copy the wheel was built from (the checkout may change meanwhile)."""
    return wheel.parent.parent / "src"


def test_the_wheel_carries_every_file_the_packages_read(wheel: Path) -> None:
    shipped = set(zipfile.ZipFile(wheel).namelist())
    source = sources(wheel)
    in_checkout = {
        str(path.relative_to(source))
        for package in PACKAGES
        for path in (source / package).rglob("*")
        if path.is_file()
    }
    assert in_checkout - NOT_SHIPPED - shipped == set()
    # The templates, static files and migrations among them, and data/ as the defaults.
    assert any(name.startswith("dispatch/migrations/versions/") for name in shipped)
    assert "dispatch/pages/templates/base.html" in shipped
    data = {
        str(p.relative_to(source / "data")) for p in (source / "data").rglob("*") if p.is_file()
    }
    assert {f"dutyline/bundled_data/{name}" for name in data} <= shipped


def test_an_installed_wheel_migrates_from_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    run(sys.executable, "-m", "venv", "--without-pip", env_dir, cwd=tmp_path)
    python = env_dir / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path)
    # The app's dependencies (and pip), without this checkout's editable install.
    (Path(site.strip()) / "dutyline-dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)

    home = tmp_path / "srv"  # a deployment's folder: no data/, no checkout
    home.mkdir()
    database = home / "dutyline.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUTYLINE_", "PYTHON"))} | {
        "DUTYLINE_DATABASE_URL": f"sqlite:///{database}"
    }
    where = run(
        python,
        "-c",
        "import dispatch, dutyline.settings as s; "
        "print(dispatch.__file__, s.ROOT, s.Settings().data_dir, s.Settings().models_dir)",
        cwd=home,
        env=env,
    ).split()
    installed = Path(where[0]).parent.parent
    assert installed.is_relative_to(env_dir), "the checkout, not the wheel, was imported"
    root, data_dir, models_dir = map(Path, where[1:])
    assert root == home and models_dir == home / "models"
    assert data_dir == installed / "dutyline" / "bundled_data"

    assert "migrated" in run(env_dir / "bin" / "dutyline", "migrate", cwd=home, env=env)

    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        departments = set(session.exec(select(Department.code)))
    engine.dispose()
    # Seeded from the data the wheel carries.
    departments_file = sources(wheel) / "data" / "departments.yaml"
    expected = yaml.safe_load(departments_file.read_text())["departments"]
    assert set(expected) and set(expected) <= departments
