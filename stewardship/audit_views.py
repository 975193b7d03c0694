"""The auditor's pages: the global audit log (with CSV export), a record's
timeline, a record on a past date, a merge's story and the chain's state.

Read-only by construction: every view accepts GET (and HEAD) only, and reads
through ``mdm.auditlog`` selectors.  Auditors, stewards and admins may see
them; anyone else gets 403."""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from mdm import auditlog
from mdm.audit_chain import history_models
from mdm.choices import Origin
from mdm.models import AuditEntry, AuditPending, MergeEvent
from mdm.services.accounts import roles_of

AUDIT_ROLES = {"auditor", "steward", "admin"}


def may_audit(user) -> bool:
    return bool(roles_of(user) & AUDIT_ROLES)


def audit_view(view):
    @login_required
    @require_safe
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not may_audit(request.user):
            raise PermissionDenied("The audit trail is for auditors, stewards and admins.")
        return view(request, *args, **kwargs)

    return wrapped


def _render(request, template, context, status=200):
    try:
        from stewardship.permissions import abilities

        context.setdefault("can", abilities(request))
    except ImportError:  # the workbench's role helper is optional here
        pass
    return render(request, template, context, status=status)


def _label_or_404(label: str) -> str:
    if label not in history_models():
        raise Http404("No history for that kind of record")
    return label


def _entity_name(label: str) -> str:
    return dict(auditlog.entity_choices()).get(label, label)


@audit_view
def log(request):
    errors = {}
    try:
        f = auditlog.LogFilter.from_params(request.GET)
        result = auditlog.log_page(f, after=request.GET.get("after") or None)
    except auditlog.FilterError as exc:
        errors = exc.errors
        f = auditlog.LogFilter()
        result = auditlog.LogPage([], None, 0, False, f)
    params = request.GET.copy()
    params.pop("after", None)
    next_params = params.copy()
    if result.next_cursor:
        next_params["after"] = result.next_cursor
    names = dict(auditlog.entity_choices())
    return _render(request, "stewardship/audit/log.html", {
        "page": result, "entries": [(e, names.get(e.model, e.model)) for e in result.entries],
        "errors": errors, "values": request.GET, "entities": auditlog.entity_choices(), "origins": Origin.choices,
        "types": list(auditlog.HISTORY_TYPES.items()), "first_url": f"?{params.urlencode()}",
        "next_url": f"?{next_params.urlencode()}" if result.next_cursor else "",
        "csv_url": reverse("audit-export") + (f"?{params.urlencode()}" if params else ""),
        "paged": bool(request.GET.get("after")),
    }, status=400 if errors else 200)


@audit_view
def export_csv(request):
    try:
        f = auditlog.LogFilter.from_params(request.GET)
    except auditlog.FilterError as exc:
        return _render(request, "stewardship/audit/log.html", {
            "page": auditlog.LogPage([], None, 0, False), "entries": [], "errors": exc.errors,
            "values": request.GET, "entities": auditlog.entity_choices(), "origins": Origin.choices,
            "types": list(auditlog.HISTORY_TYPES.items())}, status=400)
    response = StreamingHttpResponse(auditlog.csv_rows(f), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    return response


@audit_view
def record(request, label, object_id):
    label = _label_or_404(label)
    items = auditlog.timeline(label, object_id)
    if not items:
        raise Http404("This record has no history")
    return _render(request, "stewardship/audit/record.html", {
        "label": label, "entity_name": _entity_name(label), "object_id": object_id, "items": items,
        "today": timezone.now().date().isoformat(),
    })


@audit_view
def record_as_of(request, label, object_id):
    label = _label_or_404(label)
    raw = (request.GET.get("at") or "").strip()
    at = auditlog._parse_when(raw, end_of_day=True) if raw else None
    error = "" if at else "Give a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM, UTC)."
    snapshot = auditlog.as_of(label, object_id, at) if at else None
    return _render(request, "stewardship/audit/as_of.html", {
        "label": label, "entity_name": _entity_name(label), "object_id": object_id, "at": raw, "error": error,
        "moment": (at - dt.timedelta(microseconds=1)) if at else None, "snapshot": snapshot,
    }, status=400 if error else 200)


@audit_view
def merge(request, pk):
    event = get_object_or_404(MergeEvent, pk=pk)
    story = auditlog.merge_story(event)
    names = dict(auditlog.entity_choices())
    return _render(request, "stewardship/audit/merge.html", {
        "story": story, "event": event, "golden_label": f"mdm.{event.entity_type.replace('_', '')}",
        "changes": [(e, names.get(e.model, e.model)) for e in story.changes],
        "unmerge_changes": [(e, names.get(e.model, e.model)) for e in story.unmerge_changes],
    })


@audit_view
def chain(request):
    head = AuditEntry.objects.order_by("-seq").values("seq", "chain_hash", "sealed_at").first()
    oldest_pending = AuditPending.objects.order_by("id").values_list("created_at", flat=True).first()
    return _render(request, "stewardship/audit/chain.html", {
        "head": head, "pending": AuditPending.objects.count(), "oldest_pending": oldest_pending,
        "erasures": list(auditlog.erasures()[:100]),
    })
