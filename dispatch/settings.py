"""What dispatch needs to know, read from the environment and `.env`.

The bottom package's settings carry the values every package shares (where the
deployment lives, its time zone and language, the secret key); voice/settings.py and
nlu/settings.py build on them, and dutyline/settings.py composes all three into the
one object the app factory passes around. Variable names are the deployment's:
changing a field's alias breaks every city's `.env`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# A source checkout (and its editable install) keeps data/, models/ and var/ beside the
# packages. An installed wheel (the Docker image) sits in site-packages: there the working
# directory is the deployment's home, and without a data/ of its own it uses the copy the
# wheel carries (setup.py bundles data/ as dutyline/bundled_data).
_CHECKOUT = Path(__file__).resolve().parent.parent
ROOT = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else Path.cwd()
BUNDLED_DATA = _CHECKOUT / "dutyline" / "bundled_data"
DATA_DIR = ROOT / "data" if (ROOT / "data").is_dir() else BUNDLED_DATA
DEV_SECRET_KEY = "dev-secret-change-me"


class _NamedOnly:
    """Read a field only by its variable name (DUTYLINE_LINES), never by its bare field
    name: with populate_by_name (so code may pass `lines=...`), pydantic-settings would also
    read `LINES`, `PORT`, `HOST` or `LOCALE` from the environment, and a terminal's LINES=24
    made the lines file "data/24"."""

    def _extract_field_info(self, field: FieldInfo, field_name: str) -> list:  # type: ignore[type-arg]
        found = super()._extract_field_info(field, field_name)  # type: ignore[misc]
        if field.alias or field.validation_alias:
            return [entry for entry in found if entry[0] != field_name] or found
        return found


class _Environment(_NamedOnly, EnvSettingsSource):
    pass


class _DotEnv(_NamedOnly, DotEnvSettingsSource):
    pass


class DispatchSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=(ROOT / ".env", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        dotenv = (
            _DotEnv(
                settings_cls,
                env_file=dotenv_settings.env_file,  # `_env_file=` given to the constructor
                env_file_encoding=dotenv_settings.env_file_encoding,
            )
            if isinstance(dotenv_settings, DotEnvSettingsSource)
            else dotenv_settings
        )
        return (init_settings, _Environment(settings_cls), dotenv, file_secret_settings)

    # --- the deployment, shared by every package ---------------------------------
    environment: Literal["development", "test", "production"] = Field(
        "development", alias="DUTYLINE_ENVIRONMENT"
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        alias="DUTYLINE_PUBLIC_URL",
        description="The address Twilio calls (https in production); signatures use it.",
    )
    secret_key: SecretStr = Field(
        SecretStr(DEV_SECRET_KEY),
        alias="DUTYLINE_SECRET_KEY",
        description="Signs staff sign-in cookies.",
    )
    database_url: str = Field(
        f"sqlite:///{ROOT / 'var' / 'dutyline.db'}", alias="DUTYLINE_DATABASE_URL"
    )
    data_dir: Path = Field(DATA_DIR, alias="DUTYLINE_DATA_DIR")
    recordings_dir: Path = Field(ROOT / "var" / "recordings", alias="DUTYLINE_RECORDINGS_DIR")
    spool_dir: Path = Field(
        ROOT / "var" / "spool",
        alias="DUTYLINE_SPOOL_DIR",
        description="Reports wait here on disk while the database is unavailable.",
    )
    timezone: str = Field("America/New_York", alias="DUTYLINE_TIMEZONE")
    locale: str = Field("en", alias="DUTYLINE_LOCALE")
    emergency_number: str = Field("911", alias="DUTYLINE_EMERGENCY_NUMBER")

    # --- tickets --------------------------------------------------------------------
    escalation_minutes: int = Field(15, alias="DUTYLINE_ESCALATION_MINUTES")
    duplicate_window_minutes: int = Field(120, alias="DUTYLINE_DUPLICATE_WINDOW_MINUTES")
    duplicate_radius_meters: float = Field(150.0, alias="DUTYLINE_DUPLICATE_RADIUS_METERS")
    retention_days: int = Field(90, alias="DUTYLINE_RETENTION_DAYS")
    lost_call_seconds: int = Field(
        60, ge=1, alias="DUTYLINE_LOST_CALL_SECONDS",
        description="A call Twilio says has ended but no replica's stream closed this long "
        "after is taken as lost with its replica: its words are filed for triage.",
    )  # fmt: skip
    places_city: str = Field(
        "Riverton", alias="DUTYLINE_PLACES_CITY",
        description="The imported city (`dutyline places import`) whose places callers name.",
    )  # fmt: skip
    # Set-up and start-up import these when the database has no places of places_city.
    places_files: Annotated[list[Path], NoDecode] = Field(
        [Path("places/riverton.osm"), Path("places/riverton-addresses.csv.gz")],
        alias="DUTYLINE_PLACES_FILES",
        description="The city's OpenStreetMap (.osm, .osm.pbf) and OpenAddresses (.csv, "
        ".csv.gz) files, comma-separated; relative paths are in the data directory.",
    )
    places_aliases: Path = Field(
        Path("places/aliases.yaml"), alias="DUTYLINE_PLACES_ALIASES",
        description="The city's own names for its places (YAML); relative: in the data directory.",
    )  # fmt: skip
    # issue 14: the numbers the deployment answers, each with its locale and city
    # (dispatch/lines.py). Empty, or unset with a DUTYLINE_PLACES_* set or no such file:
    # one line from DUTYLINE_LOCALE and DUTYLINE_PLACES_*.
    lines: Path | None = Field(
        Path("lines.yaml"), alias="DUTYLINE_LINES",
        description="The lines file (YAML: number -> locale and city); relative: in the data "
        "directory.",
    )  # fmt: skip

    @field_validator("lines", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

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

    # --- e-mail to staff (issue 15); unset host: e-mails are recorded, not sent ---
    smtp_host: str | None = Field(None, alias="DUTYLINE_SMTP_HOST")
    smtp_port: int | None = Field(
        None, ge=1, le=65535, alias="DUTYLINE_SMTP_PORT",
        description="Default: 587 with starttls, 465 with ssl, 25 with none.",
    )  # fmt: skip
    smtp_username: str | None = Field(None, alias="DUTYLINE_SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, alias="DUTYLINE_SMTP_PASSWORD")
    smtp_from: str | None = Field(
        None, alias="DUTYLINE_SMTP_FROM",
        description="The sender address, e.g. dutyline@city.example; needed with a host.",
    )  # fmt: skip
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", alias="DUTYLINE_SMTP_SECURITY",
        description="starttls (submission, 587), ssl (implicit TLS, 465), none (a relay "
        "inside the city's network only).",
    )  # fmt: skip
    smtp_timeout_seconds: float = Field(10.0, gt=0, alias="DUTYLINE_SMTP_TIMEOUT_SECONDS")

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or {"starttls": 587, "ssl": 465, "none": 25}[self.smtp_security]

    @model_validator(mode="after")
    def _smtp_needs_a_sender(self) -> Self:
        if self.smtp_host and not self.smtp_from:
            raise ValueError("DUTYLINE_SMTP_FROM must be set when DUTYLINE_SMTP_HOST is")
        return self

    @field_validator("places_files", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def places_paths(self) -> list[Path]:
        """The place files, relative ones in the data directory."""
        return [self.data_dir / path for path in self.places_files]

    @property
    def places_aliases_path(self) -> Path:
        return self.data_dir / self.places_aliases

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Self:
        if self.environment == "production":
            if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
                raise ValueError("DUTYLINE_SECRET_KEY must be set in production")
            if not self.public_url.startswith("https://"):
                raise ValueError("DUTYLINE_PUBLIC_URL must be https in production")
        return self
