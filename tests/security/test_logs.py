"""Issue 10, item 3: the app's logs hold no caller number and nothing the caller said.

A whole phone call goes through the real stack (Twilio's frames, the real speech
models, the real Rasa server and actions, a ticket filed and a receipt SMS queued)
from a known number saying known sentences, while two handlers listen on the root
logger at INFO: one raw (no filter, no formatter: what the log calls themselves
hand over, before the safety net masks anything) and the app's own (JSON lines).
Then the pieces one by one: the number mask, the formatter, uvicorn's access log
through the app factory, and the local stand-in for Twilio's REST API.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from callbench.simulator import Turn, simulate_call
from dispatch.db import make_engine
from dispatch.logcontext import bind_call_sid
from dispatch.privacy import mask_numbers
from dutyline.app import create_app
from dutyline.logs import UVICORN_LOGGERS, configure_logging, make_handler
from dutyline.settings import Settings
from tests.conftest import ThreadedServer, free_port
from voice.call_control import LocalCallControl

CALLER = "+15185550193"
SAYS = [
    "A truck is blocking my driveway.",
    "Twelve Oak Street.",
    "A white pickup truck.",
    "My driveway.",
    "Yes, that's right.",
    "No, that's all. Thank you.",
]
JSON_FIELDS = {"time", "level", "logger", "message"}


class Records(logging.Handler):
    """Keeps every record's message (and exception text) as the log call made it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name}: {text}")


@pytest.fixture
def restored_logging() -> Iterator[logging.Logger]:
    """Whatever a test does to the logging set-up is undone after it."""
    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    uvicorn_saved = {
        name: (logging.getLogger(name).propagate, list(logging.getLogger(name).handlers))
        for name in UVICORN_LOGGERS
    }
    yield root
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, (propagate, handlers) in uvicorn_saved.items():
        logging.getLogger(name).propagate = propagate
        logging.getLogger(name).handlers[:] = handlers


def number_forms(number: str) -> list[str]:
    digits = number.lstrip("+")
    return [number, digits, digits[1:], digits[-7:]]


def words(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


# --- a whole call -------------------------------------------------------------------


@pytest.mark.slow
async def test_a_whole_call_leaves_no_caller_number_or_words_in_the_log(
    stack: Any, restored_logging: logging.Logger
) -> None:
    root = restored_logging
    raw = Records()
    out = io.StringIO()
    app_handler = make_handler(out)
    app_handler.setLevel(logging.INFO)
    root.handlers.insert(0, raw)  # ahead of the app's handler, whose filter masks records
    root.addHandler(app_handler)
    root.setLevel(logging.INFO)
    try:
        result = await simulate_call(
            stack.app_url,
            [Turn("say", text) for text in SAYS],
            public_url=stack.settings.public_url,
            token=stack.settings.signing_token,
            caller_number=CALLER,
        )
    finally:
        root.removeHandler(raw)
        root.removeHandler(app_handler)
    assert result.ticket_number, result.turns  # the call went all the way
    ticket = await asyncio.to_thread(stack.services.dispatch.find_ticket, result.ticket_number)
    heard = [t["text"] for t in result.turns if t["speaker"] == "caller" and t["text"]]
    assert len(heard) >= 4, heard
    said = [words(text) for text in [*SAYS, *heard, ticket.location or ""]]
    said = [text for text in said if len(text) >= 8]  # "yes": too short to be telling

    raw_text = words("\n".join(raw.lines))
    app_text = out.getvalue()
    for log_text, name in ((raw_text, "as logged"), (words(app_text), "as written")):
        for number in number_forms(CALLER):
            assert number not in log_text, f"{number} in the log {name}"
        for sentence in said:
            assert sentence not in log_text, f"{sentence!r} in the log {name}"

    lines = [json.loads(line) for line in app_text.splitlines()]  # each one valid JSON
    assert all(set(line) >= JSON_FIELDS for line in lines)
    pipeline = [line for line in lines if line["logger"] == "dutyline.voice.pipeline"]
    assert pipeline, "the pipeline logged nothing at INFO"
    assert {line.get("call_sid") for line in pipeline} == {result.call_sid}
    # Not an empty log passing by default: the call is there, told without the caller.
    assert any("+1518•••••93" in line["message"] for line in pipeline)
    assert any("caller turn of" in line["message"] for line in pipeline)
    filed = [line for line in lines if f"ticket {result.ticket_number} filed" in line["message"]]
    assert filed and filed[0].get("call_sid") == result.call_sid


# --- the pieces ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call from +15185550142 ok", "call from +1518•••••42 ok"),
        ("+1 518-555-0142.", "+1518•••••42."),
        ("To=%2B15185550142&x=1", "To=%2B1518•••••42&x=1"),
        ("{'to': '+821012345678'}", "{'to': '+8210••••••78'}"),
        ("ticket 2611230042 at 03:00:12, 42.65 -73.75", None),
    ],
)
def test_numbers_are_masked_in_free_text(text: str, masked: str | None) -> None:
    assert mask_numbers(text) == (masked or text)


