"""The stewards' workbench.  Views stay thin: they read through
``stewardship.selectors``, change data only through ``mdm.services`` inside an
``audit_context`` carrying the steward's reason, and show a refused action
(``ServiceError``/``ConflictError``) as a form error, never a 500."""

from __future__ import annotations

import csv
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from mdm.audit import audit_context
from mdm.choices import EntityType, LifecycleState, Origin, TaskStatus, XrefRole
from mdm.filtersets import filterset_for
from mdm.models import (
    CrossReference,
    ManualOverride,
    MatchTask,
    MergeEvent,
    SourceRecord,
    ValidationIssue,
    golden_model,
)
from mdm.services import golden as golden_svc
from mdm.services import stewardship as stewardship_svc
from mdm.services.golden import ConflictError, ServiceError
from mdm.validation import RULE_LABELS
from stewardship import selectors as sel
from stewardship.forms import (
    ApproveForm,
    AssignForm,
    BulkNotDuplicateForm,
    DecisionForm,
    GoldenEditForm,
    OverrideDecisionForm,
    SplitForm,
    VersionedReasonForm,
)
from stewardship.permissions import abilities, requires
from stewardship.templatetags.workbench import waterfall_steps

PAGE_SIZE = 50
TOASTS_KEY = "mdm_toasts"
COUNT_CAP = 10_000  # the queue counts up to this many matches exactly, then says "10,000+"


class CappedPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` rows (``COUNT(*)`` over a ``LIMIT``ed
    subquery), so a filtered count over a 100,000-task queue stops early
    instead of scanning the table; the page shows "of 10,000+"."""

    @property
    def capped(self) -> bool:
        return self.count >= COUNT_CAP

    @cached_property
    def count(self):
        return min(self.object_list[:COUNT_CAP].count(), COUNT_CAP)


# --- page plumbing ------------------------------------------------------------

def toast(request, text: str, *, link: str = "", link_text: str = "", undo: int | None = None,
          level: str = "success") -> None:
    """A confirmation shown once on the next page: what happened, a link to
    the history entry, and for merges an undo."""
    toasts = request.session.get(TOASTS_KEY, [])
    toasts.append({"text": text, "link": link, "link_text": link_text, "undo": undo, "level": level})
    request.session[TOASTS_KEY] = toasts[-5:]


def page(request, template: str, context: dict | None = None, *, status: int = 200):
    ctx = {
        "can": abilities(request),
        "toasts": request.session.pop(TOASTS_KEY, []) if hasattr(request, "session") else [],
        "four_eyes": settings.MDM_FOUR_EYES,
    }
    ctx.update(context or {})
    return render(request, template, ctx, status=status)


@contextmanager
def web_action(request, reason: str):
    """The audit context of one steward action: nested in the request's own
    (same correlation id), carrying the user and the reason."""
    with audit_context(origin=Origin.WEB, user=request.user, reason=reason) as ctx:
        yield ctx


def add_service_error(form, exc: ServiceError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def entity_from_slug(slug: str) -> str:
    try:
        return sel.SLUG_ENTITIES[slug]
    except KeyError:
        raise Http404("No such kind of record") from None


def record_url(record) -> str:
    return reverse("record", args=[sel.ENTITY_SLUGS[record.entity_type], record.pk])


def get_record(slug: str, pk):
    entity_type = entity_from_slug(slug)
    return get_object_or_404(golden_model(entity_type), pk=pk)


def audit_url(correlation_id: str) -> str:
    return reverse("audit") + f"?correlation={correlation_id}"


# --- dashboard ---------------------------------------------------------------------

def _sync_health():
    """Per-system sync health from the sync app (``sync.selectors``), with a
    sparkline of deliveries per minute; None if the sync app is absent."""
    try:
        from sync.selectors import sync_health
    except ImportError:
        return None
    try:
        systems = sync_health()
        try:
            from sync.views import sparkline
        except ImportError:
            sparkline = None
        for s in systems:
            if sparkline is not None and isinstance(s, dict) and s.get("series") is not None:
                s["spark"] = sparkline(s["series"], width=120, height=26)
        return systems
    except Exception:  # noqa: BLE001 - a broken panel must not take the dashboard down
        import logging

        logging.getLogger(__name__).exception("sync health panel failed")
        return {"error": "Sync health could not be read; see the server log."}


@login_required
@require_GET
def dashboard(request):
    numbers = sel.dashboard_numbers()
    return page(request, "stewardship/dashboard.html", {
        **numbers,
        "activity": sel.recent_activity(12),
        "sync_health": _sync_health(),
        "my_tasks": MatchTask.objects.filter(assignee=request.user, status=TaskStatus.OPEN).count(),
    })


# --- review queue --------------------------------------------------------------------

@login_required
@require_GET
def queue(request):
    filters = sel.QueueFilters.from_query(request.GET)
    tasks = sel.queue_tasks(filters, request.user)
    # page through ids only (an index-only scan with a (status, score, created_at, id)
    # index), then load the 50 rows: deep pages stay cheap with 100,000 tasks
    paginator = CappedPaginator(tasks.values_list("pk", flat=True), PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    ids = list(page_obj.object_list)
    by_id = {t.pk: t for t in MatchTask.objects.filter(pk__in=ids).defer("explanation", "reason")
             .select_related("assignee")}
    rows = sel.queue_rows([by_id[i] for i in ids if i in by_id])
    ctx = {
        "filters": filters,
        "rows": rows,
        "page_obj": page_obj,
        "paginator": paginator,
        "entity_types": EntityType.choices,
        "bands": [(k, v[0]) for k, v in sel.SCORE_BANDS.items()],
        "users": list(sel.assignable_users()),
        "filter_qs": filters.querystring(),
        "default_sort": "-score",
        "bulk_form": BulkNotDuplicateForm(),
    }
    template = "stewardship/_queue_table.html" if request.htmx and request.htmx.target == "queue-table" \
        else "stewardship/queue.html"
    return page(request, template, ctx)


@requires("steward")
@require_POST
def queue_bulk(request):
    form = BulkNotDuplicateForm(request.POST)
    back = reverse("queue") + "?" + request.POST.get("back", "")
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        toast(request, f"Nothing changed: {errors}", level="error")
        return redirect(back)
    reason = form.cleaned_data["reason"]
    try:
        with web_action(request, f"bulk not a duplicate: {reason}") as ctx:
            n = stewardship_svc.bulk_not_duplicate(tasks=form.cleaned_data["tasks"], actor=request.user,
                                                   reason=reason)
    except ServiceError as exc:
        toast(request, f"Nothing changed: {exc.message}", level="error")
        return redirect(back)
    toast(request, f"{n} pair{'s' if n != 1 else ''} marked as not duplicates. They will not be proposed again.",
          link=audit_url(ctx.correlation_id), link_text="See history")
    return redirect(back)


@requires("steward")
@require_POST
def task_assign(request, pk):
    task = get_object_or_404(MatchTask, pk=pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Choose a person to assign the task to.")
    assignee_id = form.cleaned_data.get("assignee")
    if request.POST.get("claim"):
        assignee = request.user
    elif assignee_id:
        assignee = sel.assignable_users().filter(pk=assignee_id).first()
        if assignee is None:
            return HttpResponseBadRequest("That person cannot take review tasks.")
    else:
        assignee = None
    with web_action(request, "claimed" if assignee == request.user else "assigned"):
        task = stewardship_svc.assign(task=task, assignee=assignee, actor=request.user)
    if request.htmx:
        return page(request, "stewardship/_assignee.html", {"task": task, "users": list(sel.assignable_users())})
    who = "you" if assignee == request.user else (assignee.username if assignee else "nobody")
    toast(request, f"Task #{task.pk} assigned to {who}.")
    nxt = request.POST.get("next", "")
    if nxt.startswith("/") and not nxt.startswith("//"):
        return redirect(nxt)
    return redirect(reverse("queue") + "?" + request.POST.get("back", ""))


def _compare_context(request, task, filters, form=None):
    model = golden_model(task.entity_type)
    records = {str(r.pk): r for r in model.objects.filter(pk__in=[task.golden_a, task.golden_b])}
    a, b = records.get(str(task.golden_a)), records.get(str(task.golden_b))
    if a is None or b is None:
        raise Http404("One of the two records no longer exists")
    rows = sel.compare_rows(a, b)
    xrefs = sel.xrefs_by_golden([(task.entity_type, a.pk), (task.entity_type, b.pk)])
    try:
        from mdm.services.matching import score_goldens

        score_now, explanation = score_goldens(task.entity_type, a, b)
    except Exception:  # noqa: BLE001 - the stored explanation is still worth showing
        score_now, explanation = None, task.explanation
    if not explanation:
        explanation = task.explanation
    prev_id, next_id = sel.neighbours(task, filters, request.user)
    survivor_default = "a" if (a.created_at, str(a.pk)) <= (b.created_at, str(b.pk)) else "b"
    form = form or DecisionForm(initial={"survivor": survivor_default})
    return {
        "task": task, "a": a, "b": b, "rows": rows,
        "differences": sum(1 for r in rows if not r.same),
        "xrefs_a": xrefs.get(str(a.pk), []), "xrefs_b": xrefs.get(str(b.pk), []),
        "explanation": explanation, "steps": waterfall_steps(explanation), "score_now": score_now,
        "prev_id": prev_id, "next_id": next_id, "filters": filters, "filter_qs": filters.querystring(),
        "form": form, "survivor_default": survivor_default, "users": list(sel.assignable_users()),
        "cluster": sel.cluster(task),
        "decidable": task.status in sel.OPEN_STATUSES and a.state in golden_svc.LIVE_STATES
        and b.state in golden_svc.LIVE_STATES,
        "reasons": {
            "merge": ["Same organisation", "Same tax id", "Same company, name spelt differently",
                      "Same contract", "Same project"],
            "not_duplicate": ["Different companies", "Group members: parent and subsidiary",
                              "Different contracts", "Different projects"],
            "defer": ["Need to check with the account owner", "Waiting for finance"],
        },
    }


@login_required
@require_GET
def task_compare(request, pk):
    task = get_object_or_404(MatchTask, pk=pk)
    filters = sel.QueueFilters.from_query(request.GET)
    return page(request, "stewardship/compare.html", _compare_context(request, task, filters))


@requires("steward")
@require_POST
def task_decide(request, pk):
    task = get_object_or_404(MatchTask, pk=pk)
    filters = sel.QueueFilters.from_query(request.GET)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return page(request, "stewardship/compare.html", _compare_context(request, task, filters, form), status=400)
    action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
    model = golden_model(task.entity_type)
    try:
        with web_action(request, reason) as ctx:
            if action == "merge":
                a = model.objects.get(pk=task.golden_a)
                b = model.objects.get(pk=task.golden_b)
                ids = {"a": a.pk, "b": b.pk}
                defaults = sel.default_picks(sel.compare_rows(a, b))
                picks = {}
                for field, default_side in defaults.items():
                    chosen = request.POST.get(f"pick_{field}", default_side)
                    if chosen not in ids:
                        raise ServiceError(f"Choose record A or B for {field}", field=None)
                    if chosen != default_side:
                        picks[field] = ids[chosen]
                survivor = form.cleaned_data.get("survivor") or (
                    "a" if (a.created_at, str(a.pk)) <= (b.created_at, str(b.pk)) else "b")
                event = stewardship_svc.merge_task(task=task, survivor_id=ids[survivor], picks=picks,
                                                   actor=request.user, reason=reason)
                survivor_record = model.objects.get(pk=event.survivor_id)
                toast(request, f"Merged into {survivor_record}"
                      + (f" with {len(picks)} field{'s' if len(picks) != 1 else ''} picked by hand" if picks else "")
                      + ".", link=reverse("merge", args=[event.pk]), link_text="See the merge", undo=event.pk)
            elif action == "not_duplicate":
                stewardship_svc.not_duplicate(task=task, actor=request.user, reason=reason)
                toast(request, f"Task #{task.pk}: not a duplicate. The pair will not be proposed again.",
                      link=audit_url(ctx.correlation_id), link_text="See history")
            else:
                stewardship_svc.defer(task=task, actor=request.user, reason=reason)
                toast(request, f"Task #{task.pk} deferred.", link=audit_url(ctx.correlation_id),
                      link_text="See history")
    except ConflictError as exc:
        add_service_error(form, exc)
        return page(request, "stewardship/compare.html", _compare_context(request, task, filters, form), status=409)
    except ServiceError as exc:
        add_service_error(form, exc)
        task.refresh_from_db()
        return page(request, "stewardship/compare.html", _compare_context(request, task, filters, form), status=400)
    task.refresh_from_db()
    nxt = sel.next_task_after(task, filters, request.user)
    qs = filters.querystring()
    if nxt:
        return redirect(reverse("task", args=[nxt]) + (f"?{qs}" if qs else ""))
    toast(request, "The queue is clear. Nothing else is waiting for review with these filters.", level="info")
    return redirect(reverse("queue") + (f"?{qs}" if qs else ""))


# --- merges --------------------------------------------------------------------------

@login_required
@require_GET
def merge_detail(request, pk):
    event = get_object_or_404(MergeEvent, pk=pk)
    records = sel.goldens_by_id([(event.entity_type, event.survivor_id)]
                                + [(event.entity_type, gid) for gid in event.merged_ids])
    return page(request, "stewardship/merge.html", {
        "event": event,
        "survivor": records.get(str(event.survivor_id)),
        "merged": [records.get(str(gid)) for gid in event.merged_ids],
        "picks": [(field, records.get(str(gid))) for field, gid in (event.picks or {}).items()],
        "activity": sel.recent_activity(50, correlation_id=event.correlation_id),
        "form": VersionedReasonForm(initial={"version": 1}),
    })


@requires("steward")
@require_POST
def merge_undo(request, pk):
    event = get_object_or_404(MergeEvent, pk=pk)
    reason = (request.POST.get("reason") or "").strip()
    try:
        with web_action(request, reason) as ctx:
            records = stewardship_svc.unmerge(event=event, actor=request.user, reason=reason)
    except ServiceError as exc:
        toast(request, f"The merge was not undone: {exc.message}", level="error")
        return redirect("merge", pk=event.pk)
    toast(request, f"Merge undone: {len(records)} records restored.", link=audit_url(ctx.correlation_id),
          link_text="See history")
    return redirect(record_url(records[0]))


# --- golden records ------------------------------------------------------------------

LIST_COLUMNS = {
    EntityType.CUSTOMER: [("legal_name", "Name"), ("tax_id", "Tax id"), ("country", "Country"),
                          ("city", "City"), ("currency", "Currency")],
    EntityType.LEGAL_ENTITY: [("code", "Code"), ("name", "Name"), ("country", "Country"),
                              ("base_currency", "Currency"), ("tax_registration", "Tax registration")],
    EntityType.CONTRACT: [("number", "Number"), ("title", "Title"), ("billing_model", "Billing model"),
                          ("value", "Value"), ("currency", "Currency"), ("start_date", "Start")],
    EntityType.PROJECT: [("code", "Code"), ("name", "Name"), ("manager", "Manager"),
                         ("budget", "Budget"), ("currency", "Currency"), ("start_date", "Start")],
}
SIDE_FILTERS = {
    EntityType.CUSTOMER: ["q", "state", "is_valid", "country", "currency", "system", "industry", "has_parent"],
    EntityType.LEGAL_ENTITY: ["q", "state", "is_valid", "country", "system"],
    EntityType.CONTRACT: ["q", "state", "is_valid", "billing_model", "currency", "status", "customer_name",
                          "system"],
    EntityType.PROJECT: ["q", "state", "is_valid", "billing_model", "status", "customer_name", "manager",
                         "system"],
}
NUMERIC = {"value", "budget"}


@login_required
@require_GET
def records(request, slug):
    entity_type = entity_from_slug(slug)
    model = golden_model(entity_type)
    columns = LIST_COLUMNS[entity_type]
    sortable = {c for c, _ in columns} | {"state", "updated_at"}
    sort = request.GET.get("sort", "-updated_at")
    if sort.lstrip("-") not in sortable:
        sort = "-updated_at"
    base = model.objects.all()
    if "state" not in request.GET:
        base = base.exclude(state=LifecycleState.MERGED)
    fs = filterset_for(entity_type)(request.GET or None, queryset=base,
                                    passthrough=("page", "sort", "export"))
    errors = None
    if fs.is_bound and not fs.is_valid():
        errors = fs.errors
        qs = model.objects.none()
    else:
        qs = fs.qs
    qs = qs.order_by(sort, "id")
    if request.GET.get("export") == "csv":
        return _export_csv(entity_type, qs[:10000])
    paginator = Paginator(qs, PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    form = fs.form
    _friendlier_widgets(form)
    side = [form[name] for name in SIDE_FILTERS[entity_type] if name in form.fields]
    rows = [(r, [str(r)] + [getattr(r, c) for c, _ in columns[1:]]) for r in page_obj.object_list]
    return page(request, "stewardship/records.html", {
        "entity_type": entity_type, "entity_label": model._meta.verbose_name_plural.capitalize(),
        "entity_singular": model._meta.verbose_name,
        "slug": slug, "columns": columns, "numeric": NUMERIC, "rows": rows, "page_obj": page_obj,
        "paginator": paginator, "filter_fields": side, "filter_errors": errors, "default_sort": "-updated_at",
        "filtered": any(k not in ("page", "sort") for k in request.GET),
    }, status=400 if errors else 200)


def _friendlier_widgets(form) -> None:
    """Checkboxes for the lifecycle states and "Any / Yes / No" for yes-no
    filters (the shared FilterSet's widgets say "Unknown")."""
    from django import forms as dj_forms

    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, dj_forms.NullBooleanSelect):
            widget.choices = (("", "Any"), ("true", "Yes"), ("false", "No"))
        elif isinstance(widget, dj_forms.SelectMultiple) and name == "state":
            field.widget = dj_forms.CheckboxSelectMultiple(choices=widget.choices)


def _export_csv(entity_type, qs):
    from mdm import canonical
    from mdm.services.golden import golden_values

    names = canonical.field_names(entity_type)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{entity_type}.csv"'
    writer = csv.writer(response)
    writer.writerow(["id", "state", "version", *names])
    for r in qs:
        values = golden_values(r)
        writer.writerow([r.pk, r.state, r.version, *[values.get(n) or "" for n in names]])
    return response


@login_required
@require_GET
def record_detail(request, slug, pk):
    record = get_record(slug, pk)
    return page(request, "stewardship/record.html", _record_context(request, record))


def _record_context(request, record, **extra):
    issues = sel.issues_for(record)
    can = abilities(request)
    xrefs = list(CrossReference.objects.filter(entity_type=record.entity_type, golden_id=record.pk)
                 .select_related("system", "source_record").order_by("role", "system__trust_rank"))
    sources = [x.source_record for x in xrefs if x.role == XrefRole.SOURCE and x.source_record_id]
    open_tasks = list(golden_svc.open_tasks(record).order_by("-score")[:20])
    four_eyes_block = (settings.MDM_FOUR_EYES and record.last_edited_by_id == request.user.pk
                       and record.state == LifecycleState.PENDING)
    ctx = {
        "record": record, "slug": sel.ENTITY_SLUGS[record.entity_type],
        "entity_label": type(record)._meta.verbose_name.capitalize(),
        "entity_plural": type(record)._meta.verbose_name_plural.capitalize(),
        "lineage": sel.lineage_rows(record, issues), "issues": issues, "xrefs": xrefs, "sources": sources,
        "hierarchy": sel.hierarchy(record), "related": sel.related(record),
        "history": sel.history_timeline(record), "merges": sel.merges_for(record),
        "open_tasks": open_tasks,
        "merged_into": sel.goldens_by_id([(record.entity_type, record.merged_into_id)]).get(
            str(record.merged_into_id)) if record.merged_into_id else None,
        "live": record.state in golden_svc.LIVE_STATES,
        "can_approve_now": can.approve and record.state == LifecycleState.PENDING and not four_eyes_block,
        "four_eyes_block": four_eyes_block and can.approve,
        "approve_form": ApproveForm(initial={"version": record.version}),
        "since_approval": sel.changes_since_approval(record),
        "deliveries": _deliveries(record),
    }
    ctx.update(extra)
    return ctx


def _deliveries(record):
    """The record's deliveries to downstream systems (the sync app's), or
    None when the sync app is not installed."""
    try:
        from sync.selectors import deliveries_for
        from sync.views import BADGE
    except ImportError:
        return None
    try:
        rows = list(deliveries_for(record.entity_type, record.pk)[:50])
    except Exception:  # noqa: BLE001 - the record page must not fail because of the sync panel
        import logging

        logging.getLogger(__name__).exception("deliveries panel failed")
        return None
    for d in rows:
        d.badge = BADGE.get(d.status, "")
    return rows


@requires("approve")
@require_POST
def record_approve(request, slug, pk):
    record = get_record(slug, pk)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        return page(request, "stewardship/record.html",
                    _record_context(request, record, approve_form=form), status=400)
    reason = form.cleaned_data.get("reason") or "approved"
    try:
        with web_action(request, reason):
            record = golden_svc.approve(record, actor=request.user,
                                        expected_version=form.cleaned_data["version"])
    except ConflictError as exc:
        form.add_error(None, exc.message)
        record.refresh_from_db()
        return page(request, "stewardship/record.html", _record_context(request, record, approve_form=form),
                    status=409)
    except ServiceError as exc:
        form.add_error(None, exc.message)
        record.refresh_from_db()
        return page(request, "stewardship/record.html", _record_context(request, record, approve_form=form),
                    status=400)
    toast(request, f"{record} approved and published to subscribed systems.",
          link=record_url(record) + "#history", link_text="See history")
    nxt = request.POST.get("next", "")
    return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else record_url(record))


@requires("steward")
def record_edit(request, slug, pk):
    record = get_record(slug, pk)
    overrides = {o.field: o for o in ManualOverride.objects.filter(entity_type=record.entity_type,
                                                                    golden_id=record.pk)}
    if request.method == "POST":
        form = GoldenEditForm(request.POST, record=record, overrides=overrides)
        status = 400
        if form.is_valid():
            changes = form.changes()
            if not changes:
                form.add_error(None, "Nothing changed: edit a value or clear a manual value first.")
            else:
                try:
                    with web_action(request, form.cleaned_data["reason"]):
                        record = golden_svc.edit(record, actor=request.user, changes=changes,
                                                 reason=form.cleaned_data["reason"],
                                                 expected_version=form.cleaned_data["version"])
                    toast(request, f"{len(changes)} field{'s' if len(changes) != 1 else ''} changed on {record}; "
                          "the record now waits for approval by someone else." if settings.MDM_FOUR_EYES else
                          f"{len(changes)} field(s) changed on {record}.",
                          link=record_url(record) + "#history", link_text="See history")
                    return redirect(record_url(record))
                except ConflictError as exc:
                    add_service_error(form, exc)
                    status = 409
                except ServiceError as exc:
                    add_service_error(form, exc)
        return page(request, "stewardship/edit.html", _edit_context(record, form, overrides), status=status)
    if record.state not in golden_svc.LIVE_STATES:
        toast(request, f"A {record.state} record cannot be edited.", level="error")
        return redirect(record_url(record))
    form = GoldenEditForm(record=record, overrides=overrides)
    return page(request, "stewardship/edit.html", _edit_context(record, form, overrides,
                                                                focus=request.GET.get("field", "")))


def _edit_context(record, form, overrides, focus=""):
    current = record.__class__.objects.filter(pk=record.pk).values_list("version", flat=True).first()
    return {"record": record, "form": form, "overrides": overrides, "focus": focus,
            "slug": sel.ENTITY_SLUGS[record.entity_type],
            "entity_plural": type(record)._meta.verbose_name_plural.capitalize(),
            "issues": {i.field: i for i in sel.issues_for(record)}, "current_version": current}


@requires("steward")
def record_retire(request, slug, pk):
    record = get_record(slug, pk)
    if request.method == "POST":
        form = VersionedReasonForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                with web_action(request, form.cleaned_data["reason"]):
                    record = golden_svc.retire(record, actor=request.user, reason=form.cleaned_data["reason"],
                                               expected_version=form.cleaned_data["version"])
                toast(request, f"{record} retired. Downstream systems are told.",
                      link=record_url(record) + "#history", link_text="See history")
                return redirect(record_url(record))
            except ConflictError as exc:
                add_service_error(form, exc)
                status = 409
            except ServiceError as exc:
                add_service_error(form, exc)
    else:
        form = VersionedReasonForm(initial={"version": record.version})
        status = 200
    return page(request, "stewardship/retire.html", {
        "record": record, "form": form, "slug": slug,
        "entity_plural": type(record)._meta.verbose_name_plural.capitalize(),
        "references": sel.related(record),
    }, status=status)


@requires("steward")
def record_split(request, slug, pk, source_pk):
    record = get_record(slug, pk)
    source = get_object_or_404(SourceRecord.objects.select_related("system"), pk=source_pk,
                               xref__golden_id=record.pk, xref__entity_type=record.entity_type)
    siblings = sel.sources_for(record)
    status = 200
    if request.method == "POST":
        form = SplitForm(request.POST)
        status = 400
        if form.is_valid():
            into = None
            into_id = (form.cleaned_data.get("into") or "").strip()
            if into_id:
                into = golden_model(record.entity_type).objects.filter(pk=sel.as_uuid(into_id)).first() \
                    if sel.as_uuid(into_id) else None
                if into is None:
                    form.add_error("into", "No such golden record of this kind.")
            if not form.errors:
                try:
                    with web_action(request, form.cleaned_data["reason"]):
                        target = stewardship_svc.split(source_record=source, actor=request.user,
                                                       reason=form.cleaned_data["reason"], into=into)
                    toast(request, f"{source} moved out into {target}. The two will not be proposed as "
                          "duplicates again.", link=record_url(target) + "#history", link_text="Open it")
                    return redirect(record_url(record))
                except ServiceError as exc:
                    add_service_error(form, exc)
    else:
        form = SplitForm()
    return page(request, "stewardship/split.html", {
        "record": record, "source": source, "siblings": siblings, "form": form, "slug": slug,
        "entity_plural": type(record)._meta.verbose_name_plural.capitalize(),
    }, status=status)


# --- exception queue and flagged overrides ----------------------------------------------

@login_required
@require_GET
def exceptions(request):
    entity = request.GET.get("entity", "")
    issues_qs = ValidationIssue.objects.all()
    if entity in EntityType.values:
        issues_qs = issues_qs.filter(entity_type=entity)
    rule = request.GET.get("rule", "")
    if rule:
        issues_qs = issues_qs.filter(rule=rule)
    paginator = Paginator(issues_qs.order_by("rule", "entity_type", "created_at", "id"), 100)
    page_obj = paginator.get_page(request.GET.get("page"))
    issues = list(page_obj.object_list)
    records = sel.goldens_by_id([(i.entity_type, i.golden_id) for i in issues])
    groups: dict[str, dict] = {}
    for i in issues:
        g = groups.setdefault(i.rule, {"rule": i.rule, "label": RULE_LABELS.get(i.rule, i.rule), "items": []})
        g["items"].append((i, records.get(str(i.golden_id))))
    from django.db.models import Count

    totals = list(ValidationIssue.objects.values("rule").annotate(n=Count("id")).order_by("-n", "rule"))
    for t in totals:
        t["label"] = RULE_LABELS.get(t["rule"], t["rule"])
    return page(request, "stewardship/exceptions.html", {
        "groups": list(groups.values()), "page_obj": page_obj, "paginator": paginator, "totals": totals,
        "entity": entity, "rule": rule, "entity_types": EntityType.choices,
    })


@login_required
@require_GET
def overrides(request):
    flagged = list(ManualOverride.objects.filter(flagged=True).order_by("-flagged_at", "id")[:200])
    records = sel.goldens_by_id([(o.entity_type, o.golden_id) for o in flagged])
    return page(request, "stewardship/overrides.html", {
        "items": [(o, records.get(str(o.golden_id))) for o in flagged],
        "form": OverrideDecisionForm(),
    })


@requires("steward")
@require_POST
def override_decide(request, pk):
    override = get_object_or_404(ManualOverride, pk=pk, flagged=True)
    form = OverrideDecisionForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        toast(request, f"Nothing changed: {errors}", level="error")
        return redirect("overrides")
    keep = form.cleaned_data["decision"] == "keep"
    try:
        with web_action(request, form.cleaned_data["reason"]):
            record = golden_svc.accept_override_change(override, actor=request.user, keep=keep,
                                                       reason=form.cleaned_data["reason"])
    except ServiceError as exc:
        toast(request, f"Nothing changed: {exc.message}", level="error")
        return redirect("overrides")
    toast(request, ("Kept the manual value" if keep else "Dropped the manual value; the rules decide again")
          + f" on {record}.", link=record_url(record) + "#history", link_text="See history")
    return redirect("overrides")


# --- search, audit, sync ------------------------------------------------------------------

@login_required
@require_GET
def search(request):
    q = request.GET.get("q", "").strip()[:200]
    results = sel.find_goldens(q, limit=50) if q else []
    if len(results) == 1:
        return redirect(record_url(results[0]))
    return page(request, "stewardship/search.html", {"q": q, "results": results})


@login_required
@require_GET
def audit(request):
    correlation = request.GET.get("correlation", "").strip()[:64]
    actor = request.GET.get("actor", "").strip()[:150]
    origin = request.GET.get("origin", "")
    if origin not in Origin.values:
        origin = ""
    entity = request.GET.get("entity", "")
    if entity not in EntityType.values:
        entity = ""
    activity = sel.recent_activity(100, actor=actor, origin=origin, correlation_id=correlation,
                                   entity_type=entity)
    merges = MergeEvent.objects.all()
    if correlation:
        merges = merges.filter(correlation_id=correlation)
    if entity:
        merges = merges.filter(entity_type=entity)
    merges = list(merges.select_related("actor")[:20])
    return page(request, "stewardship/audit.html", {
        "activity": activity, "merges": merges, "correlation": correlation, "actor": actor, "origin": origin,
        "entity": entity, "origins": Origin.choices, "entity_types": EntityType.choices,
        "actors": list(User.objects.filter(is_active=True).order_by("username").values_list("username", flat=True)
                       [:200]),
    })
