"""The pieces of ``python manage.py load_test``: the plan the locust clients
read (tokens and a sample of the data set), gunicorn started and stopped
around the run, locust run headless, and the figures out of its stats.

Gunicorn runs as in production (``mdm/gunicorn.conf.py``, ``DEBUG=false``,
persistent database connections, metrics in multiprocess mode); locust runs
in one process with its lightest client (FastHttpUser, gevent: one core at
most) on the same two cores, so the output says how much CPU each side
used."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
GUNICORN_CONF = Path(settings.BASE_DIR) / "mdm" / "gunicorn.conf.py"
READER_SAMPLE = 40_000
WRITER_SAMPLE = 4_000
NEW_COMPANIES = 5_000

#: request names → the kind of request they are, for the per-type figures
KINDS = (("POST", "post source record"), ("/changes/", "change feed"), ("/xref/", "xref lookup"),
         ("/customers/<id>/", "detail"), ("/customers/", "list"))


def kind_of(name: str) -> str:
    return next(kind for marker, kind in KINDS if marker in name)


# --- the plan -------------------------------------------------------------------------------

def make_plan(*, users: int, writers: int, customers: int) -> dict:
    """Tokens for every client (readers and the writing source systems, each
    its own service account; tokens expire after a day) and samples of the
    approved customers: readers' and writers' kept apart."""
    from mdm.loadtest.dataset import company, erp_record
    from mdm.services.accounts import create_service_account

    readers = users - writers
    reader_tokens = [create_service_account(name=f"load-reader-{k}", system_code=("crm", "psa", "erp")[k % 3],
                                            expires_days=1)[1] for k in range(readers)]
    writer_tokens = {system: [create_service_account(name=f"load-{system}-{k}", system_code=system,
                                                     expires_days=1)[1] for k in range(max(1, writers))]
                     for system in ("erp", "crm")}
    approved = max(1, customers)
    pct = min(100.0, 100.0 * (READER_SAMPLE + WRITER_SAMPLE) * 1.3 / approved)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.id, c.version, c.tax_id, c.legal_name, c.country, c.currency, c.city, c.postcode, "
            "x.external_id, s.payload, c.updated_at "
            f"FROM mdm_customer c TABLESAMPLE SYSTEM ({pct:.4f}) "
            "JOIN mdm_crossreference x ON x.entity_type = 'customer' AND x.golden_id = c.id AND x.role = 'source' "
            "JOIN mdm_sourcesystem sy ON sy.id = x.system_id AND sy.code = 'crm' "
            "JOIN mdm_sourcerecord s ON s.id = x.source_record_id "
            "WHERE c.state = 'approved' AND x.external_id LIKE 'LT-%%'")
        rows = cur.fetchall()
        cur.execute("SELECT min(id), max(id) FROM mdm_changeevent")
        feed_tail, feed_head = cur.fetchone()
        cur.execute("SELECT updated_at FROM mdm_customer WHERE state = 'approved' ORDER BY updated_at DESC "
                    "LIMIT 1 OFFSET 99")
        hundredth = cur.fetchone()
    if len(rows) < 1000:
        raise RuntimeError(f"only {len(rows)} approved customers with a CRM source record were found: set the "
                           "data up with this command (older bench_api data has no source records)")
    rng = __import__("random").Random(11)
    rng.shuffle(rows)
    cut = max(len(rows) // 10, min(WRITER_SAMPLE, len(rows) // 2))
    writer_rows, reader_rows = rows[:cut], rows[cut:]
    readers_pool = [{"id": str(r[0]), "version": r[1], "tax_id": r[2], "source_id": r[8]}
                    for r in reader_rows[:READER_SAMPLE] if r[2]]
    writers_pool = []
    for r in writer_rows:
        c = {"legal_name": r[3], "tax_id": r[2], "country": r[4], "currency": r[5], "city": r[6], "postcode": r[7]}
        payload = json.loads(r[9]) if isinstance(r[9], str) else r[9]
        writers_pool.append({"source_id": r[8], "crm": payload, "erp": erp_record("", c)["data"]})
    offset = customers + 20_000_000 + rng.randrange(20_000_000)
    from mdm.loadtest.dataset import crm_payload

    new_companies = []
    for i in range(NEW_COMPANIES):
        c = company(offset + i)
        new_companies.append({"crm": crm_payload(c), "erp": erp_record("", c)["data"]})
    now = timezone.now()
    poll_since = [_iso(now - dt.timedelta(seconds=90))] + ([_iso(hundredth[0])] if hundredth else [])
    return {
        "run": uuid.uuid4().hex[:6],
        "reader_tokens": reader_tokens,
        "writer_tokens": writer_tokens,
        "readers": readers_pool,
        "writers": writers_pool,
        "new_companies": new_companies,
        "pull_starts": [_iso(r[10]) for r in reader_rows[:2000]],
        "poll_since": poll_since,
        "feed_tail": feed_tail or 0,
        "feed_head": feed_head or 0,
        "users": {"readers": readers, "writers": writers},
    }


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def machine_speed() -> tuple[float, int]:
    """Milliseconds this machine takes for a fixed piece of Python work (the
    kind a web worker does: building and encoding small JSON documents), best
    of three, and a checksum of the work.  The same code's figures move with
    it: on a shared host it varied by half within a minute."""
    best, digest = float("inf"), None
    for _ in range(3):
        h = hashlib.sha256()
        t0 = time.perf_counter()
        for i in range(40_000):
            h.update(json.dumps({"id": i, "name": f"Company {i}", "tags": [i, i + 1], "ok": True}).encode())
        best = min(best, (time.perf_counter() - t0) * 1000)
        digest = h.hexdigest()
    return best, int(digest[:8], 16)


# --- gunicorn --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn -c mdm/gunicorn.conf.py mdm.wsgi`` in production mode, in
    its own process group, stopped with SIGTERM (graceful) at the end."""

    def __init__(self, *, port: int, workdir: Path, workers: int | None, threads: int | None,
                 broker: str | None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / "gunicorn.log"
        env = {
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            "DATABASE_URL": os.environ["DATABASE_URL"],
        }
        if workers:
            env["WEB_CONCURRENCY"] = str(workers)
        if threads:
            env["GUNICORN_THREADS"] = str(threads)
        if broker:
            env["CELERY_BROKER_URL"] = broker
        else:
            env.pop("CELERY_BROKER_URL", None)
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.broker = broker

    def threads(self) -> int:
        """Threads per worker as ``mdm/gunicorn.conf.py`` sets them for this environment."""
        out = subprocess.run([sys.executable, "-c", "import runpy; print(runpy.run_path(%r)['threads'])"
                              % str(GUNICORN_CONF)], env=self.env, capture_output=True, text=True, check=True)
        return int(out.stdout.strip().splitlines()[-1])

    def start(self, timeout: float = 90.0) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "mdm.wsgi"],
            cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if self.broker:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "mdm", "worker", "--concurrency", "1", "--loglevel", "WARNING"],
                cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s; see {self.log_path}")

    def processes(self):
        import psutil

        if self.proc is None:
            return []
        try:
            master = psutil.Process(self.proc.pid)
            return [master, *master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def celery_processes(self):
        """The Celery worker started with ``--broker`` and its pool."""
        import psutil

        if self.worker is None:
            return []
        try:
            main = psutil.Process(self.worker.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def workers(self) -> int:
        return max(0, len(self.processes()) - 1)

    def stop(self) -> None:
        for proc in (self.worker, self.proc):
            if proc is None or proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# --- CPU accounting -----------------------------------------------------------------------------

class CpuMeter:
    """CPU seconds used by gunicorn (master and workers), the Celery worker
    (with ``--broker``), PostgreSQL, locust and the whole machine between
    ``start()`` and ``stop()``.

    PostgreSQL's backends come and go with the web processes' connections
    (``DB_CONN_MAX_AGE``) and take their CPU time with them when they end, so
    every process is read once a second: a backend that ended is counted up
    to its last reading (at most a second of its time is missed).  Locust's
    own time is read as its process is reaped (``run_locust``)."""

    INTERVAL = 1.0

    def __init__(self, gunicorn: Gunicorn):
        self.gunicorn = gunicorn
        self.locust_pid: int | None = None
        self.locust_cpu = 0.0
        self._seen: dict[int, list] = {}  # pid → [group, CPU at the start (0 if started later), last CPU]
        self._stop = None
        self._thread = None
        self._machine0 = self._wall0 = 0.0

    @staticmethod
    def _machine() -> float:
        import psutil

        cpu = psutil.cpu_times()
        return cpu.user + cpu.system + cpu.nice + getattr(cpu, "irq", 0) + getattr(cpu, "softirq", 0)

    def _read(self, first: bool) -> None:
        import psutil

        web = {p.pid for p in self.gunicorn.processes()}
        celery = {p.pid for p in self.gunicorn.celery_processes()}
        for p in psutil.process_iter():
            try:
                t = p.cpu_times()
                used = t.user + t.system
                entry = self._seen.get(p.pid)
                if entry is None:
                    group = ("gunicorn" if p.pid in web else "celery" if p.pid in celery
                             else "postgres" if p.username() == "postgres" else None)
                    if group is None:
                        continue
                    self._seen[p.pid] = [group, used if first else 0.0, used]
                else:
                    entry[2] = used
            except Exception:  # noqa: BLE001 - a process that ended or is not ours to read
                continue

    def _loop(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            self._read(first=False)

    def start(self) -> None:
        import threading

        self._seen = {}
        self._read(first=True)
        self._machine0, self._wall0 = self._machine(), time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        self._read(first=False)
        out = {"locust": self.locust_cpu, "gunicorn": 0.0, "celery": 0.0, "postgres": 0.0,
               "machine": self._machine() - self._machine0, "wall": time.monotonic() - self._wall0}
        for group, at_start, last in self._seen.values():
            out[group] += last - at_start
        return out


# --- locust ---------------------------------------------------------------------------------------

def run_locust(*, plan_path: Path, host: str, users: int, seconds: int, rate: float, out: Path,
               meter: CpuMeter | None = None, part: int = 0) -> dict:
    """Run locust headless; returns its JSON stats (one entry per request name).
    ``part`` (0 or 1) picks the half of the writers' records this run sends."""
    env = {**os.environ, "MDM_LOADTEST_PLAN": str(plan_path), "MDM_LOADTEST_SLICE": str(part),
           "MDM_LOADTEST_USER_RATE": str(rate / users if rate else 0)}
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--users", str(users),
           "--spawn-rate", str(users), "--run-time", f"{seconds}s", "--host", host, "--only-summary",
           "--stop-timeout", "30", "--json-file", str(out.with_suffix("")), "--loglevel", "WARNING",
           "--skip-log-setup", "--csv", str(out.with_suffix(""))]
    with open(out.with_suffix(".log"), "wb") as log:
        proc = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        if meter is not None:
            meter.locust_pid = proc.pid
        _, _, usage = os.wait4(proc.pid, 0)  # the child's own CPU time, read as it is reaped
        proc.returncode = 0
        if meter is not None:
            meter.locust_cpu = usage.ru_utime + usage.ru_stime
    if not out.exists():
        raise RuntimeError(f"locust wrote no stats; see {out.with_suffix('.log')}")
    return {"stats": json.loads(out.read_text()), "failures": _csv(out, "failures"),
            "exceptions": _csv(out, "exceptions")}


def _csv(out: Path, kind: str) -> list[dict]:
    import csv

    path = out.with_name(f"{out.stem}_{kind}.csv")
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _percentile(buckets: dict[int, int], total: int, p: float) -> float:
    if not total:
        return 0.0
    rank = math.ceil(p / 100 * total)
    seen = 0
    for ms in sorted(buckets):
        seen += buckets[ms]
        if seen >= rank:
            return float(ms)
    return float(max(buckets))


def summarise(stats: list[dict]) -> dict:
    """Figures per request name, per kind of request and for the whole mix:
    requests, requests/s, p50/p95/p99 (ms), mean (ms), errors."""
    groups: dict[str, list[dict]] = {}
    for entry in stats:
        groups.setdefault(entry["name"], []).append(entry)
        groups.setdefault(f"kind:{kind_of(entry['name'])}", []).append(entry)
        groups.setdefault("all", []).append(entry)
    out = {}
    for label, entries in groups.items():
        buckets: dict[int, int] = {}
        n = errors = 0
        total_ms = 0.0
        start = min(e["start_time"] for e in entries)
        end = max(e["last_request_timestamp"] or e["start_time"] for e in entries)
        for e in entries:
            n += e["num_requests"]
            errors += e["num_failures"]
            total_ms += e["total_response_time"]
            for ms, count in e["response_times"].items():
                buckets[int(float(ms))] = buckets.get(int(float(ms)), 0) + count
        out[label] = {"requests": n, "errors": errors, "p50_ms": _percentile(buckets, n, 50),
                      "p95_ms": _percentile(buckets, n, 95), "p99_ms": _percentile(buckets, n, 99),
                      "mean_ms": round(total_ms / n, 1) if n else 0.0, "first": start, "last": end}
    return out
