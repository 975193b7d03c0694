"""A throwaway local Tryton server for tests, benchmarks and demos.

Tryton runs from its own virtualenv (``$MDM_TRYTON_VENV`` or ``.venv-tryton``,
created by ``.ci/tryton-setup.sh``) so its dependencies never meet the hub's.
Nothing is installed here.

Building a database (``trytond-admin --all`` and activating the modules)
takes about 30 s, so it is done once per Tryton version and module list into
a template SQLite file cached under the temp dir; each server gets a fresh
copy of that file (about 0.05 s).

    with LocalTryton.start() as server:     # a fresh copy of the template
        client = server.client()
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

MODULES = ("party", "company", "currency", "country", "project", "timesheet", "project_invoice",
           "sale_opportunity", "account", "sale_subscription")
ADMIN_PASSWORD = "mdm-tryton-admin"  # a throwaway local test server only
RECIPE_VERSION = "1"  # bump when the build steps change, to rebuild cached templates
BASE_DIR = Path(__file__).resolve().parents[3]


class TrytonUnavailable(RuntimeError):
    """No usable Tryton installation, or the server did not come up."""


def find_venv() -> Path | None:
    """The Tryton virtualenv: ``$MDM_TRYTON_VENV``, else ``.venv-tryton`` in the project."""
    candidates = [os.environ.get("MDM_TRYTON_VENV"), str(BASE_DIR / ".venv-tryton")]
    for c in candidates:
        if c and (Path(c) / "bin" / "trytond").exists() and (Path(c) / "bin" / "trytond-admin").exists():
            return Path(c)
    return None


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 8000:
            return port


def _version(venv: Path) -> str:
    out = subprocess.run([str(venv / "bin" / "trytond"), "--version"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise TrytonUnavailable(f"{venv}/bin/trytond --version failed: {out.stderr.strip()[:300]}")
    return out.stdout.strip()


def _write_conf(path: Path, db_dir: Path, port: int) -> None:
    path.write_text(
        "[database]\nuri = sqlite://\npath = %s\n[web]\nlisten = 127.0.0.1:%d\n"
        "[session]\ntimeout = 3600\n" % (db_dir, port)
    )


def _env(workdir: Path) -> dict:
    passfile = workdir / "admin.pass"
    passfile.write_text(ADMIN_PASSWORD)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "DJANGO"))}
    env["TRYTONPASSFILE"] = str(passfile)
    return env


def template_path(venv: Path) -> Path:
    """Build (once, under a file lock) and return the template database file."""
    key = hashlib.sha256(f"{_version(venv)}|{','.join(MODULES)}|{RECIPE_VERSION}".encode()).hexdigest()[:12]
    cache = Path(os.environ.get("MDM_TRYTON_CACHE") or Path(tempfile.gettempdir()) / "mdm-tryton-cache") / key
    cache.mkdir(parents=True, exist_ok=True)
    template = cache / "template.sqlite"
    with open(cache / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.exists():
            return template
        build = Path(tempfile.mkdtemp(prefix="build-", dir=cache))
        try:
            conf = build / "trytond.conf"
            _write_conf(conf, build, free_port())
            (build / "template.sqlite").touch()  # the SQLite backend refuses a missing file
            env = _env(build)
            admin = str(venv / "bin" / "trytond-admin")
            steps = (
                [admin, "-c", str(conf), "-d", "template", "--all", "--email", "admin@example.com"],
                [admin, "-c", str(conf), "-d", "template", "-u", *MODULES, "--activate-dependencies"],
            )
            for cmd in steps:
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
                if out.returncode != 0:
                    raise TrytonUnavailable(f"building the Tryton database failed: {' '.join(cmd[:4])} …\n"
                                            f"{out.stderr[-2000:]}")
            os.replace(build / "template.sqlite", template)
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return template


class LocalTryton:
    """A ``trytond`` process on 127.0.0.1 serving one fresh copy of the template.

    (Tryton 8.2 initialises a database's model pool lazily only in theory: a
    database first seen after start-up answers ``KeyError: 'res.user'``, so
    each database gets its own process started with ``-d <name>``; start-up
    is about 1.5 s.)"""

    def __init__(self, venv: Path, workdir: Path, name: str, port: int, process: subprocess.Popen):
        self.venv, self.workdir, self.name, self.port, self.process = venv, workdir, name, port, process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> str:
        return self.name

    @property
    def username(self) -> str:
        return "admin"

    @property
    def password(self) -> str:
        return ADMIN_PASSWORD

    @property
    def db_file(self) -> Path:
        return self.workdir / f"{self.name}.sqlite"

    @classmethod
    def start(cls, venv: Path | None = None, *, template: Path | None = None, name: str = "mdm",
              timeout: float = 60.0) -> "LocalTryton":
        venv = venv or find_venv()
        if venv is None:
            raise TrytonUnavailable("no Tryton virtualenv: run .ci/tryton-setup.sh or set MDM_TRYTON_VENV")
        template = template or template_path(venv)
        workdir = Path(tempfile.mkdtemp(prefix="mdm-tryton-"))
        shutil.copyfile(template, workdir / f"{name}.sqlite")
        port = free_port()
        conf = workdir / "trytond.conf"
        _write_conf(conf, workdir, port)
        log = open(workdir / "trytond.log", "wb")
        process = subprocess.Popen([str(venv / "bin" / "trytond"), "-c", str(conf), "-d", name],
                                   env=_env(workdir), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        server = cls(venv, workdir, name, port, process)
        try:
            server._wait_ready(timeout)
        except Exception:
            server.stop()
            raise
        return server

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        body = {"id": 0, "method": "common.db.login", "params": ["admin", {"password": ADMIN_PASSWORD}, "en"]}
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TrytonUnavailable(f"trytond exited with {self.process.returncode}: {self.log_tail()}")
            try:
                r = requests.post(f"{self.url}/{self.name}/rpc/", json=body, timeout=30)
                if r.status_code == 200 and "result" in r.json():
                    return
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
            time.sleep(0.1)
        raise TrytonUnavailable(f"trytond did not answer within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, size: int = 2000) -> str:
        try:
            return (self.workdir / "trytond.log").read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def client(self, **kwargs):
        from sync.connectors.tryton.client import TrytonClient

        return TrytonClient(self.url, self.name, self.username, self.password, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "LocalTryton":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
