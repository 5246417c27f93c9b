"""One logging set-up for the app: a JSON line per record on stderr.

Each line has `time` (UTC, ISO 8601), `level`, `logger`, `message`, and `call_sid`
when the record was made while working for a call (dispatch.logcontext). Caller
numbers are masked in every line whatever the log call forgot (dispatch.privacy);
uvicorn's own loggers go through the same handler, their paths without query strings.
Transcripts and slot values are never logged at INFO: that is the log calls' duty.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from dispatch.logcontext import current_call_sid
from dispatch.privacy import mask_numbers

FIELDS = ["asctime", "levelname", "name", "message"]
RENAMES = {"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exception"}
# uvicorn repeats each message with ANSI colours as an extra: noise in JSON.
SKIPPED = [*RESERVED_ATTRS, "color_message"]
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
# A line per HTTP request to Rasa or Twilio at INFO: noise beside our own call lines.
QUIETED = {"httpx": logging.WARNING, "twilio.http_client": logging.WARNING}
_OURS = "_dutyline_handler"


class JsonFormatter(_LibraryJsonFormatter):
    """python-json-logger's formatter with our field names; the whole line, exception
    text and extras included, goes through the number mask."""

    def __init__(self) -> None:
        super().__init__(
            FIELDS, rename_fields=RENAMES, reserved_attrs=SKIPPED, json_ensure_ascii=False
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        return mask_numbers(super().format(record))


class CallSidFilter(logging.Filter):
    """Adds `call_sid` to records made while a call's sid is bound."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "call_sid", None) is None:
            sid = current_call_sid()
            if sid is not None:
                record.call_sid = sid
        return True


class MaskNumbers(logging.Filter):
    """The safety net on the record itself, so handlers after ours see it masked too."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken log call: the handler reports it, not the caller
            return True
        masked = mask_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_QUERY = re.compile(r"\?\S*")


class DropQueryStrings(logging.Filter):
    """uvicorn logs each request's path with its query string (`?token=`, searches)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_without_query(arg) for arg in record.args)
        return True


def _without_query(arg: Any) -> Any:
    return _QUERY.sub("", arg) if isinstance(arg, str) and arg.startswith("/") else arg


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record comes (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def make_handler(stream: IO[str] | None = None) -> logging.Handler:
    """The app's handler: JSON lines, call sid, numbers masked; on `stream` or stderr."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _Stderr()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CallSidFilter())
    handler.addFilter(MaskNumbers())
    return handler


def configure_logging(level: int | str = logging.INFO) -> logging.Handler:
    """Install the app's handler on the root logger (again: replaces the one before) and
    route uvicorn's loggers through it. Other handlers on the root stay."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    handler = make_handler()
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in QUIETED.items():
        logging.getLogger(name).setLevel(quiet)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        if not any(isinstance(f, DropQueryStrings) for f in logger.filters):
            logger.addFilter(DropQueryStrings())
    return handler
