"""gunicorn settings: ``gunicorn -c mdm/gunicorn.conf.py mdm.wsgi``.

Environment: GUNICORN_BIND (0.0.0.0:8000), WEB_CONCURRENCY (workers, default
2 × cores + 1), GUNICORN_THREADS (1), GUNICORN_MAX_REQUESTS (50000: a worker
is replaced after that many), PROMETHEUS_MULTIPROC_DIR (metrics shared by
all workers; created and emptied at start).  The request hooks below feed
the latency histogram of ``/metrics``."""

import multiprocessing
import os
import shutil
import tempfile
import time

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30  # SIGTERM: finish in-flight requests for up to 30 s
keepalive = 5
# A worker is replaced after this many requests (a guard against slow leaks); each replacement boots
# Django and reloads the matcher, so not every minute at a few hundred requests/s.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "50000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
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
    from mdm.ops import observe_request

    observe_request(req.method, environ.get("PATH_INFO") or req.path, resp.status_code or 0,
                    time.perf_counter() - started)
