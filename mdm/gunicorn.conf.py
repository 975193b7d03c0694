"""gunicorn settings: ``gunicorn -c mdm/gunicorn.conf.py mdm.wsgi``.

Environment: GUNICORN_BIND (0.0.0.0:8000), WEB_CONCURRENCY (worker processes,
default one per core), GUNICORN_THREADS (threads per worker, default 4),
GUNICORN_MAX_REQUESTS (50000: a worker is replaced after that many),
PROMETHEUS_MULTIPROC_DIR (metrics shared by all workers; created and emptied
at start).  The request hooks below feed the latency histogram of
``/metrics``.

Why threaded workers, one per core: the API's requests are short and spend
a good part of their time waiting for PostgreSQL, so a few threads per
process keep a core busy.  Sync workers (the former 2 × cores + 1) close the
connection after every answer, so each request also paid a TCP handshake
and teardown, and every idle worker woke for every new connection.  On the
load test's read path (``python manage.py load_test --writers 0``, README
"Benchmarks", 1,000,000 customers, 2 cores) gunicorn used 2.9-3.5 ms of CPU
per request with 2 workers × 4 threads against 4.0-4.2 ms with 5 sync
workers, PostgreSQL the same 0.6-0.7 ms; the full mix 4.9 against 5.9 ms.
Each thread holds its own database connection (workers × threads of them).
A thread busy with a long request does not stop the worker's heartbeat, so
``timeout`` restarts a stuck worker, not a slow request (a long CSV export
is not cut off)."""

import multiprocessing
import os
import shutil
import tempfile
import time

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30  # SIGTERM: finish in-flight requests for up to 30 s
keepalive = 5  # seconds an idle client connection stays open (threaded workers)
# Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections evenly.
# On one shared socket, epoll wakes the worker that waited last, so one worker took most of the
# long-lived keep-alive connections of a busy client pool and queued their requests while the other idled.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "true").lower() != "false"
# A worker is replaced after this many requests (a guard against slow leaks); each replacement boots
# Django and reloads the matcher, so not every minute at a few hundred requests/s.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "50000"))
max_requests_jitter = max_requests // 10
# The hub logs each request itself (logger mdm.request: with LOG_FORMAT=json one object per request carrying
# its correlation id, origin and actor); GUNICORN_ACCESSLOG=- adds gunicorn's plain access line too.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "mdm-prometheus"))


def on_starting(server):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def pre_request(worker, req):
    req.mdm_started = time.perf_counter()


def post_request(worker, req, environ, resp):
    """Request latency into ``mdm_http_request_duration_seconds`` (see
    ``mdm/ops.py``): measured here, around the whole application and the
    writing of the response, in whichever worker served the request."""
    started = getattr(req, "mdm_started", None)
    if started is None:
        return
    from mdm.ops import VIEW_ENVIRON_KEY, observe_request

    observe_request(req.method, environ.get("PATH_INFO") or req.path, resp.status_code or 0,
                    time.perf_counter() - started, view=environ.get(VIEW_ENVIRON_KEY))


def post_worker_init(worker):
    """The cyclic garbage collector, tuned for a web process: what the app
    loaded at start-up (modules, URL patterns, compiled queries) is moved out
    of its sight for good (``gc.freeze``), and it runs after 20,000 new
    objects instead of 700.  Under the load test it had taken 11 % of a
    worker's CPU, mostly re-walking each request's rows; after, 8 %, with no
    full collection in a minute of traffic.  Garbage cycles are still
    collected; objects freed by reference counting never waited for it."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
