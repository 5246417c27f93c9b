"""The one settings object, read from the environment and `.env`.

Each package declares what it needs (dispatch/settings.py, nlu/settings.py,
voice/settings.py); this composes them with the deployment's own values (where the
app listens, its worker threads). The app factory builds one and passes it on, so
tests can build an app with other settings; inside a package, code takes its own
package's type, and any `Settings` is one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr

from dispatch.settings import BUNDLED_DATA, DATA_DIR, ROOT
from nlu.settings import DialogueSettings
from voice.settings import VoiceSettings

__all__ = ["BUNDLED_DATA", "DATA_DIR", "ROOT", "Settings", "get_settings"]


class Settings(VoiceSettings, DialogueSettings):
    # --- the app process --------------------------------------------------------
    host: str = Field("127.0.0.1", alias="DUTYLINE_HOST")
    port: int = Field(8000, alias="DUTYLINE_PORT")
    worker_threads: int = Field(
        64,
        ge=4,
        alias="DUTYLINE_WORKER_THREADS",
        description="Threads for blocking work (recognition, synthesis, database). Each "
        "live call may hold a few while it waits its turn for the cores.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        alias="DUTYLINE_METRICS_TOKEN",
        description="If set, GET /metrics wants `Authorization: Bearer <this>`.",
    )

    @property
    def action_endpoint(self) -> str:
        """Where Rasa posts its actions: the app itself unless told otherwise."""
        base = self.action_server_url or f"http://{self.host}:{self.port}"
        return f"{base.rstrip('/')}/rasa/actions"

    @property
    def rasa_dir(self) -> Path:
        return self.models_dir / "rasa"


@lru_cache
def get_settings() -> Settings:
    return Settings()
