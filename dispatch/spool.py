"""Reports that could not reach the database wait on disk until they can.

The last line of "a complaint never vanishes": when even the bare triage ticket
cannot be written (the database is down), the report is written here, one
file each, and the background worker files them once the database is back.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path

from dispatch.contract import ComplaintReport

log = logging.getLogger("dutyline.dispatch.spool")


class ComplaintSpool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, report: ComplaintReport, reason: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{uuid.uuid4().hex}.json"
        tmp = path.with_suffix(".partial")
        body = {"reason": reason, "report": report.model_dump(mode="json")}
        with tmp.open("w", encoding="utf-8") as out:
            json.dump(body, out)
            out.flush()
            os.fsync(out.fileno())  # on disk before we tell anyone it is kept
        tmp.replace(path)
        log.error("database unavailable: report for call %s kept in %s", report.call_sid, path)
        return path

    def pending(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)

    @staticmethod
    def load(path: Path) -> tuple[ComplaintReport, str]:
        body = json.loads(path.read_text("utf-8"))
        return ComplaintReport.model_validate(body["report"]), body.get("reason", "")