def emit(handler: logging.Handler, message: str, *args: object, **kwargs: Any) -> None:
    logger = logging.getLogger("dutyline.test_logs")
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, args, None)
    for key, value in kwargs.items():
        setattr(record, key, value)
    handler.handle(record)


def test_the_formatter_writes_json_lines_with_the_bound_call_sid() -> None:
    out = io.StringIO()
    handler = make_handler(out)
    emit(handler, "no call here")

    def in_a_call() -> None:
        bind_call_sid("CA0123")
        emit(handler, "call %s from %s", "CA0123", "+15185550142", color_message="\x1b[1m")
        try:
            raise ValueError("to +15185550142")
        except ValueError:
            logger = logging.getLogger("dutyline.test_logs")
            handler.handle(
                logger.makeRecord(logger.name, logging.ERROR, "", 1, "failed", (), sys.exc_info())
            )

    contextvars.copy_context().run(in_a_call)
    first, second, third = (json.loads(line) for line in out.getvalue().splitlines())
    assert set(first) == JSON_FIELDS and first["level"] == "INFO"
    assert first["logger"] == "dutyline.test_logs" and first["message"] == "no call here"
    assert first["time"].endswith("+00:00")
    assert second["call_sid"] == "CA0123" and "color_message" not in second
    assert second["message"] == "call CA0123 from +1518•••••42"
    assert third["call_sid"] == "CA0123" and third["level"] == "ERROR"
    assert "ValueError" in third["exception"] and "+15185550142" not in third["exception"]


def test_the_safety_net_masks_the_record_for_the_handlers_after_it() -> None:
    later = Records()
    logger = logging.getLogger("dutyline.test_logs.net")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers[:] = [make_handler(io.StringIO()), later]
    try:
        logger.info("SMS to %s failed: %s", "+15185550142", "The 'To' number +15185550143")
    finally:
        logger.handlers.clear()
    assert later.lines == [
        "dutyline.test_logs.net: SMS to +1518•••••42 failed: The 'To' number +1518•••••43"
    ]


def test_uvicorn_access_log_goes_through_the_app_without_query_strings(
    migrated_settings: Settings, restored_logging: logging.Logger
) -> None:
    """As `dutyline run` starts it: uvicorn sets its logging up, then calls the factory."""
    out = io.StringIO()
    restored_logging.addHandler(make_handler(out))
    port = free_port()
    config = uvicorn.Config(
        lambda: create_app(migrated_settings, load_models=False),
        factory=True,
        host="127.0.0.1",
        port=port,
        log_level="info",
        lifespan="off",
    )
    with ThreadedServer(config).running():
        answer = httpx.get(
            f"http://127.0.0.1:{port}/open311/v2/services.json",
            params={"caller": "+15185550142", "token": "s3cret", "q": "417 Linden Street"},
        )
    assert answer.status_code == 200
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    [access] = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert access["message"].endswith(' - "GET /open311/v2/services.json HTTP/1.1" 200')
    assert all(logging.getLogger(name).handlers == [] for name in UVICORN_LOGGERS)
    text = out.getvalue()
    assert "s3cret" not in text and "Linden" not in text and "5550142" not in text


def test_configure_logging_twice_keeps_one_app_handler(restored_logging: logging.Logger) -> None:
    configure_logging()
    configure_logging()
    ours = [h for h in restored_logging.handlers if getattr(h, "_dutyline_handler", False)]
    assert len(ours) == 1 and restored_logging.level == logging.INFO
    assert all(logging.getLogger(name).propagate for name in UVICORN_LOGGERS)


def test_the_local_twilio_stand_in_logs_and_files_numbers_masked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = tmp_path / "telephony_outbox.jsonl"
    control = LocalCallControl(outbox)
    with caplog.at_level(logging.INFO, logger="dutyline.voice.call_control"):
        control.send_sms("+15185550142", "Ticket 2611230042: we have it. Call +15185550100.")
        control.transfer("CA0123", "+15185550177", caller="+15185550142")
    written = outbox.read_text()
    for logged in (caplog.text, written):
        assert "5550142" not in logged and "5550177" not in logged
    assert "+1518•••••42" in caplog.text and "Ticket 2611230042" not in caplog.text
    assert [json.loads(line)["action"] for line in written.splitlines()] == ["sms", "transfer"]
    # What "Twilio" was asked keeps the real numbers: the receipt goes to the caller.
    assert control.actions("sms")[0]["to"] == "+15185550142"


def test_a_failed_statement_is_logged_without_what_the_caller_said(tmp_path: Path) -> None:
    """SQLAlchemy puts a statement's values into its error, and errors are logged."""
    engine = make_engine(f"sqlite:///{tmp_path / 'words.db'}")
    with pytest.raises(DBAPIError) as failed, engine.connect() as connection:
        connection.execute(text("INSERT INTO nowhere VALUES (:said)"), {"said": "Dana's drum kit"})
    engine.dispose()
    assert "INSERT INTO nowhere" in str(failed.value) and "Dana" not in str(failed.value)
