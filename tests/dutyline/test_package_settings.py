"""Each package reads its own settings from the same environment and `.env`, under the
variable names a deployment already uses; dutyline's Settings is all of them at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dispatch.settings import DispatchSettings
from dutyline.settings import Settings
from nlu.settings import DialogueSettings
from voice.settings import VoiceSettings


def test_settings_is_every_packages_settings() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert isinstance(settings, VoiceSettings)
    assert isinstance(settings, DialogueSettings)
    assert isinstance(settings, DispatchSettings)
    packages = (
        set(VoiceSettings.model_fields)
        | set(DialogueSettings.model_fields)
        | set(DispatchSettings.model_fields)
    )
    # The app process's own: where it listens, its threads, who may read its /metrics.
    own = {"host", "port", "worker_threads", "metrics_token"}
    assert set(Settings.model_fields) - packages == own


def test_every_variable_keeps_its_name() -> None:
    aliases = {name: field.alias for name, field in Settings.model_fields.items()}
    assert aliases["twilio_auth_token"] == "TWILIO_AUTH_TOKEN"
    assert aliases["action_token"] == "DUTYLINE_ACTION_TOKEN"
    for name, alias in aliases.items():
        if not name.startswith("twilio_"):
            assert alias == f"DUTYLINE_{name.upper()}", name


def test_each_package_reads_the_one_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DUTYLINE_TIMEZONE=Asia/Seoul\n"
        "DUTYLINE_RASA_URL=http://rasa:5005\n"
        "TWILIO_AUTH_TOKEN=tok\n"
        "DUTYLINE_PORT=9000\n"
    )
    dispatch = DispatchSettings(_env_file=env_file)  # type: ignore[call-arg]
    dialogue = DialogueSettings(_env_file=env_file)  # type: ignore[call-arg]
    voice = VoiceSettings(_env_file=env_file)  # type: ignore[call-arg]
    assert dispatch.timezone == dialogue.timezone == voice.timezone == "Asia/Seoul"
    assert dialogue.rasa_url == "http://rasa:5005"
    assert voice.signing_token == "tok"
    assert Settings(_env_file=env_file).port == 9000  # type: ignore[call-arg]


def test_each_package_refuses_its_weak_secrets_in_production() -> None:
    production = {"_env_file": None, "environment": "production", "public_url": "https://x.gov"}
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        DispatchSettings(**production)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="SECRET_KEY"):  # the secret key is named first
        DialogueSettings(**production)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="ACTION_TOKEN"):
        DialogueSettings(**production, secret_key="k" * 20)  # type: ignore[arg-type]
    assert DispatchSettings(**production, secret_key="k" * 20)  # type: ignore[arg-type]


def test_bare_field_names_in_the_environment_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terminal's LINES=24 once made the lines file "data/24" (every test of a fresh
    clone failed): a setting is read only by its DUTYLINE_ variable, while code may still
    pass it by field name."""
    for name, value in {"LINES": "24", "PORT": "1", "LOCALE": "ko", "HOST": "0.0.0.0"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DUTYLINE_TIMEZONE", "Asia/Seoul")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert str(settings.lines) == "lines.yaml" and settings.locale == "en"
    assert settings.port != 1 and settings.host != "0.0.0.0"
    assert settings.timezone == "Asia/Seoul"
    assert Settings(_env_file=None, port=5).port == 5  # type: ignore[call-arg]
