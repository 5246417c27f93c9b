"""The scaled line on one machine, as real processes (issue 13): a fresh PostgreSQL
database migrated by two `dutyline migrate` processes at once, the test services' Redis,
two Rasa servers sharing conversations through it, two app replicas sharing the
database, the recordings and the spool, and nginx in front (deploy/nginx.conf itself,
with local addresses swapped in). Everything a test does to the line goes through nginx's
address, the replicas' DUTYLINE_PUBLIC_URL, as Twilio's requests would; a test may also
reach one replica directly (a status callback that lands on "the other replica")."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import redis
from prometheus_client.parser import text_string_to_metric_families

from callbench.calls import MeteredLine
from callbench.simulator import sign
from dutyline import rasa_env
from dutyline.runner import app_environment
from dutyline.settings import ROOT, Settings
from tests.conftest import REDIS_URL, free_port, make_settings, postgres_database

NGINX = Path("/usr/sbin/nginx")  # Debian's package (scripts/system-packages.sh)
NGINX_SITE = ROOT / "deploy" / "nginx.conf"
LOCALE = "en"


@dataclass
class Server:
    """One process of the stack: its address, its process, its output."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to close anything (a crash, an OOM kill)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if not self.alive:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()

    def rss_mb(self) -> float:
        """Resident memory of the process and its children (nginx's workers), MB."""
        root = psutil.Process(self.process.pid)
        processes = [root, *root.children(recursive=True)]
        return round(sum(p.memory_info().rss for p in processes) / 2**20, 1)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class ReplicaStack:
    public_url: str  # nginx: what Twilio calls, what signatures are computed over
    settings: Settings  # the replicas' settings (database, signing token, shared folders)
    replicas: list[Server]
    rasa: list[Server]  # in DUTYLINE_RASA_URL's order: a call's sticky server is an index
    nginx: Server
    startup_seconds: float
    ready_after: dict[str, float]  # seconds from the start until each was ready

    def line(self, **options: object) -> MeteredLine:
        """A simulated Twilio call leg through nginx."""
        return MeteredLine(
            self.public_url,
            public_url=self.public_url,
            token=self.settings.signing_token,
            **options,  # type: ignore[arg-type]
        )

    def summary(self, call_sid: str) -> tuple[Server | None, dict[str, object]]:
        """The replica holding the call's session (its stream ran there: only that one
        knows the call in memory) and the session's summary."""
        path = f"/voice/calls/{call_sid}"
        headers = {"X-Twilio-Signature": sign(self.settings.signing_token, self.public_url + path)}
        for replica in self.replicas:
            if not replica.alive:
                continue
            with contextlib.suppress(httpx.HTTPError):
                response = httpx.get(replica.url + path, headers=headers, timeout=5)
                if response.status_code == 200:
                    return replica, response.json()
        return None, {}

    def replica_of(self, call_sid: str) -> Server | None:
        return self.summary(call_sid)[0]

    def metrics(self, replica: Server) -> dict[str, float]:
        """The replica's /metrics, each series summed over its labels."""
        assert self.settings.metrics_token is not None
        token = self.settings.metrics_token.get_secret_value()
        response = httpx.get(
            f"{replica.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        response.raise_for_status()
        totals: dict[str, float] = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
        return totals

    def memory_mb(self) -> dict[str, float]:
        servers = [*self.replicas, *self.rasa, self.nginx]
        return {s.name: s.rss_mb() for s in servers if s.alive}


# --- start-up ------------------------------------------------------------------------


def _migrate(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DUTYLINE_DATABASE_URL": settings.database_url,
        "DUTYLINE_RECORDINGS_DIR": str(settings.recordings_dir),
        "DUTYLINE_SPOOL_DIR": str(settings.spool_dir),
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "dutyline"), "migrate"],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _rasa_server(settings: Settings, name: str, port: int, home: Path) -> Server:
    """A Rasa server whose conversations and locks live in the test Redis (under the
    run's own key prefix) and whose actions go through nginx to either replica."""
    home.mkdir(parents=True)
    endpoints = rasa_env.write_endpoints(
        home / "endpoints.yml",
        settings.action_endpoint,
        settings.action_token_value,
        tracker_redis_url=settings.rasa_tracker_redis_url,
        key_prefix=settings.rasa_tracker_key_prefix,
        record_days=1,  # what a failed clean-up leaves behind expires
    )
    command = rasa_env.server_command(settings, LOCALE, port=port, endpoints=endpoints)
    log = home / "rasa.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=rasa_env.rasa_environment(), cwd=home
        )
    return Server(name, f"http://127.0.0.1:{port}", process, log)


