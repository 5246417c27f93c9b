from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dutyline import rasa_env
from dutyline.settings import Settings


def test_environment_and_dotenv_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DUTYLINE_PUBLIC_URL=https://line.example.gov/\n"
        'DUTYLINE_ASR_MODELS={"en": "whisper:base"}\n'
        "DUTYLINE_EMERGENCY_NUMBER=112\n"
    )
    monkeypatch.setenv("DUTYLINE_EMERGENCY_NUMBER", "119")  # the environment wins over .env
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.public_url == "https://line.example.gov"
    assert settings.asr_models == {"en": "whisper:base"}
    assert settings.emergency_number == "119"
    assert settings.database_url.startswith("sqlite:///") and "/var/" in settings.database_url


def test_production_refuses_default_secret_and_plain_http() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, environment="production", public_url="https://x.gov")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="https"):
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            secret_key="s3cret-for-real",
            public_url="http://x",
        )


def test_signing_token_without_an_account() -> None:
    dev = Settings(_env_file=None)  # type: ignore[call-arg]
    assert dev.signing_token and not dev.twilio_configured
    real = Settings(_env_file=None, twilio_account_sid="AC1", twilio_auth_token="tok")  # type: ignore[call-arg]
    assert real.signing_token == "tok" and real.twilio_configured
    prod = Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="production",
        secret_key="k" * 20,
        public_url="https://x.gov",
        action_token="t" * 32,
    )
    with pytest.raises(ValueError, match="TWILIO_AUTH_TOKEN"):
        _ = prod.signing_token


def test_missing_python_310_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(rasa_env.RasaSetupError, match=r"Python 3\.10.*pyenv install"):
        rasa_env.find_python310()


def test_python_310_is_found_here() -> None:
    python = rasa_env.find_python310()
    assert python.exists() and "3.10" in str(python.resolve())


def test_endpoints_point_rasa_at_the_apps_actions(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, port=8123)  # type: ignore[call-arg]
    path = rasa_env.write_endpoints(tmp_path / "e.yml", settings.action_endpoint)
    assert 'url: "http://127.0.0.1:8123/rasa/actions"' in path.read_text()
