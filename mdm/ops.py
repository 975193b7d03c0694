"""Operations endpoints: ``/healthz`` (database and broker) and ``/metrics``
(Prometheus text format).

The metrics are gauges computed from the database at scrape time, so any
number of web processes and workers report the same numbers without
prometheus-client's multiprocess mode.  ``MDM_METRICS_TOKEN`` (optional)
requires ``Authorization: Bearer <token>`` on /metrics."""

from __future__ import annotations

import hmac
import os
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


class SyncCollector:
    """Gauges from ``sync.selectors.sync_health()``, computed per scrape."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from sync.selectors import sync_health

        rows = sync_health()
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
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
