"""What the dialogue needs to know: where the Rasa server is and the action endpoint's secret.

Builds on dispatch's settings (the shared deployment values); composed with the
others in dutyline/settings.py, read from the same environment and `.env`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Self

from pydantic import Field, SecretStr, model_validator

from dispatch.settings import DispatchSettings


class DialogueSettings(DispatchSettings):
    rasa_url: str = Field("http://127.0.0.1:5005", alias="DUTYLINE_RASA_URL")
    rasa_timeout_seconds: float = Field(8.0, alias="DUTYLINE_RASA_TIMEOUT_SECONDS")
    # issue 14: one Rasa server (or several) per locale a line uses (nlu/rasa_servers.py).
    rasa_urls: dict[str, str | list[str]] = Field(
        default_factory=dict, alias="DUTYLINE_RASA_URLS",
        description='Each locale\'s Rasa servers, JSON: {"en": "http://127.0.0.1:5005", "ko": '
        '"http://127.0.0.1:5006"} (a comma list for several). A locale not named: the first '
        "line's on DUTYLINE_RASA_URL, the others on the ports after it.",
    )  # fmt: skip
    action_server_url: str | None = Field(
        None,
        alias="DUTYLINE_ACTION_SERVER_URL",
        description="Where Rasa reaches the app's custom actions; default: the app's own address.",
    )
    action_token: SecretStr | None = Field(
        None,
        alias="DUTYLINE_ACTION_TOKEN",
        description="Shared secret Rasa sends to /rasa/actions (a bearer header); required in "
        "production, derived from the secret key elsewhere.",
    )

    # issue 10: after the secret key's check (dispatch's, run first), so a missing key is
    # reported first.
    @model_validator(mode="after")
    def _refuse_weak_action_token_in_production(self) -> Self:
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
