"""Everything about the build is in pyproject.toml except this: the wheel carries data/
(complaint kinds, departments, roster, the city's places) as dutyline/bundled_data, the defaults
an installed dutyline uses when its working directory has no data/ (dutyline/settings.py).
data/ stays at the top of the checkout, where people edit it."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):  # an editable install reads data/
            shutil.copytree(
                Path(__file__).resolve().parent / "data",
                Path(self.build_lib) / "dutyline" / "bundled_data",
                ignore=shutil.ignore_patterns("__pycache__"),
                dirs_exist_ok=True,
            )


setup(cmdclass={"build_py": BuildPyWithData})
