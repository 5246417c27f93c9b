"""Rasa's own environment (Python 3.10), training, and the server's command line.

Rasa 3.6 pins SQLAlchemy 1.4 and pydantic 1, so it can never share the app's
environment: it lives in .venv-rasa/ and runs as a separate server.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console

from dutyline.settings import ROOT, Settings

RASA_VENV = ROOT / ".venv-rasa"
REQUIREMENTS = ROOT / "nlu" / "requirements-rasa.txt"
RASA_COMPONENTS = ROOT / "nlu" / "rasa_components"
PYTHON_VERSION = "3.10"


class RasaSetupError(RuntimeError):
    pass


def rasa_bin() -> Path:
    return RASA_VENV / "bin" / "rasa"


def find_python310() -> Path:
    """pyenv's 3.10 first (what these machines have), then python3.10 on PATH."""
    candidates: list[Path] = []
    if shutil.which("pyenv"):
        for version in ("3.10.13", "3.10"):
            out = subprocess.run(
                ["pyenv", "prefix", version], capture_output=True, text=True, check=False
            )
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip().splitlines()[0]) / "bin" / "python")
    on_path = shutil.which("python3.10")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise RasaSetupError(
        "Rasa 3.6 needs Python 3.10, and none was found: install it with "
        "`pyenv install 3.10.13` (or your system's python3.10 package), then run set-up again."
    )


def _digest(paths: list[Path], extra: str = "") -> str:
    # scripts/rasa-venv.sh (run by make) computes the same for the requirements stamp.
    h = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def ensure_venv(console: Console) -> bool:
    """Create or update .venv-rasa from the pinned requirements. True if it changed."""
    stamp = RASA_VENV / ".requirements.sha256"
    wanted = _digest([REQUIREMENTS])
    if stamp.exists() and stamp.read_text() == wanted and rasa_bin().exists():
        return False
    python = find_python310()
    with console.status(f"Creating Rasa's environment in {RASA_VENV.name}/ (Python 3.10)"):
        if not (RASA_VENV / "bin" / "python").exists():
            subprocess.run([str(python), "-m", "venv", str(RASA_VENV)], check=True)
        pip = [str(RASA_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--upgrade", "pip==26.3"], check=True)
    with console.status("Installing Rasa 3.6.21 and its pinned dependencies (a few minutes)"):
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(wanted)
    return True


def line_locales(settings: Settings) -> tuple[str, ...]:
    """The locales the deployment's lines use (data/lines.yaml), each checked to have a
    Rasa project; a LinesError (ValueError) says what is wrong."""
    from dispatch.lines import lines_of
    from nlu.rasa_servers import rasa_locales

    lines = lines_of(settings)
    lines.check_locales(rasa_locales(), where=str(settings.lines))
    return lines.locales


def model_path(settings: Settings, locale: str) -> Path:
    return settings.rasa_dir / f"{locale}.tar.gz"


def train(settings: Settings, locale: str, console: Console, *, force: bool = False) -> bool:
    """Train the locale's dialogue model when its inputs changed. True if it trained."""
    from nlu.project import prepare, training_inputs

    inputs = training_inputs(locale, settings.data_dir)
    wanted = _digest(inputs, extra=REQUIREMENTS.read_text())
    stamp = settings.rasa_dir / f"{locale}.sha256"
    target = model_path(settings, locale)
    if not force and target.exists() and stamp.exists() and stamp.read_text() == wanted:
        return False
    settings.rasa_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"dutyline-rasa-{locale}-") as tmp:
        project = prepare(locale, Path(tmp) / "project", settings.data_dir)
        cmd = [
            str(rasa_bin()),
            "train",
            "--config", str(project / "config.yml"),
            "--domain", str(project / "domain.yml"),
            "--data", str(project / "data"),
            "--out", str(settings.rasa_dir),
            "--fixed-model-name", locale,
        ]  # fmt: skip
        with console.status(f"Training the {locale} dialogue model (about a minute)"):
            result = subprocess.run(
                cmd, cwd=tmp, capture_output=True, text=True, env=rasa_environment(), check=False
            )
        if result.returncode != 0 or not target.exists():
            sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
            raise RasaSetupError(f"Rasa training for {locale!r} failed (see the output above)")
    stamp.write_text(wanted)
    return True


def rasa_environment() -> dict[str, str]:
    env = dict(os.environ)
    # Rasa phones home and TensorFlow is chatty; neither helps a city's server.
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "TF_ENABLE_ONEDNN_OPTS": "0",
        }
    )
    env.pop("VIRTUAL_ENV", None)
    # Our custom Rasa components (nlu/rasa_components/, e.g. the Korean tokenizer), importable
    # by training and by every server, whatever its working directory.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(RASA_COMPONENTS), os.environ.get("PYTHONPATH")) if p
    )
    return env


ACTION_TOKEN_HEADER = "Authorization"


def write_endpoints(
    path: Path,
    action_url: str,
    token: str | None = None,
    *,
    tracker_redis_url: str | None = None,
    key_prefix: str | None = None,
    record_days: int | None = None,
) -> Path:
    """Rasa's endpoints file. With `token`, every action call carries it as a bearer header
    (Rasa 3.6's `headers:`; its `token:` would put it in the query string, hence in access
    logs). With `tracker_redis_url`, conversations and their locks live in that Redis, so
    several Rasa servers share them and a restarted one picks up calls in progress;
    `record_days`: a conversation expires that long after its last message.
    The file holds a secret: only its owner may read it."""
    # JSON strings are valid YAML double-quoted scalars: nothing in a value can break out.
    lines = ["action_endpoint:", f"  url: {json.dumps(action_url)}"]
    if token:
        lines += ["  headers:", f"    {ACTION_TOKEN_HEADER}: {json.dumps(f'Bearer {token}')}"]
    if tracker_redis_url:
        redis = _redis_fields(tracker_redis_url)
        lines += ["tracker_store:", "  type: redis", *redis]
        if key_prefix:
            lines.append(f"  key_prefix: {json.dumps(key_prefix)}")
        if record_days:
            lines.append(f"  record_exp: {record_days * 86400}")
        lines += ["lock_store:", "  type: redis", *redis]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n")
    return path


def _redis_fields(url: str) -> list[str]:
    """A redis:// URL as the host, port, db and password Rasa's Redis stores take."""
    parsed = urlsplit(url)
    if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
        raise ValueError(f"not a redis:// URL: {url!r}")
    db = parsed.path.strip("/") or "0"
    fields = [f"  url: {json.dumps(parsed.hostname)}", f"  port: {parsed.port or 6379}"]
    fields.append(f"  db: {int(db)}")
    if parsed.password:
        fields.append(f"  password: {json.dumps(parsed.password)}")
    if parsed.scheme == "rediss":
        fields.append("  use_ssl: true")
    return fields


def server_command(
    settings: Settings, locale: str, *, port: int, endpoints: Path, host: str = "127.0.0.1"
) -> list[str]:
    return [
        str(rasa_bin()),
        "run",
        "--enable-api",
        "--model", str(model_path(settings, locale)),
        "--endpoints", str(endpoints),
        "--interface", host,
        "--port", str(port),
    ]  # fmt: skip
