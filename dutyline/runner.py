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
from nlu.rasa_servers import server_urls


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
    """One Rasa server per URL in DUTYLINE_RASA_URL (comma-separated), on that URL's port.
    Several need a shared tracker store: DUTYLINE_RASA_TRACKER_REDIS_URL."""
    urls = server_urls(settings.rasa_url)
    if len(urls) > 1 and not settings.rasa_tracker_redis_url:
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
    return [
        Child(
            "rasa" if len(urls) == 1 else f"ras{n}",
            "magenta",
            rasa_env.server_command(
                settings, settings.locale, port=httpx.URL(url).port or 5005, endpoints=endpoints
            ),
            rasa_env.rasa_environment(),
            console,
        )
        for n, url in enumerate(urls, start=1)
    ]


def run(settings: Settings, *, console: Console) -> int:
    if not rasa_env.model_path(settings, settings.locale).exists():
        console.print("[red]No trained dialogue model: run `dutyline setup` first.[/]")
        return 2
    try:
        servers = rasa_children(settings, console)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
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
    console.print(f"[bold]Starting the dialogue server on {settings.rasa_url}[/] (about 40 s)")
    for rasa in servers:
        rasa.start()
    try:
        for rasa, url in zip(servers, server_urls(settings.rasa_url), strict=True):
            wait_for_rasa(url, rasa)
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
