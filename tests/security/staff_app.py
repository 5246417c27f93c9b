"""The real app for a separate `python -m uvicorn ... --factory` process, without the
speech models (the staff pages never use them): the composition root's own factory,
configured from the environment exactly as `dutyline run` configures it."""

from __future__ import annotations

from fastapi import FastAPI

from dutyline.app import create_app
from dutyline.settings import Settings


def create_pages_app() -> FastAPI:
    return create_app(Settings(), load_models=False)
