"""The duty log (dispatch/dutylog.py) as files: CSV and an Excel workbook (openpyxl).

Both carry the same columns, headed as dutylog.COLUMNS names them, and every time in the
city's time zone.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from dispatch.dutylog import COLUMNS, DATE_FORMAT, DutyLog

CSV_TIME = "%Y-%m-%d %H:%M"
XLSX_TIME = "yyyy-mm-dd hh:mm"


class LogFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    LogFormat.CSV: "text/csv; charset=utf-8",
    LogFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def file_name(log: DutyLog, log_format: LogFormat) -> str:
    return f"dutylog-{log.day.strftime(DATE_FORMAT)}.{log_format.value}"


def csv_text(log: DutyLog) -> str:
    """The log as CSV text (no byte-order mark; `csv_bytes` adds it for files)."""
    tz = ZoneInfo(log.timezone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(column.header for column in COLUMNS)
    for row in log.rows:
        cells = []
        for column in COLUMNS:
            value = getattr(row, column.field)
            if isinstance(value, datetime):
                value = value.astimezone(tz).strftime(CSV_TIME)
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return out.getvalue()


def csv_bytes(log: DutyLog) -> bytes:
    # UTF-8 with a byte-order mark: Excel opens a CSV without one in the PC's legacy code
    # page and garbles names like "Müller" or "김민준"; with it, Excel reads UTF-8 and
    # Python's csv module (encoding="utf-8-sig"), LibreOffice and most tools skip it.
    return csv_text(log).encode("utf-8-sig")


def xlsx_bytes(log: DutyLog) -> bytes:
    """The log as an Excel workbook: one sheet named after the day, a bold frozen header,
    filters, and times as real Excel date-times."""
    tz = ZoneInfo(log.timezone)
    day = log.day.strftime(DATE_FORMAT)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = f"Duty log {day}"  # Excel allows 31 characters; this is 19
    book.properties.title = f"Duty log of {day} ({log.timezone})"
    sheet.append([column.header for column in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in log.rows:
        cells: list[object] = []
        for column in COLUMNS:
            value = getattr(row, column.field)
            if isinstance(value, datetime):
                # Excel date-times have no time zone: store the city's wall-clock time.
                # In the repeated hour of a fall-back night two rows can show the same
                # time; they stay in the order they happened.
                value = value.astimezone(tz).replace(tzinfo=None)
            cells.append(value if value != "" else None)
        sheet.append(cells)
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        if column.field.endswith("_at"):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = XLSX_TIME
    sheet.freeze_panes = "A2"  # the header stays in view while scrolling
    sheet.auto_filter.ref = sheet.dimensions
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def log_bytes(log: DutyLog, log_format: LogFormat) -> bytes:
    return csv_bytes(log) if log_format == LogFormat.CSV else xlsx_bytes(log)