def _app_replica(settings: Settings, name: str, port: int, log: Path) -> Server:
    """An app replica as `dutyline serve` runs it; every replica gets the same settings."""
    assert settings.metrics_token is not None
    env = {
        **app_environment(),
        "DUTYLINE_ENVIRONMENT": "test",
        "DUTYLINE_PORT": str(port),
        "DUTYLINE_PUBLIC_URL": settings.public_url,
        "DUTYLINE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "DUTYLINE_DATABASE_URL": settings.database_url,
        "DUTYLINE_RECORDINGS_DIR": str(settings.recordings_dir),
        "DUTYLINE_SPOOL_DIR": str(settings.spool_dir),
        "DUTYLINE_RASA_URL": settings.rasa_url,
        "DUTYLINE_LINES": "",  # one English line: only English Rasa servers run here
        "DUTYLINE_ACTION_SERVER_URL": str(settings.action_server_url),
        "DUTYLINE_ACTION_TOKEN": settings.action_token_value,
        "DUTYLINE_RASA_TRACKER_REDIS_URL": str(settings.rasa_tracker_redis_url),
        "DUTYLINE_RASA_TRACKER_KEY_PREFIX": str(settings.rasa_tracker_key_prefix),
        "DUTYLINE_LOST_CALL_SECONDS": str(settings.lost_call_seconds),
        "DUTYLINE_METRICS_TOKEN": settings.metrics_token.get_secret_value(),
    }
    command = [
        sys.executable, "-m", "uvicorn", "dutyline.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
        "--ws", "websockets-sansio",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(name, f"http://127.0.0.1:{port}", process, log)


def nginx_site(listen_port: int, replica_ports: list[int]) -> str:
    """deploy/nginx.conf with this machine's addresses in place of docker-compose's."""
    site = NGINX_SITE.read_text()
    swaps = {"listen 80;": f"listen 127.0.0.1:{listen_port};"}
    for index, port in enumerate(replica_ports, start=1):
        swaps[f"server app{index}:8000"] = f"server 127.0.0.1:{port}"
    for directive, replacement in swaps.items():
        # directives only, not the comments that name them
        pattern = re.compile(rf"^(\s*){re.escape(directive)}", re.MULTILINE)
        site, found = pattern.subn(rf"\g<1>{replacement}", site)
        if found != 1:
            raise RuntimeError(f"{NGINX_SITE} should say `{directive}` once (found {found})")
    return site


def nginx_config(prefix: Path, site: str) -> Path:
    """A main configuration as the nginx image's, everything in `prefix`, run in the
    foreground as this user (workers as nginx's default user when that is root)."""
    (prefix / "site.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    access_log {prefix / 'access.log'};\n{temp}\n"
        f"    include {prefix / 'site.conf'};\n"
        "}\n"
    )
    return conf


def _nginx(prefix: Path, conf: Path, port: int) -> Server:
    command = [str(NGINX), "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx refused the configuration:\n{checked.stderr}")
    log = prefix / "nginx.out"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    return Server("nginx", f"http://127.0.0.1:{port}", process, prefix / "error.log")


def _ready(server: Server, path: str) -> bool:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        response = httpx.get(server.url + path, timeout=3)
        # Rasa's /status answers before its model is in: wait for the model too.
        if response.status_code != 200:
            return False
        return path != "/status" or bool(response.json().get("model_file"))
    return False


def _wait_ready(
    checks: list[tuple[Server, str]], started: float, timeout: float
) -> dict[str, float]:
    """Poll every server until each answers; when each did, in seconds from `started`."""
    ready: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(ready) < len(checks):
        for server, path in checks:
            if server.name in ready:
                continue
            if not server.alive:
                raise RuntimeError(f"{server.name} exited during start-up:\n{server.tail()}")
            if _ready(server, path):
                ready[server.name] = round(time.monotonic() - started, 1)
        if time.monotonic() > deadline:
            waiting = [s for s, _ in checks if s.name not in ready]
            tails = "\n".join(f"--- {s.name}:\n{s.tail(1500)}" for s in waiting)
            raise RuntimeError(f"not ready in {timeout:.0f} s:\n{tails}")
        time.sleep(0.5)
    return ready


def _forget_conversations(prefix: str) -> None:
    """The run's Rasa conversations out of the shared test Redis."""
    with contextlib.suppress(redis.RedisError):
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


@contextlib.contextmanager
def replica_stack(tmp: Path) -> Iterator[ReplicaStack]:
    if not NGINX.exists():
        raise RuntimeError(f"{NGINX} is missing: scripts/system-packages.sh installs nginx")
    if not rasa_env.model_path(make_settings(tmp), LOCALE).exists():
        raise RuntimeError("the dialogue model is missing: run `make test` (it trains it)")
    started = time.monotonic()
    shared = tmp / "shared"  # one folder every replica reaches (a network volume in production)
    nginx_port = free_port()
    app_ports, rasa_ports = [free_port(), free_port()], [free_port(), free_port()]
    public_url = f"http://127.0.0.1:{nginx_port}"
    # Rasa's Redis tracker store takes an alphanumeric prefix; one per run, so runs sharing
    # the test Redis never see each other's conversations.
    key_prefix = "replicas" + uuid.uuid4().hex[:12]
    # nginx's workers may run as another user (root starts them as nobody): a folder they reach.
    prefix = Path(tempfile.mkdtemp(prefix="dutyline-nginx-"))
    prefix.chmod(0o755)
    with postgres_database() as database_url, contextlib.ExitStack() as stop:
        stop.callback(shutil.rmtree, prefix, ignore_errors=True)
        stop.callback(_forget_conversations, key_prefix)
        settings = make_settings(
            tmp,
            database_url=database_url,
            public_url=public_url,
            recordings_dir=shared / "recordings",
            spool_dir=shared / "spool",
            rasa_url=",".join(f"http://127.0.0.1:{port}" for port in rasa_ports),
            action_server_url=public_url,  # Rasa's actions go to either replica too
            action_token=uuid.uuid4().hex * 2,
            secret_key="replicas-share-this-" + uuid.uuid4().hex,
            rasa_tracker_redis_url=REDIS_URL,
            rasa_tracker_key_prefix=key_prefix,
            lost_call_seconds=5,
            metrics_token=uuid.uuid4().hex,
        )
        conf = nginx_config(prefix, nginx_site(nginx_port, app_ports))
        rasa = [
            _rasa_server(settings, f"rasa{n}", port, tmp / f"rasa{n}")
            for n, port in enumerate(rasa_ports, start=1)
        ]
        for server in rasa:
            stop.callback(server.stop)
        # Two replicas starting at once: both migrate and seed, under the advisory lock.
        migrations = [_migrate(settings, tmp / f"migrate{n}.log") for n in (1, 2)]
        for n, process in enumerate(migrations, start=1):
            if process.wait(180) != 0:
                output = (tmp / f"migrate{n}.log").read_text(errors="replace")
                raise RuntimeError(f"`dutyline migrate` #{n} failed:\n{output[-3000:]}")
        ready = {"migrated": round(time.monotonic() - started, 1)}
        replicas = [
            _app_replica(settings, f"app{n}", port, tmp / f"app{n}.log")
            for n, port in enumerate(app_ports, start=1)
        ]
        for server in replicas:
            stop.callback(server.stop)
        nginx = _nginx(prefix, conf, nginx_port)
        stop.callback(nginx.stop)
        # A replica's /healthz wants its models and the database, and a Rasa server ready.
        checks = [*((s, "/status") for s in rasa), *((s, "/healthz") for s in replicas)]
        ready |= _wait_ready([*checks, (nginx, "/healthz")], started, timeout=420)
        yield ReplicaStack(
            public_url=public_url,
            settings=settings,
            replicas=replicas,
            rasa=rasa,
            nginx=nginx,
            startup_seconds=round(time.monotonic() - started, 1),
            ready_after=ready,
        )
