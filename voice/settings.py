"""What the phone line needs to know: Twilio, transfers, the speech models and call timing.

Builds on dispatch's settings (the shared deployment values); composed with the
others in dutyline/settings.py, read from the same environment and `.env`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from dispatch.settings import ROOT, DispatchSettings


class VoiceSettings(DispatchSettings):
    models_dir: Path = Field(ROOT / "models", alias="DUTYLINE_MODELS_DIR")

    # --- Twilio -------------------------------------------------------------
    twilio_account_sid: str | None = Field(None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = Field(None, alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(
        None, alias="TWILIO_FROM_NUMBER", description="The city's number, the sender of SMS."
    )

    # --- transfers (issue 10) -----------------------------------------------
    transfer_ring_seconds: int = Field(
        25, ge=5, le=120, alias="DUTYLINE_TRANSFER_RING_SECONDS",
        description="How long a transfer rings before the caller is offered voicemail.",
    )  # fmt: skip
    voicemail_max_seconds: int = Field(120, ge=10, le=600, alias="DUTYLINE_VOICEMAIL_MAX_SECONDS")

    # --- speech -------------------------------------------------------------
    asr_models: dict[str, str] = Field(
        # Korean: multilingual Whisper base over Vosk, by measurement (callbench/korean_speech.py,
        # docs/benchmarks.md "Korean recognition (issue 14)"): fewer character errors, quicker.
        default_factory=lambda: {"en": "whisper:tiny.en", "ko": "whisper:base"},
        alias="DUTYLINE_ASR_MODELS",
        description='Recognizer per locale, JSON, e.g. {"en": "whisper:base"}.',
    )
    whisper_window_seconds: int = Field(
        10,
        alias="DUTYLINE_WHISPER_WINDOW_SECONDS",
        description="Whisper encoder window; shorter is faster (see docs/benchmarks.md).",
    )
    end_of_turn_silence_ms: int = Field(600, alias="DUTYLINE_END_OF_TURN_SILENCE_MS")
    end_of_turn_pause_ms: int = Field(
        250, ge=50, alias="DUTYLINE_END_OF_TURN_PAUSE_MS",
        description="Silence at which the turn so far is transcribed speculatively.",
    )  # fmt: skip
    early_end_of_turn: bool = Field(
        True, alias="DUTYLINE_EARLY_END_OF_TURN",
        description="End the turn at that pause when its transcript is a complete answer "
        "to the question (voice/turn_completion.py); off: always the full silence.",
    )  # fmt: skip
    no_input_timeout_seconds: float = Field(7.0, alias="DUTYLINE_NO_INPUT_TIMEOUT_SECONDS")
    max_call_seconds: int = Field(600, alias="DUTYLINE_MAX_CALL_SECONDS")
    piper_voice: str = Field("en_US-joe-medium", alias="DUTYLINE_PIPER_VOICE")
    voices: dict[str, str] = Field(
        default_factory=dict, alias="DUTYLINE_VOICES",
        description='The bot\'s voice per locale, JSON, e.g. {"en": "piper:en_US-joe-medium", '
        '"ko": "espeak:ko"}; unset locales: en is DUTYLINE_PIPER_VOICE, ko is espeak-ng\'s '
        "Korean (no offline Korean Piper voice exists; docs/benchmarks.md).",
    )  # fmt: skip
    prompts_dir: Path | None = Field(
        None, alias="DUTYLINE_PROMPTS_DIR",
        description="The city's recorded prompts, <locale>/<key>.<wav|mp3|ogg|flac> "
        "(`dutyline prompts`); default: <DUTYLINE_DATA_DIR>/prompts.",
    )  # fmt: skip

    # --- a line that knows when it is full (issue 12, voice/capacity.py) ----
    max_calls: int = Field(
        8, ge=0, alias="DUTYLINE_MAX_CALLS",
        description="Calls at once this replica admits to the full dialogue; the next ones "
        "get DUTYLINE_AT_CAPACITY. 8 is what a 2-core machine carries with replies at the "
        "caller within 1.5 s at p95 (`dutyline bench latency`, docs/benchmarks.md); measure "
        "yours. 0 admits none (a replica being drained).",
    )  # fmt: skip
    at_capacity: Literal["voicemail", "emergency"] = Field(
        "voicemail", alias="DUTYLINE_AT_CAPACITY",
        description="Above DUTYLINE_MAX_CALLS: `voicemail`, a short message, then the "
        "caller's message becomes a voicemail ticket (recognized when the recognizer is idle); "
        "`emergency`, a short message with the emergency number and "
        "DUTYLINE_NON_EMERGENCY_ALTERNATIVES, then hang up (the call is still recorded).",
    )  # fmt: skip
    non_emergency_alternatives: str = Field(
        "", alias="DUTYLINE_NON_EMERGENCY_ALTERNATIVES",
        description="A sentence said after the emergency number to callers the full line "
        "turns away (DUTYLINE_AT_CAPACITY=emergency), in the line's language, e.g. 'You can "
        "also report it online at riverton.gov/report, or call 311 in the morning.'",
    )  # fmt: skip

    @property
    def signing_token(self) -> str:
        """The token Twilio signs requests with; a fixed local one until a real account is set."""
        if self.twilio_auth_token is not None:
            return self.twilio_auth_token.get_secret_value()
        if self.environment == "production":
            raise ValueError("TWILIO_AUTH_TOKEN must be set in production")
        return "dutyline-local-signing-token"

    @property
    def voice_specs(self) -> dict[str, str]:
        """The synthesizer spec per locale ("piper:<voice>" | "espeak:<voice>")."""
        return {"en": f"piper:{self.piper_voice}", "ko": "espeak:ko"} | self.voices

    @property
    def recorded_prompts_dir(self) -> Path:
        return self.prompts_dir or self.data_dir / "prompts"

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)
