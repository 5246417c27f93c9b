"""Call control over the provider's REST API: hang up, transfer, send an SMS.

`TwilioCallControl` uses the twilio REST client. With no Twilio credentials,
`LocalCallControl` records what would have been sent (in memory and as JSON
lines in var/telephony_outbox.jsonl) so the whole system runs without an account.
Methods block (HTTP); call them with asyncio.to_thread from async code.
Both also serve as dispatch's SmsSender.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from twilio.rest import Client

from dispatch.contract import mask_phone
from dispatch.privacy import mask_numbers
from voice.settings import VoiceSettings
from voice.transfers import DIAL_PATH, DialOptions, dial_twiml

log = logging.getLogger("dutyline.voice.call_control")


class CallControl(Protocol):
    name: str

    def hang_up(self, call_sid: str) -> None: ...

    def transfer(self, call_sid: str, to: str, caller: str | None = None) -> None:
        """Connect the caller to another phone (the officer on duty); ends our stream.
        `caller`: the caller's number, shown to the officer when it is a real one."""
        ...

    def send_sms(self, to: str, body: str) -> str:
        """Send a text message; return the provider's message id. Raises on failure."""
        ...


class TwilioCallControl:
    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str | None,
        dial: DialOptions | None = None,
    ) -> None:
        self.client = Client(account_sid, auth_token)
        self.from_number = from_number
        self.dial = dial or DialOptions(fallback_caller_id=from_number)

    def hang_up(self, call_sid: str) -> None:
        self.client.calls(call_sid).update(status="completed")

    def transfer(self, call_sid: str, to: str, caller: str | None = None) -> None:
        self.client.calls(call_sid).update(twiml=dial_twiml(to, caller, self.dial))

    def send_sms(self, to: str, body: str) -> str:
        if not self.from_number:
            raise RuntimeError("TWILIO_FROM_NUMBER is not set; cannot send SMS")
        message = self.client.messages.create(to=to, from_=self.from_number, body=body)
        return str(message.sid)


class LocalCallControl:
    """Records every action instead of sending it; thread-safe."""

    name = "local"

    def __init__(self, outbox: Path | None, dial: DialOptions | None = None) -> None:
        self.outbox = outbox
        self.dial = dial or DialOptions()
        self.sent: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def hang_up(self, call_sid: str) -> None:
        self._record({"action": "hang_up", "call_sid": call_sid})

    def transfer(self, call_sid: str, to: str, caller: str | None = None) -> None:
        twiml = dial_twiml(to, caller, self.dial)
        self._record({"action": "transfer", "call_sid": call_sid, "to": to, "twiml": twiml})

    def send_sms(self, to: str, body: str) -> str:
        sid = "SMlocal" + uuid.uuid4().hex[:25]
        self._record({"action": "sms", "to": to, "body": body, "sid": sid})
        return sid

    def actions(self, action: str, call_sid: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                entry
                for entry in self.sent
                if entry["action"] == action and call_sid in (None, entry.get("call_sid"))
            ]

    def _record(self, entry: dict[str, Any]) -> None:
        entry = {"at": datetime.now(UTC).isoformat(), **entry}
        # What Twilio would be asked, not what it would carry: no SMS text, numbers masked.
        log.info(
            "local telephony (not sent): %s %s",
            entry["action"],
            entry.get("call_sid") or mask_phone(entry.get("to")),
        )
        with self._lock:
            self.sent.append(entry)
            if self.outbox is not None:
                self.outbox.parent.mkdir(parents=True, exist_ok=True)
                with self.outbox.open("a", encoding="utf-8") as handle:
                    # The file is a log too: numbers masked (`sent` keeps them for tests).
                    handle.write(mask_numbers(json.dumps(entry)) + "\n")


def dial_options(settings: VoiceSettings) -> DialOptions:
    return DialOptions(
        ring_seconds=settings.transfer_ring_seconds,
        action_url=settings.public_url + DIAL_PATH,
        fallback_caller_id=settings.twilio_from_number,
        emergency_number=settings.emergency_number,
    )


def make_call_control(settings: VoiceSettings) -> CallControl:
    if settings.twilio_configured:
        assert settings.twilio_account_sid and settings.twilio_auth_token
        return TwilioCallControl(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_from_number,
            dial_options(settings),
        )
    return LocalCallControl(
        settings.recordings_dir.parent / "telephony_outbox.jsonl", dial_options(settings)
    )
