"""The machine and the processes a benchmark ran on: figures mean nothing without them."""

from __future__ import annotations

import contextlib
import os
import platform
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """nproc, CPU model, memory, OS, load and the date: printed with every figure."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(),
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average": round(os.getloadavg()[0], 2),
    }


def describe(info: dict[str, Any]) -> str:
    return (
        f"{info['date']} on {info['host']}: {info['nproc']} x {info['cpu_model']}, "
        f"{info['memory_gb']} GB, {info['os']}, load average {info['load_average']}"
    )


def listening_process(port: int) -> psutil.Process | None:
    """The process listening on a local TCP port (the app, the Rasa server)."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return None
    for conn in connections:
        listening = conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port
        if listening and conn.pid is not None:
            return psutil.Process(conn.pid)
    return None


@dataclass
class ProcessStats:
    name: str
    pid: int | None
    cpu_percent: list[float] = field(default_factory=list)  # 100 = one core busy
    rss_mb: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        cpu, rss = self.cpu_percent, self.rss_mb
        return {
            "name": self.name,
            "pid": self.pid,
            "samples": len(cpu),
            "cpu_mean_percent": round(sum(cpu) / len(cpu), 1) if cpu else None,
            "cpu_max_percent": round(max(cpu), 1) if cpu else None,
            "rss_start_mb": round(rss[0], 1) if rss else None,
            "rss_max_mb": round(max(rss), 1) if rss else None,
            "rss_end_mb": round(rss[-1], 1) if rss else None,
        }


class Sampler:
    """Samples CPU% and RSS (children included) of named processes every `interval` s."""

    def __init__(self, processes: dict[str, psutil.Process | None], interval: float = 1.0):
        self.interval = interval
        self.processes = processes
        self.stats = {
            name: ProcessStats(name, proc.pid if proc else None) for name, proc in processes.items()
        }
        self._known: dict[int, psutil.Process] = {}  # cpu_percent counts from the last call
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench sampler")

    def _tree(self, root: psutil.Process) -> list[psutil.Process]:
        tree = [root]
        with contextlib.suppress(psutil.Error):
            tree += root.children(recursive=True)
        return [self._known.setdefault(p.pid, p) for p in tree]

    def _run(self) -> None:
        self.sample(record=False)  # the first cpu_percent call only starts the count
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self, *, record: bool = True) -> None:
        for name, root in self.processes.items():
            if root is None:
                continue
            cpu, rss = 0.0, 0
            for proc in self._tree(root):
                try:
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
                except psutil.Error:
                    pass
            if record and rss:
                self.stats[name].cpu_percent.append(cpu)
                self.stats[name].rss_mb.append(rss / 2**20)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(self.interval * 2 + 1)

    def summary(self) -> list[dict[str, Any]]:
        return [stats.summary() for stats in self.stats.values()]
