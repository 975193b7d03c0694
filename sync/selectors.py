"""Reads of the sync engine: for validation, the dashboard, the monitor and metrics."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.db.models import Count, Max
from django.db.models.functions import TruncMinute
from django.utils import timezone

from mdm.choices import SystemKind
from sync.choices import DeliveryStatus, ErrorCategory
from sync.models import Delivery, Subscription

STATUS_KEYS = [s.value for s in DeliveryStatus]


def erp_subscribed(entity_type: str) -> bool:
    """Does an active subscription send this entity type to an ERP-kind
    system?  (Then ERP-required fields apply in validation.)"""
    from sync.services import active_subscriptions

    return any(s.system.kind == SystemKind.ERP and s.wants(entity_type) for s in active_subscriptions())


def _percentiles(values: list[int], qs=(0.5, 0.95)) -> dict:
    if not values:
        return {q: None for q in qs}
    values = sorted(values)
    out = {}
    for q in qs:
        k = (len(values) - 1) * q
        lo, hi = int(k), min(int(k) + 1, len(values) - 1)
        out[q] = values[lo] + (values[hi] - values[lo]) * (k - lo)
    return out


def _latency_percentiles(system_ids, since) -> dict:
    """system id → {0.5: ms, 0.95: ms} over deliveries delivered since ``since``."""
    if not system_ids:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT system_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), "
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FROM sync_delivery "
                "WHERE status = %s AND delivered_at >= %s AND latency_ms IS NOT NULL GROUP BY system_id",
                [DeliveryStatus.DELIVERED, since],
            )
            return {row[0]: {0.5: row[1], 0.95: row[2]} for row in cur.fetchall()}
    per: dict = {}
    for sid, ms in (Delivery.objects.filter(status=DeliveryStatus.DELIVERED, delivered_at__gte=since,
                                            latency_ms__isnull=False).values_list("system_id", "latency_ms")):
        per.setdefault(sid, []).append(ms)
    return {sid: _percentiles(vals) for sid, vals in per.items()}


def sync_health(*, now=None, window: timedelta = timedelta(hours=1)) -> list[dict]:
    """Per subscribed system: counts by status, deliveries/s, p50/p95
    latency (change → delivered) over the last hour, a per-minute series for
    the sparkline, and problems by error category."""
    now = now or timezone.now()
    since = now - window
    subs = list(Subscription.objects.select_related("system").order_by("system__code"))
    counts: dict = {}
    for row in Delivery.objects.values("system_id", "status").annotate(n=Count("id")).order_by():
        counts.setdefault(row["system_id"], {})[row["status"]] = row["n"]
    problems: dict = {}
    for row in (Delivery.objects.filter(status__in=(DeliveryStatus.FAILED, DeliveryStatus.DEAD,
                                                    DeliveryStatus.RETRYING))
                .values("system_id", "error_category").annotate(n=Count("id")).order_by()):
        problems.setdefault(row["system_id"], {})[row["error_category"] or ErrorCategory.TECHNICAL] = row["n"]
    minutes: dict = {}
    for row in (Delivery.objects.filter(status=DeliveryStatus.DELIVERED, delivered_at__gte=since)
                .annotate(minute=TruncMinute("delivered_at")).values("system_id", "minute")
                .annotate(n=Count("id")).order_by()):
        minutes.setdefault(row["system_id"], {})[row["minute"]] = row["n"]
    latency = _latency_percentiles([s.system_id for s in subs], since)
    last = dict(Delivery.objects.filter(status=DeliveryStatus.DELIVERED).values("system_id")
                .annotate(at=Max("delivered_at")).values_list("system_id", "at").order_by())
    start = since.replace(second=0, microsecond=0) + timedelta(minutes=1)
    n_minutes = int(window.total_seconds() // 60)
    out = []
    for sub in subs:
        c = {k: counts.get(sub.system_id, {}).get(k, 0) for k in STATUS_KEYS}
        per_minute = minutes.get(sub.system_id, {})
        series = [per_minute.get(start + timedelta(minutes=i), 0) for i in range(n_minutes)]
        delivered_hour = sum(per_minute.values())
        lat = latency.get(sub.system_id, {})
        out.append({
            "system": sub.system.code,
            "system_id": sub.system_id,
            "name": sub.system.name,
            "active": sub.active,
            "connector": sub.connector,
            "entity_types": sub.entity_types,
            "counts": c,
            "pending": c["pending"] + c["in_flight"] + c["retrying"],
            "delivered": c["delivered"],
            "failed": c["failed"],
            "dead": c["dead"],
            "retrying": c["retrying"],
            "problems": {"business": problems.get(sub.system_id, {}).get(ErrorCategory.BUSINESS, 0),
                         "technical": problems.get(sub.system_id, {}).get(ErrorCategory.TECHNICAL, 0)},
            "delivered_last_hour": delivered_hour,
            "throughput_per_s": delivered_hour / window.total_seconds(),
            "series": series,
            "p50_ms": round(lat[0.5]) if lat.get(0.5) is not None else None,
            "p95_ms": round(lat[0.95]) if lat.get(0.95) is not None else None,
            "last_delivered_at": last.get(sub.system_id),
        })
    return out


def error_groups(*, system=None, limit: int = 50) -> dict:
    """Open problems (failed, dead, retrying) grouped by category, then by
    message: ``{"business": [{"system", "message", "status", "count", "latest"}], "technical": [...]}``."""
    qs = Delivery.objects.filter(status__in=(DeliveryStatus.FAILED, DeliveryStatus.DEAD, DeliveryStatus.RETRYING))
    if system is not None:
        qs = qs.filter(system=system)
    rows = (qs.values("system__code", "error_category", "status", "last_error")
            .annotate(count=Count("id"), latest=Max("updated_at")).order_by("-count", "-latest")[:limit])
    out = {"business": [], "technical": []}
    for r in rows:
        cat = r["error_category"] if r["error_category"] in out else "technical"
        out[cat].append({"system": r["system__code"], "status": r["status"], "message": r["last_error"],
                         "count": r["count"], "latest": r["latest"]})
    return out


def deliveries_for(entity_type: str, golden_id):
    """A record's deliveries to every system, newest version first (the
    "deliveries" tab of a record page)."""
    return (Delivery.objects.filter(entity_type=entity_type, golden_id=golden_id)
            .select_related("system").order_by("system__code", "-version", "-created_at"))


def deliveries(*, system: str | None = None, status: str | None = None, category: str | None = None,
               entity_type: str | None = None, golden_id=None, q: str | None = None):
    qs = Delivery.objects.select_related("system").order_by("-created_at", "id")
    if system:
        qs = qs.filter(system__code=system)
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(error_category=category)
    if entity_type:
        qs = qs.filter(entity_type=entity_type)
    if golden_id:
        qs = qs.filter(golden_id=golden_id)
    if q:
        qs = qs.filter(last_error__icontains=q)
    return qs
