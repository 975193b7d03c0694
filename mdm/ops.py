"""Operations endpoints: ``/healthz`` (database and broker) and ``/metrics``
(Prometheus text format).

Two kinds of metrics:

* gauges computed at scrape time, the same whichever process answers the
  scrape: sync deliveries by system and status, the review backlog (open
  match tasks, records awaiting approval or failing validation, per entity
  type), background jobs (matching, rebuilds, pulls) by kind and status,
  and the depth of the broker's task queue;
* the request-latency histogram ``mdm_http_request_duration_seconds``
  (method, view, status), observed by gunicorn's request hooks
  (``mdm/gunicorn.conf.py``) in every worker.  Under gunicorn,
  ``PROMETHEUS_MULTIPROC_DIR`` is set and each worker writes its samples to
  its own file there (prometheus-client's multiprocess mode); a scrape,
  answered by any one worker, sums every worker's files, so the counts are
  the whole server's and survive worker restarts.

``MDM_METRICS_TOKEN`` (optional) requires ``Authorization: Bearer <token>``
on /metrics."""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
        return True, connection.vendor
    except Exception as exc:  # noqa: BLE001
        return False, f"{exc.__class__.__name__}: {str(exc)[:200]}"


def _check_broker() -> tuple[bool, str]:
    from mdm.celery import app

    if app.conf.task_always_eager:
        return True, "none (tasks run in-process)"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            return True, conn.as_uri()
    except Exception as exc:  # noqa: BLE001
        return False, f"{exc.__class__.__name__}: {str(exc)[:200]}"


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker answer, else 503 with the reason."""
    started = time.monotonic()
    checks = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        ok, detail = check()
        checks[name] = {"ok": ok, "detail": detail}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", "checks": checks,
                         "seconds": round(time.monotonic() - started, 3)}, status=200 if healthy else 503)


logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
_request_seconds = None
_request_seconds_lock = threading.Lock()


def request_histogram():
    """The request-latency histogram of this process (created on first use,
    after gunicorn has set ``PROMETHEUS_MULTIPROC_DIR`` for the worker).

    Created under a lock: with threaded workers two first requests could
    each create one, and in multiprocess mode both would write the same
    samples file, each from its own count, so one would overwrite the other."""
    global _request_seconds
    if _request_seconds is None:
        with _request_seconds_lock:
            if _request_seconds is None:
                from prometheus_client import Histogram

                _request_seconds = Histogram(
                    "mdm_http_request_duration_seconds", "Time from a request's arrival to its response, by view",
                    ["method", "view", "status"], buckets=LATENCY_BUCKETS, registry=None)
    return _request_seconds


def view_label(path: str) -> str:
    """The URL name the path resolves to (``api:customer-detail``): a label
    with a bounded set of values, unlike the path itself."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path)
    except Resolver404:
        return "unmatched"
    return match.view_name or "unnamed"


VIEW_ENVIRON_KEY = "mdm.view_name"  # the view Django resolved the request to, left in the WSGI environ


def observe_request(method: str, path: str, status: int, seconds: float, view: str | None = None) -> None:
    """``view``: the URL name when the request was already resolved (the
    middleware leaves it in the environ), saving a second resolution."""
    request_histogram().labels(method=method, view=view or view_label(path), status=str(status)).observe(seconds)


