"""The sync monitor in the steward UI: per system backlog, deliveries,
failures and latency; errors grouped by category; a record's deliveries;
replay (stewards and admins; auditors read only)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from mdm.audit import audit_context
from mdm.choices import EntityType, Origin
from mdm.models import SourceSystem, golden_model
from mdm.services.accounts import roles_of
from sync import selectors, services
from sync.choices import DeliveryStatus, ErrorCategory
from sync.models import Delivery

READ_ROLES = {"steward", "approver", "auditor", "admin"}
REPLAY_ROLES = {"steward", "admin"}
BADGE = {
    DeliveryStatus.DELIVERED: "approved", DeliveryStatus.PENDING: "pending", DeliveryStatus.RETRYING: "pending",
    DeliveryStatus.IN_FLIGHT: "open", DeliveryStatus.FAILED: "invalid", DeliveryStatus.DEAD: "invalid",
    DeliveryStatus.SUPERSEDED: "retired",
}


def _reader(request) -> set:
    roles = roles_of(request.user)
    if not roles & READ_ROLES:
        raise PermissionDenied("Your account has no role in the hub.")
    return roles


def _may_replay(roles) -> bool:
    return bool(roles & REPLAY_ROLES)


def sparkline(series: list[int], width: int = 180, height: int = 32) -> dict:
    """Points for an inline SVG polyline (no script, no chart library)."""
    if not series:
        return {"points": "", "width": width, "height": height, "max": 0}
    top = max(series) or 1
    step = width / max(1, len(series) - 1)
    pts = " ".join(f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(series))
    return {"points": pts, "width": width, "height": height, "max": max(series)}


@login_required
def monitor(request):
    roles = _reader(request)
    systems = selectors.sync_health()
    for s in systems:
        s["spark"] = sparkline(s["series"])
        s["per_minute_max"] = max(s["series"]) if s["series"] else 0
    return render(request, "sync/monitor.html", {
        "systems": systems,
        "errors": selectors.error_groups(),
        "may_replay": _may_replay(roles),
    })


FILTER_KEYS = ("system", "status", "category", "entity_type", "golden_id", "q")


@login_required
def delivery_list(request):
    roles = _reader(request)
    f = {k: request.GET.get(k, "").strip() for k in FILTER_KEYS}
    errors = {}
    if f["status"] and f["status"] not in DeliveryStatus.values:
        errors["status"] = "Unknown status"
    if f["category"] and f["category"] not in (ErrorCategory.BUSINESS, ErrorCategory.TECHNICAL):
        errors["category"] = "Unknown category"
    if f["entity_type"] and f["entity_type"] not in EntityType.values:
        errors["entity_type"] = "Unknown entity type"
    if f["golden_id"]:
        try:
            uuid.UUID(f["golden_id"])
        except ValueError:
            errors["golden_id"] = "Not a record id (UUID)"
    qs = Delivery.objects.none() if errors else selectors.deliveries(**{k: v or None for k, v in f.items()})
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "sync/deliveries.html", {
        "page": page, "filters": f, "errors": errors, "query": query.urlencode(),
        "systems": SourceSystem.objects.filter(subscription__isnull=False).order_by("code"),
        "statuses": DeliveryStatus.choices, "entity_types": EntityType.choices,
        "badge": BADGE, "may_replay": _may_replay(roles),
    })


@login_required
def delivery_detail(request, pk):
    roles = _reader(request)
    d = get_object_or_404(Delivery.objects.select_related("system", "event", "subscription"), pk=pk)
    return render(request, "sync/delivery.html", {
        "d": d, "badge": BADGE.get(d.status, "pending"), "may_replay": _may_replay(roles),
        "record_url": reverse("sync:record", args=[d.entity_type, d.golden_id]),
    })


@login_required
def record_deliveries(request, entity_type, golden_id):
    roles = _reader(request)
    if entity_type not in EntityType.values:
        raise Http404("Unknown entity type")
    record = golden_model(entity_type).objects.filter(pk=golden_id).first()
    rows = list(selectors.deliveries_for(entity_type, golden_id))
    for r in rows:
        r.badge = BADGE.get(r.status, "pending")
    return render(request, "sync/record.html", {
        "record": record, "entity_type": entity_type, "golden_id": golden_id, "rows": rows,
        "may_replay": _may_replay(roles),
    })


def _replayer(request) -> None:
    if not _may_replay(roles_of(request.user)):
        raise PermissionDenied("Only stewards and admins may replay deliveries.")


@login_required
@require_POST
def replay(request, pk):
    _replayer(request)
    d = get_object_or_404(Delivery, pk=pk)
    with audit_context(origin=Origin.WEB, user=request.user, reason=f"replay delivery {d.pk}"):
        try:
            services.replay(d, actor=request.user)
            messages.success(request, f"Delivery of version {d.version} to {d.system.code} queued again.")
        except services.SyncError as exc:
            messages.error(request, exc.message)
    return redirect(_next(request, reverse("sync:delivery", args=[d.pk])))


@login_required
@require_POST
def replay_dead(request, system):
    _replayer(request)
    sys_obj = get_object_or_404(SourceSystem, code=system)
    with audit_context(origin=Origin.WEB, user=request.user, reason=f"replay dead deliveries of {system}"):
        counts = services.replay_dead(system=sys_obj, actor=request.user)
    text = f"{counts['replayed']} dead deliveries to {system} queued again"
    if counts["stale"]:
        text += f"; {counts['stale']} left alone (a newer version was delivered since)"
    messages.success(request, text + ".")
    return redirect(_next(request, reverse("sync:monitor")))


def _next(request, default: str) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return nxt
    return default


@login_required
def trace(request):
    """"Why is this value there?": from a field of a record in a downstream
    system back to the delivery, golden version, rule and source record."""
    _reader(request)
    system = request.GET.get("system", "").strip()[:64]
    external_id = request.GET.get("external_id", "").strip()[:128]
    field = request.GET.get("field", "").strip()[:64]
    entity_type = request.GET.get("entity_type", "").strip()[:32] or None
    result, error = None, ""
    if system and external_id and field:
        from sync.connectors.trace import TraceError, value_trace

        try:
            result = value_trace(system, external_id, field, entity_type=entity_type).to_dict()
        except TraceError as exc:
            error = str(exc)
    elif request.GET:
        error = "Give the system, the record's id in that system and the field."
    return render(request, "sync/trace.html", {
        "result": result, "error": error, "system": system, "external_id": external_id, "field": field,
        "entity_type": entity_type or "", "systems": SourceSystem.objects.order_by("code"),
        "entity_types": EntityType.choices,
    }, status=400 if error and not result else 200)


@login_required
def reconcile(request, system):
    """Read back what a downstream system holds for the hub's records and show
    the drift (missing, stale, differing fields), with a re-send per record
    and for all of it.  Reading is a GET; re-sending needs a steward."""
    from sync.connectors.reconcile import ReconcileError, drift_report, resend, resend_drift

    roles = _reader(request)
    report, error = None, ""
    if request.method == "POST":
        if not _may_replay(roles):
            raise PermissionDenied("Only stewards and admins may re-send.")
        reason = f"re-send after reconciliation by {request.user.get_username()}"
        with audit_context(origin=Origin.WEB, user=request.user, reason=reason):
            try:
                if request.POST.get("golden_id"):
                    resend(system_code=system, entity_type=request.POST.get("entity_type", ""),
                           golden_id=request.POST["golden_id"], actor=request.user)
                    messages.success(request, "Re-sent one record.")
                else:
                    count = resend_drift(drift_report(system), actor=request.user)
                    messages.success(request, f"Re-sent {count} record(s).")
            except (ReconcileError, ValueError) as exc:
                messages.error(request, str(exc))
        return redirect("sync:reconcile", system=system)
    try:
        report = drift_report(system).to_dict() if request.GET.get("run") else None
    except ReconcileError as exc:
        error = str(exc)
    return render(request, "sync/reconcile.html", {"system": system, "report": report, "error": error,
                                                   "may_resend": _may_replay(roles)},
                  status=400 if error else 200)
