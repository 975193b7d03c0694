"""Running the real thing for tests, ``bench_sync`` and ``fault_test_sync``:
a Celery worker and beat as subprocesses, a private redis-server, and
pointing this process's Celery app at a given broker and queue."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

CELERY = str(Path(sys.executable).with_name("celery"))


def database_url() -> str:
    """This process's current database (the test database under pytest) as a URL."""
    s = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("a worker in another process needs PostgreSQL (set DATABASE_URL=postgres://…)")
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def use_broker(url: str, queue: str):
    """Make this process publish to ``url``/``queue`` instead of running tasks eagerly."""
    from mdm.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager, app.conf.task_default_queue)
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url  # Celery reads this variable before its own setting

    def reset():
        app._pool = None
        try:
            app.amqp._producer_pool = None
        except AttributeError:
            pass

    app.conf.broker_url, app.conf.task_always_eager, app.conf.task_default_queue = url, False, queue
    reset()
    try:
        yield
    finally:
        try:
            app.pool.force_close_all()
        except Exception:  # noqa: BLE001
            pass
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        app.conf.broker_url, app.conf.task_always_eager, app.conf.task_default_queue = saved
        reset()


def purge(url: str, queue: str) -> None:
    from kombu import Connection

    with Connection(url, connect_timeout=3) as conn:
        try:
            conn.SimpleQueue(queue).clear()
        except Exception:  # noqa: BLE001
            pass


class _Proc:
    name = "process"

    def __init__(self, env: dict, workdir: str | None = None):
        self.env = env
        self.workdir = workdir or tempfile.mkdtemp(prefix="mdm-sync-")
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(self.workdir, f"{self.name}.log")

    def argv(self) -> list[str]:  # pragma: no cover
        raise NotImplementedError

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv(), env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=str(settings.BASE_DIR), start_new_session=True)
        log.close()
        return self

    def log_text(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass


class Worker(_Proc):
    name = "worker"

    def __init__(self, env: dict, queue: str, *, concurrency: int = 2, pool: str = "prefork", workdir=None):
        super().__init__(env, workdir)
        self.queue, self.concurrency, self.pool = queue, concurrency, pool
        self._starts = 0

    def argv(self):
        return [CELERY, "-A", "mdm", "worker", "-Q", self.queue, "-c", str(self.concurrency), "-P", self.pool,
                "-n", f"{self.queue}-{os.getpid()}@%h", "-l", "info", "--without-gossip", "--without-mingle",
                "--without-heartbeat"]

    def start(self, wait: float | None = 60.0):
        """Start the worker; wait up to ``wait`` seconds until it is ready to
        take tasks (``None``: return at once, e.g. while the broker is down)."""
        self._starts += 1
        marker = self.log_text().count(" ready.")
        super().start()
        if wait is None:
            return self
        deadline = time.time() + wait
        while time.time() < deadline:
            if self.log_text().count(" ready.") > marker:
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"celery worker did not start:\n{self.log_text()[-3000:]}")

    def revive(self) -> str | None:
        """Start the worker again if it stopped on its own, as a process
        supervisor would (systemd ``Restart=``, compose ``restart:``); returns
        the log line saying why it stopped, or None if it is running.  (Celery
        5.7's consumer can die with an "Unrecoverable error" while it closes a
        Redis connection the broker dropped.)  It does not wait for the new
        worker to be ready: the broker may still be down, and the worker keeps
        trying to connect on its own."""
        if self.proc is None or self.proc.poll() is None:
            return None
        lines = self.log_text().splitlines()
        why = next((line for line in reversed(lines) if "Unrecoverable error" in line or "CRITICAL" in line),
                   f"exit status {self.proc.returncode}")
        self.start(wait=None)
        return why

    def children(self) -> list[int]:
        try:
            out = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            return [int(x) for x in out]
        except OSError:
            return []

    def kill_child(self) -> int | None:
        """SIGKILL one pool process (the main worker notices and re-queues its task)."""
        kids = self.children()
        if not kids:
            return None
        os.kill(kids[0], signal.SIGKILL)
        return kids[0]


class Beat(_Proc):
    name = "beat"

    def argv(self):
        return [CELERY, "-A", "mdm", "beat", "-l", "info", "-s", os.path.join(self.workdir, "beat-schedule"),
                "--pidfile", os.path.join(self.workdir, "beat.pid")]


class RedisServer(_Proc):
    """A private redis-server (not the shared one) that a fault test may stop."""

    name = "redis"

    def __init__(self, port: int, workdir=None):
        super().__init__(dict(os.environ), workdir)
        self.port = port

    def argv(self):
        return [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.workdir]

    def start(self, wait: float = 10.0):
        super().start()
        deadline = time.time() + wait
        while time.time() < deadline:
            if port_open("127.0.0.1", self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on {self.port}:\n{self.log_text()[-2000:]}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def worker_env(*, broker: str, queue: str, **extra) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DJANGO_SETTINGS_MODULE": "mdm.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "true",
        "DB_CONN_MAX_AGE": "60",
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("MDM_TESTING", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_for(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