class SyncCollector:
    """Gauges from ``sync.selectors.sync_health()``, computed per scrape."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from sync.selectors import sync_health

        try:
            rows = sync_health()
        except Exception:  # noqa: BLE001 - the latency metrics are still worth serving without the database
            logger.exception("sync gauges unavailable for this scrape")
            return
        deliveries = GaugeMetricFamily("mdm_sync_deliveries", "Deliveries by target system and status",
                                       labels=["system", "status"])
        problems = GaugeMetricFamily("mdm_sync_problem_deliveries",
                                     "Failed, dead or retrying deliveries by error category",
                                     labels=["system", "category"])
        throughput = GaugeMetricFamily("mdm_sync_throughput_per_second",
                                       "Deliveries per second over the last hour", labels=["system"])
        latency = GaugeMetricFamily("mdm_sync_latency_seconds",
                                    "Change committed → delivered over the last hour",
                                    labels=["system", "quantile"])
        last = GaugeMetricFamily("mdm_sync_last_delivered_timestamp_seconds",
                                 "Unix time of the last successful delivery", labels=["system"])
        for r in rows:
            for status_, n in r["counts"].items():
                deliveries.add_metric([r["system"], status_], n)
            for cat, n in r["problems"].items():
                problems.add_metric([r["system"], cat], n)
            throughput.add_metric([r["system"]], r["throughput_per_s"])
            for q, key in (("0.5", "p50_ms"), ("0.95", "p95_ms")):
                if r[key] is not None:
                    latency.add_metric([r["system"], q], r[key] / 1000)
            if r["last_delivered_at"] is not None:
                last.add_metric([r["system"]], r["last_delivered_at"].timestamp())
        yield from (deliveries, problems, throughput, latency, last)


class HubCollector:
    """The review backlog, background jobs and the broker's queue depth,
    computed per scrape (each a count over an indexed column)."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        try:
            backlog = hub_backlog()
        except Exception:  # noqa: BLE001 - the other metrics are still worth serving without the database
            logger.exception("backlog gauges unavailable for this scrape")
        else:
            tasks = GaugeMetricFamily("mdm_review_tasks", "Suspected duplicates awaiting a steward, by status",
                                      labels=["entity_type", "status"])
            for (entity_type, status_), n in sorted(backlog["tasks"].items()):
                tasks.add_metric([entity_type, status_], n)
            pending = GaugeMetricFamily("mdm_records_awaiting_approval", "Golden records in state pending",
                                        labels=["entity_type"])
            invalid = GaugeMetricFamily("mdm_records_failing_validation",
                                        "Live golden records that fail validation", labels=["entity_type"])
            for entity_type, n in backlog["pending"].items():
                pending.add_metric([entity_type], n)
            for entity_type, n in backlog["invalid"].items():
                invalid.add_metric([entity_type], n)
            jobs = GaugeMetricFamily("mdm_jobs", "Background jobs (matching, rebuilds, pulls) by kind and status",
                                     labels=["kind", "status"])
            for (kind, status_), n in sorted(backlog["jobs"].items()):
                jobs.add_metric([kind, status_], n)
            yield from (tasks, pending, invalid, jobs)
        depth = broker_queue_depth()
        if depth is not None:
            queue = GaugeMetricFamily("mdm_queue_depth", "Tasks waiting in the broker's queue", labels=["queue"])
            queue.add_metric([depth[0]], depth[1])
            yield queue


def hub_backlog() -> dict:
    from django.db.models import Count

    from mdm.choices import LifecycleState, TaskStatus
    from mdm.models import GOLDEN_MODELS, Job, MatchTask

    tasks = {(r["entity_type"], r["status"]): r["n"] for r in MatchTask.objects.filter(
        status__in=(TaskStatus.OPEN, TaskStatus.DEFERRED)).values("entity_type", "status")
        .annotate(n=Count("id")).order_by()}
    pending, invalid = {}, {}
    for entity_type, model in GOLDEN_MODELS.items():
        pending[entity_type] = model.objects.filter(state=LifecycleState.PENDING).count()
        invalid[entity_type] = model.objects.filter(is_valid=False).exclude(
            state__in=(LifecycleState.MERGED, LifecycleState.RETIRED)).count()
    jobs = {(r["kind"], r["status"]): r["n"] for r in Job.objects.values("kind", "status")
            .annotate(n=Count("id")).order_by()}
    return {"tasks": tasks, "pending": pending, "invalid": invalid, "jobs": jobs}


def broker_queue_depth() -> tuple[str, int] | None:
    """(queue name, messages waiting) of the default task queue; None when
    tasks run in-process or the broker does not answer within 2 s."""
    from mdm.celery import app

    if app.conf.task_always_eager:
        return None
    name = app.conf.task_default_queue
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            try:
                return name, conn.default_channel.queue_declare(queue=name, passive=True).message_count
            except conn.channel_errors:  # no such queue (never declared; on Redis, empty): nothing waits
                return name, 0
    except Exception as exc:  # noqa: BLE001 - the broker down
        logger.warning("broker queue depth unavailable for this scrape: %s", exc.__class__.__name__)
        return None


@never_cache
@require_GET
def metrics(request):
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    token = os.environ.get("MDM_METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given, token):
            return HttpResponse("metrics token required\n", status=401, content_type="text/plain")
    registry = CollectorRegistry()
    registry.register(SyncCollector())
    registry.register(HubCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # every worker's samples, summed
    else:
        registry.register(request_histogram())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
