"""`dutyline run`: the Rasa server and the app as two child processes.

Each child's output goes to the terminal with a prefix. Rasa starts first (it
needs ~40 s) so the first call finds the dialogue ready; if Rasa dies it is
started again while the app keeps answering (calls meanwhile are filed for
triage). Ctrl-C or SIGTERM stops both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
from rich.console import Console
from rich.markup import escape

from dutyline import rasa_env
from dutyline.settings import ROOT, Settings
from nlu.rasa_servers import rasa_urls_of


def _pump(prefix: str, style: str, stream, console: Console) -> None:
    for line in iter(stream.readline, ""):
        # One JSON log line stays one line of text: no markup ("[...]"), no wrapping.
        text = escape(line.rstrip())
        console.print(f"[{style}]{prefix}[/] {text}", highlight=False, soft_wrap=True)


class Child:
    def __init__(
        self, name: str, style: str, cmd: list[str], env: dict[str, str], console: Console
    ):
        self.name, self.style, self.cmd, self.env, self.console = name, style, cmd, env, console
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""  # a dialogue server's address, for its readiness check

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
        )
        threading.Thread(
            target=_pump,
            args=(f"{self.name:>4} |", self.style, self.proc.stdout, self.console),
            daemon=True,
        ).start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def app_environment() -> dict[str, str]:
    """The app process's environment. glibc gives every thread that allocates its own
    malloc arena; with onnxruntime, CTranslate2 and Piper called from many worker threads
    the heap then keeps growing under load. Two arenas keep it flat (unless set already)."""
    env = dict(os.environ)
    env.setdefault("MALLOC_ARENA_MAX", "2")
    return env


def wait_for_rasa(url: str, child: Child, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError("the Rasa server exited during start-up (see its output above)")
        try:
            if httpx.get(f"{url}/status", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Rasa server did not become ready within {timeout:.0f} s")


def rasa_children(settings: Settings, console: Console) -> list[Child]:
    """One Rasa server per URL of each locale a line uses (nlu/rasa_servers.py
    `rasa_urls_of`: DUTYLINE_RASA_URLS, else DUTYLINE_RASA_URL and the ports after it),
    each with its locale's model, on that URL's port. Several servers of one locale need a
    shared tracker store: DUTYLINE_RASA_TRACKER_REDIS_URL."""
    by_locale = rasa_urls_of(settings)
    if any(len(urls) > 1 for urls in by_locale.values()) and not settings.rasa_tracker_redis_url:
        raise ValueError(
            "several dialogue servers share their conversations through Redis: "
            "set DUTYLINE_RASA_TRACKER_REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
        )
    endpoints = rasa_env.write_endpoints(
        ROOT / "var" / "rasa-endpoints.yml",
        settings.action_endpoint,
        settings.action_token_value,
        tracker_redis_url=settings.rasa_tracker_redis_url,
        key_prefix=settings.rasa_tracker_key_prefix,
        record_days=settings.retention_days,
    )
    children = []
    for index, (locale, urls) in enumerate(by_locale.items()):
        for n, url in enumerate(urls, start=1):
            # The first locale's as before ("rasa", or "ras1", "ras2"); the others' by their
            # locale ("ko", or "ko1", "ko2").
            stem = "rasa" if index == 0 else locale
            child = Child(
                stem if len(urls) == 1 else f"{stem[:3]}{n}",
                "magenta",
                rasa_env.server_command(
                    settings, locale, port=httpx.URL(url).port or 5005, endpoints=endpoints
                ),
                rasa_env.rasa_environment(),
                console,
            )
            child.url = url
            children.append(child)
    return children


def run(settings: Settings, *, console: Console) -> int:
    try:  # a bad lines file (a LinesError) or several servers without Redis: said, not run
        locales = rasa_env.line_locales(settings)
        servers = rasa_children(settings, console)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    untrained = [loc for loc in locales if not rasa_env.model_path(settings, loc).exists()]
    if untrained:
        console.print(
            f"[red]No trained dialogue model for {', '.join(untrained)}: "
            "run `dutyline setup` first.[/]"
        )
        return 2
    app_cmd = [
        sys.executable, "-m", "uvicorn", "dutyline.app:create_app", "--factory",
        "--host", settings.host, "--port", str(settings.port), "--no-access-log",
    ]  # fmt: skip
    app = Child("app", "cyan", app_cmd, app_environment(), console)

    stopping = threading.Event()

    def _stop(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    where = ", ".join(f"{rasa.name} {rasa.url}" for rasa in servers)
    console.print(f"[bold]Starting the dialogue servers: {where}[/] (about 40 s, together)")
    for rasa in servers:
        rasa.start()
    try:
        for rasa in servers:
            wait_for_rasa(rasa.url, rasa)
        console.print(f"[bold]Starting dutyline on http://{settings.host}:{settings.port}[/]")
        app.start()
        while not stopping.wait(1.0):
            if not app.alive():
                console.print("[red]The app exited; stopping.[/]")
                return 1
            for rasa in servers:
                if not rasa.alive():
                    console.print(
                        f"[yellow]{rasa.name}: the dialogue server exited; starting it again.[/]"
                    )
                    rasa.start()
        return 0
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    finally:
        console.print("[bold]Stopping[/]")
        app.stop()
        for rasa in servers:
            rasa.stop()
