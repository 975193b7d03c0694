"""``/metrics``: the request-latency histogram.  Under gunicorn with several
workers every request is counted once, whichever worker served it and
whichever answers the scrape (prometheus-client's multiprocess mode, set
up by ``mdm/gunicorn.conf.py``)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from mdm import ops

METRIC = "mdm_http_request_duration_seconds"


def samples(text: str, name: str) -> list[tuple[dict, float]]:
    """``(labels, value)`` of every sample called ``name`` in a Prometheus text page."""
    out = []
    for m in re.finditer(rf"^{name}\{{(.*?)\}} (\S+)$", text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        out.append((labels, float(m.group(2))))
    return out


def test_a_served_request_names_its_view_for_the_histogram(client, db):
    """The latency hook labels a request with the view Django resolved it to
    (left in the environ), instead of resolving the path a second time."""
    response = client.get("/api/v1/xref/?system=crm&source_id=1")
    assert response.wsgi_request.META[ops.VIEW_ENVIRON_KEY] == "api:xref"


def test_each_request_is_logged_once_with_its_correlation_id(client, db, caplog):
    with caplog.at_level("INFO", logger="mdm.request"):
        response = client.get("/api/v1/xref/?system=crm&source_id=1", HTTP_X_CORRELATION_ID="trace-42")
    (record,) = [r for r in caplog.records if r.name == "mdm.request"]
    assert response["X-Correlation-ID"] == "trace-42" == record.correlation_id
    assert (record.method, record.path, record.status, record.view) == ("GET", "/api/v1/xref/", 401, "api:xref")
    assert record.ms >= 0 and record.origin == "api"


def test_metrics_page_has_the_latency_histogram_of_this_process(client, db):
    ops.observe_request("GET", "/api/v1/xref/", 200, 0.042)
    text = client.get("/metrics").content.decode()
    counts = [v for labels, v in samples(text, f"{METRIC}_count")
              if labels == {"method": "GET", "view": "api:xref", "status": "200"}]
    assert counts and counts[0] >= 1
    buckets = {labels["le"]: v for labels, v in samples(text, f"{METRIC}_bucket")
               if labels.get("view") == "api:xref" and labels.get("status") == "200"}
    assert buckets["0.05"] >= 1 and buckets["+Inf"] == counts[0]


def test_views_are_labelled_by_url_name_not_by_path():
    assert ops.view_label("/api/v1/customers/0b6f8c1e-2a52-4a8e-9b1e-7d2f0c9a1b23/") == "api:customer-detail"
    assert ops.view_label("/api/v1/customers/") == "api:customer-list"
    assert ops.view_label("/no/such/page/") == "unmatched"


def test_threads_of_one_worker_share_one_histogram(monkeypatch):
    """With threaded workers the first requests of a process arrive together:
    one histogram is created, not one per thread (in multiprocess mode each
    would write the same samples file from its own count)."""
    import threading

    import prometheus_client

    made = []
    real = prometheus_client.Histogram

    def slow_histogram(*args, **kwargs):
        time.sleep(0.05)  # widen the window two first requests would race in
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(prometheus_client, "Histogram", slow_histogram)
    monkeypatch.setattr(ops, "_request_seconds", None)
    start = threading.Barrier(8)
    got = []

    def first_request():
        start.wait()
        got.append(ops.request_histogram())

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len({id(h) for h in got}) == 1


@pytest.fixture(params=["1", "4"], ids=["sync", "threaded"])
def gunicorn(tmp_path, request):
    """gunicorn with two workers on the repository's config, sync or with
    four threads each (an empty SQLite file is enough: /healthz and /metrics
    answer without tables)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    prom = tmp_path / "prometheus"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "GUNICORN_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": request.param, "PROMETHEUS_MULTIPROC_DIR": str(prom),
           "LOG_LEVEL": "CRITICAL"}
    env.pop("CELERY_BROKER_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "mdm/gunicorn.conf.py", "mdm.wsgi"],
                            cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "gunicorn exited"
            try:
                with urllib.request.urlopen(f"{url}/metrics", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield url, prom
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=40)


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as r:
        r.read()
        return r.status


def test_latency_histogram_counts_every_request_across_gunicorn_workers(gunicorn):
    url, prom = gunicorn
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        # until both workers have served /healthz (each writes its own file of samples)
        while len(list(prom.glob("histogram_*.db"))) < 2 or sent < 40:
            assert sent < 2000, "one worker served everything"
            assert list(pool.map(_get, [f"{url}/healthz"] * 20)) == [200] * 20
            sent += 20
    assert len(list(prom.glob("histogram_*.db"))) >= 2

    def scrape():
        with urllib.request.urlopen(f"{url}/metrics", timeout=30) as r:
            text = r.read().decode()
        count = [v for labels, v in samples(text, f"{METRIC}_count")
                 if labels == {"method": "GET", "view": "healthz", "status": "200"}]
        inf = [v for labels, v in samples(text, f"{METRIC}_bucket")
               if labels.get("view") == "healthz" and labels.get("le") == "+Inf"]
        return count, inf

    # gunicorn's post_request hook runs after the response has gone out: let the last ones land
    deadline = time.monotonic() + 15
    while scrape()[0] != [float(sent)] and time.monotonic() < deadline:
        time.sleep(0.1)
    seen = [scrape() for _ in range(6)]  # each scrape may be answered by either worker: all must sum both
    assert seen == [([float(sent)], [float(sent)])] * 6


def test_web_workers_keep_start_up_objects_out_of_the_garbage_collectors_sight():
    import gc
    import runpy
    from unittest import mock

    with mock.patch.dict(os.environ):  # (the config sets PROMETHEUS_MULTIPROC_DIR for the server it configures)
        conf = runpy.run_path(str(settings.BASE_DIR / "mdm" / "gunicorn.conf.py"))
    before = gc.get_threshold()
    try:
        conf["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold()[0] >= 10_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
