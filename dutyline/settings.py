"""The one settings object, read from the environment and `.env`.

Every component gets its values from here; the app factory builds one and
passes it on, so tests can build an app with other settings.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A source checkout (and its editable install) keeps data/, models/ and var/ beside the
# packages. An installed wheel (the Docker image) sits in site-packages: there the working
# directory is the deployment's home, and without a data/ of its own it uses the copy the
# wheel carries (setup.py bundles data/ as dutyline/bundled_data).
_CHECKOUT = Path(__file__).resolve().parent.parent
ROOT = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else Path.cwd()
BUNDLED_DATA = Path(__file__).resolve().parent / "bundled_data"
DATA_DIR = ROOT / "data" if (ROOT / "data").is_dir() else BUNDLED_DATA


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=(ROOT / ".env", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- deployment -------------------------------------------------------
    environment: Literal["development", "test", "production"] = Field(
        "development", alias="DUTYLINE_ENVIRONMENT"
    )
    host: str = Field("127.0.0.1", alias="DUTYLINE_HOST")
    port: int = Field(8000, alias="DUTYLINE_PORT")
    public_url: str = Field(
        "http://127.0.0.1:8000",
        alias="DUTYLINE_PUBLIC_URL",
        description="The address Twilio calls (https in production); signatures use it.",
    )
    secret_key: SecretStr = Field(
        SecretStr("dev-secret-change-me"),
        alias="DUTYLINE_SECRET_KEY",
        description="Signs staff sign-in cookies.",
    )
    database_url: str = Field(
        f"sqlite:///{ROOT / 'var' / 'dutyline.db'}", alias="DUTYLINE_DATABASE_URL"
    )
    data_dir: Path = Field(DATA_DIR, alias="DUTYLINE_DATA_DIR")
    models_dir: Path = Field(ROOT / "models", alias="DUTYLINE_MODELS_DIR")
    recordings_dir: Path = Field(ROOT / "var" / "recordings", alias="DUTYLINE_RECORDINGS_DIR")
    spool_dir: Path = Field(
        ROOT / "var" / "spool",
        alias="DUTYLINE_SPOOL_DIR",
        description="Reports wait here on disk while the database is unavailable.",
    )
    timezone: str = Field("America/New_York", alias="DUTYLINE_TIMEZONE")
    locale: str = Field("en", alias="DUTYLINE_LOCALE")
    emergency_number: str = Field("911", alias="DUTYLINE_EMERGENCY_NUMBER")

    # --- Twilio -------------------------------------------------------------
    twilio_account_sid: str | None = Field(None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = Field(None, alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(
        None, alias="TWILIO_FROM_NUMBER", description="The city's number, the sender of SMS."
    )

    # --- dialogue (Rasa) ----------------------------------------------------
    rasa_url: str = Field("http://127.0.0.1:5005", alias="DUTYLINE_RASA_URL")
    rasa_timeout_seconds: float = Field(8.0, alias="DUTYLINE_RASA_TIMEOUT_SECONDS")
    action_server_url: str | None = Field(
        None,
        alias="DUTYLINE_ACTION_SERVER_URL",
        description="Where Rasa reaches the app's custom actions; default: the app's own address.",
    )

    # --- the action endpoint's secret and transfers (issue 10) -------------------
    action_token: SecretStr | None = Field(
        None,
        alias="DUTYLINE_ACTION_TOKEN",
        description="Shared secret Rasa sends to /rasa/actions (a bearer header); required in "
        "production, derived from the secret key elsewhere.",
    )
    transfer_ring_seconds: int = Field(
        25, ge=5, le=120, alias="DUTYLINE_TRANSFER_RING_SECONDS",
        description="How long a transfer rings before the caller is offered voicemail.",
    )  # fmt: skip
    voicemail_max_seconds: int = Field(120, ge=10, le=600, alias="DUTYLINE_VOICEMAIL_MAX_SECONDS")

    # --- speech -------------------------------------------------------------
    asr_models: dict[str, str] = Field(
        default_factory=lambda: {"en": "whisper:tiny.en", "ko": "vosk:ko"},
        alias="DUTYLINE_ASR_MODELS",
        description='Recognizer per locale, JSON, e.g. {"en": "whisper:base"}.',
    )
    whisper_window_seconds: int = Field(
        10,
        alias="DUTYLINE_WHISPER_WINDOW_SECONDS",
        description="Whisper encoder window; shorter is faster (see docs/benchmarks.md).",
    )
    end_of_turn_silence_ms: int = Field(600, alias="DUTYLINE_END_OF_TURN_SILENCE_MS")
    no_input_timeout_seconds: float = Field(7.0, alias="DUTYLINE_NO_INPUT_TIMEOUT_SECONDS")
    max_call_seconds: int = Field(600, alias="DUTYLINE_MAX_CALL_SECONDS")
    piper_voice: str = Field("en_US-joe-medium", alias="DUTYLINE_PIPER_VOICE")
    worker_threads: int = Field(
        64,
        ge=4,
        alias="DUTYLINE_WORKER_THREADS",
        description="Threads for blocking work (recognition, synthesis, database). Each "
        "live call may hold a few while it waits its turn for the cores.",
    )

    # --- dispatch -----------------------------------------------------------
    escalation_minutes: int = Field(15, alias="DUTYLINE_ESCALATION_MINUTES")
    duplicate_window_minutes: int = Field(120, alias="DUTYLINE_DUPLICATE_WINDOW_MINUTES")
    duplicate_radius_meters: float = Field(150.0, alias="DUTYLINE_DUPLICATE_RADIUS_METERS")
    retention_days: int = Field(90, alias="DUTYLINE_RETENTION_DAYS")

    # --- SMS to the public and the retention purge's reach (issue 10) -------
    sms_per_number_per_hour: int = Field(
        5, ge=0, alias="DUTYLINE_SMS_PER_NUMBER_PER_HOUR",
        description="Texts to one caller's number an hour; more are recorded, not sent.",
    )  # fmt: skip
    sms_per_line_per_hour: int = Field(
        200, ge=0, alias="DUTYLINE_SMS_PER_LINE_PER_HOUR",
        description="Texts to the public an hour for the whole line (staff alerts not counted).",
    )  # fmt: skip
    rasa_tracker_redis_url: str | None = Field(
        None, alias="DUTYLINE_RASA_TRACKER_REDIS_URL",
        description="Rasa's Redis tracker store (redis://host:6379/0), whose conversations "
        "the retention purge deletes; unset: Rasa keeps none in Redis.",
    )  # fmt: skip
    rasa_tracker_key_prefix: str | None = Field(
        None, alias="DUTYLINE_RASA_TRACKER_KEY_PREFIX",
        description="The tracker store's key_prefix in Rasa's endpoints, if one is set.",
    )  # fmt: skip

    # --- staff sign-in throttle (issue 10), shared by every process through the database
    signin_failures_per_user: int = Field(5, ge=1, alias="DUTYLINE_SIGNIN_FAILURES_PER_USER")
    signin_failures_per_address: int = Field(20, ge=1, alias="DUTYLINE_SIGNIN_FAILURES_PER_ADDRESS")
    signin_window_minutes: int = Field(15, ge=1, alias="DUTYLINE_SIGNIN_WINDOW_MINUTES")

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key.get_secret_value() == "dev-secret-change-me":
                raise ValueError("DUTYLINE_SECRET_KEY must be set in production")
            if not self.public_url.startswith("https://"):
                raise ValueError("DUTYLINE_PUBLIC_URL must be https in production")
        return self

    # issue 10: after the secret key's check, so a missing key is reported first.
    @model_validator(mode="after")
    def _refuse_weak_action_token_in_production(self) -> Settings:
        token = self.action_token.get_secret_value() if self.action_token else ""
        if self.environment == "production" and len(token) < 24:
            raise ValueError("DUTYLINE_ACTION_TOKEN must be set (24+ characters) in production")
        return self

    @property
    def action_token_value(self) -> str:
        """What Rasa must present; outside production, derived so app and Rasa agree unset."""
        if self.action_token is not None and self.action_token.get_secret_value():
            return self.action_token.get_secret_value()
        key = self.secret_key.get_secret_value().encode()
        return hmac.new(key, b"dutyline rasa action endpoint", hashlib.sha256).hexdigest()

    @property
    def signing_token(self) -> str:
        """The token Twilio signs requests with; a fixed local one until a real account is set."""
        if self.twilio_auth_token is not None:
            return self.twilio_auth_token.get_secret_value()
        if self.environment == "production":
            raise ValueError("TWILIO_AUTH_TOKEN must be set in production")
        return "dutyline-local-signing-token"

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def action_endpoint(self) -> str:
        base = self.action_server_url or f"http://{self.host}:{self.port}"
        return f"{base.rstrip('/')}/rasa/actions"

    @property
    def rasa_dir(self) -> Path:
        return self.models_dir / "rasa"


@lru_cache
def get_settings() -> Settings:
    return Settings()
