"""Reports that could not reach the database wait on disk until they can.

The last line of "a complaint never vanishes": when even the bare triage ticket
cannot be written (the database is down), the report is written here, one
file each, and the background worker files them once the database is back.

With several replicas the folder may be shared (DUTYLINE_SPOOL_DIR on a shared mount):
a replica claims a report by renaming it (atomic, so one wins) before filing it, and a
claim older than CLAIM_EXPIRES_SECONDS (its replica died while filing) is free again.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path

from dispatch.contract import ComplaintReport

log = logging.getLogger("dutyline.dispatch.spool")

CLAIM_EXPIRES_SECONDS = 300.0
_CLAIMED = ".claimed"


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
        """Reports waiting, oldest first, with claims whose replica gave up on them."""
        if not self.folder.is_dir():
            return []
        stale = time.time() - CLAIM_EXPIRES_SECONDS
        waiting = []
        for path in self.folder.iterdir():
            try:
                written = path.stat().st_mtime
            except FileNotFoundError:  # claimed or filed by another replica meanwhile
                continue
            if path.suffix == ".json" or (path.suffix == _CLAIMED and written < stale):
                waiting.append((written, path))
        return [path for _, path in sorted(waiting)]

    def claim(self, path: Path) -> Path | None:
        """This replica's hold on a report: None when another replica took it first."""
        claimed = path.with_name(f"{path.name.split('.')[0]}.{uuid.uuid4().hex[:8]}{_CLAIMED}")
        try:
            path.rename(claimed)
        except FileNotFoundError:
            return None
        os.utime(claimed)  # the claim's age starts now
        return claimed

    def release(self, claimed: Path) -> None:
        """Filing failed: the report waits again for any replica."""
        claimed.rename(self.folder / f"{claimed.name.split('.')[0]}.json")

    @staticmethod
    def load(path: Path) -> tuple[ComplaintReport, str]:
        body = json.loads(path.read_text("utf-8"))
        return ComplaintReport.model_validate(body["report"]), body.get("reason", "")
