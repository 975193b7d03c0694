"""Reads behind the workbench pages (HackSoft-style selectors).

Every list here loads a page of rows and then the golden records and
cross-references for that page in one query per entity type, so the number
of queries does not grow with the page size."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db.models import Count, Q

from mdm import canonical, survivorship
from mdm.choices import EntityType, LifecycleState, TaskStatus, XrefRole
from mdm.models import (
    GOLDEN_MODELS,
    CrossReference,
    ManualOverride,
    MatchTask,
    MergeEvent,
    SourceRecord,
    ValidationIssue,
    golden_model,
)
from mdm.validation import RULE_LABELS

OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.DEFERRED)
ENTITY_SLUGS = {
    EntityType.CUSTOMER: "customers",
    EntityType.LEGAL_ENTITY: "legal-entities",
    EntityType.CONTRACT: "contracts",
    EntityType.PROJECT: "projects",
}
SLUG_ENTITIES = {v: k for k, v in ENTITY_SLUGS.items()}
# Name-like fields searched by the global search box and the queue search.
SEARCH_FIELDS = {
    EntityType.CUSTOMER: ("legal_name", "trading_name"),
    EntityType.LEGAL_ENTITY: ("name", "code"),
    EntityType.CONTRACT: ("number", "title"),
    EntityType.PROJECT: ("code", "name"),
}
TAX_FIELDS = {EntityType.CUSTOMER: "tax_id", EntityType.LEGAL_ENTITY: "tax_registration"}
SCORE_BANDS = {
    "high": ("0.9 and above", 0.9, None),
    "medium": ("0.75 – 0.9", 0.75, 0.9),
    "low": ("below 0.75", None, 0.75),
}
QUEUE_SORTS = {  # "-score" (best first) is the default
    "-score": ("-score", "created_at", "id"),
    "score": ("score", "created_at", "id"),
    "age": ("created_at", "id"),
    "-age": ("-created_at", "-id"),
    "entity": ("entity_type", "-score", "id"),
}


def as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


# --- golden records by id, in bulk ------------------------------------------------

def goldens_by_id(refs) -> dict[str, object]:
    """``refs``: iterable of (entity type, golden id) → {str(id): record},
    one query per entity type present."""
    wanted: dict[str, set] = defaultdict(set)
    for entity_type, gid in refs:
        if gid:
            wanted[entity_type].add(str(gid))
    out = {}
    for entity_type, ids in wanted.items():
        for record in golden_model(entity_type).objects.filter(pk__in=ids):
            out[str(record.pk)] = record
    return out


def xrefs_by_golden(refs) -> dict[str, list[CrossReference]]:
    """Cross-references of many golden records in one query."""
    by_type: dict[str, set] = defaultdict(set)
    for entity_type, gid in refs:
        by_type[entity_type].add(str(gid))
    if not by_type:
        return {}
    q = Q()
    for entity_type, ids in by_type.items():
        q |= Q(entity_type=entity_type, golden_id__in=ids)
    out: dict[str, list] = defaultdict(list)
    for x in CrossReference.objects.filter(q).select_related("system").order_by("system__trust_rank", "external_id"):
        out[str(x.golden_id)].append(x)
    return out


# --- the review queue ---------------------------------------------------------------

@dataclass
class QueueFilters:
    entity: str = ""
    band: str = ""
    status: str = "open"
    assignee: str = ""
    q: str = ""
    sort: str = "-score"

    @classmethod
    def from_query(cls, params) -> "QueueFilters":
        f = cls(
            entity=params.get("entity", ""),
            band=params.get("band", ""),
            status=params.get("status", "open") or "open",
            assignee=params.get("assignee", ""),
            q=params.get("q", "").strip()[:100],
            sort=params.get("sort", "-score") or "-score",
        )
        if f.entity not in EntityType.values:
            f.entity = ""
        if f.band not in SCORE_BANDS:
            f.band = ""
        if f.status not in {"open", "deferred", "waiting", "decided", "all"}:
            f.status = "open"
        if f.sort not in QUEUE_SORTS:
            f.sort = "-score"
        return f

    def querystring(self, **changes) -> str:
        from urllib.parse import urlencode

        data = {**self.__dict__, **changes}
        defaults = {"status": "open", "sort": "-score"}
        return urlencode({k: v for k, v in data.items() if v not in ("", None) and defaults.get(k) != v})


def queue_tasks(filters: QueueFilters, user=None):
    qs = MatchTask.objects.all()
    if filters.entity:
        qs = qs.filter(entity_type=filters.entity)
    if filters.status == "open":
        qs = qs.filter(status=TaskStatus.OPEN)
    elif filters.status == "deferred":
        qs = qs.filter(status=TaskStatus.DEFERRED)
    elif filters.status == "waiting":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif filters.status == "decided":
        qs = qs.exclude(status__in=OPEN_STATUSES)
    if filters.band:
        _, low, high = SCORE_BANDS[filters.band]
        if low is not None:
            qs = qs.filter(score__gte=low)
        if high is not None:
            qs = qs.filter(score__lt=high)
    if filters.assignee == "me" and user is not None:
        qs = qs.filter(assignee=user)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.q:
        qs = _search_tasks(qs, filters)
    # the list never shows the explanation: leave the widest column out of the sort
    return qs.defer("explanation", "reason").order_by(*QUEUE_SORTS[filters.sort])


def _search_tasks(qs, filters: QueueFilters):
    """Tasks whose records match the search text (name, id, tax id, a system id)."""
    types = [filters.entity] if filters.entity else list(EntityType.values)
    ids = set()
    for entity_type in types:
        ids |= {str(r.pk) for r in find_goldens(filters.q, entity_types=[entity_type], limit=500)}
    if filters.q.isdigit():
        qs_id = Q(pk=int(filters.q))
    else:
        qs_id = Q(pk__in=[])
    return qs.filter(qs_id | Q(golden_a__in=ids) | Q(golden_b__in=ids))


@dataclass
class QueueRow:
    task: MatchTask
    a: object | None
    b: object | None
    systems: list[str] = field(default_factory=list)


def queue_rows(tasks) -> list[QueueRow]:
    """Decorate a page of tasks with both records and the systems involved:
    a fixed number of queries whatever the page size."""
    tasks = list(tasks)
    refs = [(t.entity_type, t.golden_a) for t in tasks] + [(t.entity_type, t.golden_b) for t in tasks]
    records = goldens_by_id(refs)
    xrefs = xrefs_by_golden(refs)
    rows = []
    for t in tasks:
        systems = sorted({x.system.code for gid in (t.golden_a, t.golden_b) for x in xrefs.get(str(gid), [])
                          if x.role == XrefRole.SOURCE})
        rows.append(QueueRow(t, records.get(str(t.golden_a)), records.get(str(t.golden_b)), systems))
    return rows


def neighbours(task: MatchTask, filters: QueueFilters, user=None) -> tuple[int | None, int | None]:
    """The previous and next waiting task around ``task`` in the queue order
    (for j/k), found with two indexed queries rather than a scan."""
    base = queue_tasks(QueueFilters(**{**filters.__dict__, "status": "open" if filters.status == "open"
                                       else "waiting"}), user).exclude(pk=task.pk)
    keys = QUEUE_SORTS[filters.sort]
    after = _position_filter(task, keys, after=True) & _bound(task, keys[0], after=True)
    before = _position_filter(task, keys, after=False) & _bound(task, keys[0], after=False)
    nxt = base.filter(after).order_by(*keys).values_list("pk", flat=True).first()
    reverse = [k[1:] if k.startswith("-") else "-" + k for k in keys]
    prv = base.filter(before).order_by(*reverse).values_list("pk", flat=True).first()
    return prv, nxt


def _bound(task, key: str, *, after: bool) -> Q:
    """A plain range on the first sort key (``score <= s``) ANDed to the
    keyset condition, so the database starts its index scan at the task
    instead of walking the whole queue to find the neighbour."""
    desc = key.startswith("-")
    name = key.lstrip("-")
    value = getattr(task, name)
    op = ("lte" if desc else "gte") if after else ("gte" if desc else "lte")
    return Q(**{f"{name}__{op}": value})


def _position_filter(task, keys, *, after: bool) -> Q:
    """Rows strictly after (or before) ``task`` in the ordering ``keys``."""
    q = Q()
    equal = Q()
    for key in keys:
        desc = key.startswith("-")
        name = key.lstrip("-")
        value = getattr(task, "pk" if name == "id" else name)
        name = "pk" if name == "id" else name
        if after:
            op = "lt" if desc else "gt"
        else:
            op = "gt" if desc else "lt"
        q |= equal & Q(**{f"{name}__{op}": value})
        equal &= Q(**{name: value})
    return q


def next_task_after(task: MatchTask, filters: QueueFilters, user=None) -> MatchTask | None:
    """The task to show once ``task`` is decided: the next waiting one in
    queue order, else the first waiting one."""
    _, nxt = neighbours(task, filters, user)
    if nxt is None:
        nxt = queue_tasks(QueueFilters(**{**filters.__dict__, "status": "open"}), user).exclude(
            pk=task.pk).values_list("pk", flat=True).first()
    return nxt


def assignable_users():
    return User.objects.filter(is_active=True, groups__name__in=("steward", "admin")).distinct().order_by("username")


# --- compare and decide -------------------------------------------------------------

@dataclass
class FieldRow:
    name: str
    label: str
    value_a: object
    value_b: object
    display_a: str
    display_b: str
    same: bool
    default: str  # "a" or "b": the side the survivorship rules would keep
    rule_system: str = ""
    rule: str = ""


def display_value(record, f: canonical.CanonicalField, refs: dict) -> str:
    if f.kind == "ref":
        gid = getattr(record, f"{f.name}_id")
        if not gid:
            return ""
        other = refs.get(str(gid))
        return str(other) if other is not None else str(gid)[:8]
    value = getattr(record, f.name)
    return "" if value in (None, "") else str(value)


def compare_rows(a, b) -> list[FieldRow]:
    """Field-by-field comparison of two golden records with the side the
    survivorship rules would keep if they were merged (computed from the
    union of both records' source records)."""
    from mdm.services.golden import _source, linked_sources

    entity_type = a.entity_type
    sources_a = list(linked_sources(a))
    sources_b = list(linked_sources(b))
    owner = {s.pk: "a" for s in sources_a} | {s.pk: "b" for s in sources_b}
    _, lineage, _ = survivorship.build(
        entity_type, [_source(s) for s in sources_a + sources_b], survivorship.rules_for(entity_type)
    )
    fields = canonical.fields_for(entity_type)
    refs = goldens_by_id(
        [(f.ref, getattr(r, f"{f.name}_id")) for f in fields if f.kind == "ref" for r in (a, b)]
    )
    rows = []
    for f in fields:
        da, db = display_value(a, f, refs), display_value(b, f, refs)
        va = getattr(a, f"{f.name}_id") if f.kind == "ref" else getattr(a, f.name)
        vb = getattr(b, f"{f.name}_id") if f.kind == "ref" else getattr(b, f.name)
        entry = lineage.get(f.name) or {}
        side = owner.get(entry.get("source_record"))
        if side is None:
            side = "a" if da or not db else "b"
        rows.append(FieldRow(f.name, f.verbose, va, vb, da, db, same=(da == db), default=side,
                             rule_system=entry.get("system") or "", rule=entry.get("rule") or ""))
    return rows


def default_picks(rows: list[FieldRow]) -> dict[str, str]:
    return {r.name: r.default for r in rows if not r.same}


# --- golden record lists and detail ---------------------------------------------------

def find_goldens(text: str, *, entity_types=None, limit: int = 50) -> list:
    """Golden records by name, golden id (or its first 8 characters), tax id
    or any system's id for them."""
    text = (text or "").strip()
    if not text:
        return []
    types = entity_types or list(EntityType.values)
    found: dict[str, object] = {}
    as_id = as_uuid(text)
    xref_ids = defaultdict(set)
    for x in CrossReference.objects.filter(external_id=text, entity_type__in=types).values_list(
            "entity_type", "golden_id")[:limit]:
        xref_ids[x[0]].add(x[1])
    for entity_type in types:
        model = golden_model(entity_type)
        q = Q()
        for name in SEARCH_FIELDS[entity_type]:
            q |= Q(**{f"{name}__icontains": text})
        if entity_type in TAX_FIELDS:
            q |= Q(**{f"{TAX_FIELDS[entity_type]}__iexact": text.replace(" ", "")})
        if as_id is not None:
            q |= Q(pk=as_id)
        if xref_ids.get(entity_type):
            q |= Q(pk__in=xref_ids[entity_type])
        for record in model.objects.filter(q).order_by("state", *SEARCH_FIELDS[entity_type][:1])[:limit]:
            found[str(record.pk)] = record
    return list(found.values())[:limit]


@dataclass
class LineageRow:
    name: str
    label: str
    value: str
    system: str
    rule: str
    source_id: str
    source_record: int | None
    at: str
    manual: bool
    override: ManualOverride | None = None
    issues: list = field(default_factory=list)


def lineage_rows(record, issues=()) -> list[LineageRow]:
    fields = canonical.fields_for(record.entity_type)
    refs = goldens_by_id([(f.ref, getattr(record, f"{f.name}_id")) for f in fields if f.kind == "ref"])
    overrides = {o.field: o for o in ManualOverride.objects.filter(entity_type=record.entity_type,
                                                                    golden_id=record.pk)}
    by_field = defaultdict(list)
    for issue in issues:
        by_field[issue.field].append(issue)
    rows = []
    for f in fields:
        entry = (record.lineage or {}).get(f.name) or {}
        rows.append(LineageRow(
            name=f.name, label=f.verbose, value=display_value(record, f, refs),
            system=entry.get("system") or "", rule=entry.get("rule") or "",
            source_id=entry.get("source_id") or "", source_record=entry.get("source_record"),
            at=entry.get("at") or "", manual=entry.get("rule") == survivorship.MANUAL,
            override=overrides.get(f.name), issues=by_field.get(f.name, []),
        ))
    return rows


def changes_since_approval(record) -> dict | None:
    """For a record whose change awaits approval: the version downstream
    readers are still served and each field that approving would change
    (label, published value, pending value).  None otherwise."""
    from mdm.services.golden import awaiting_reapproval, last_approved

    if not awaiting_reapproval(record):
        return None
    published = last_approved(type(record), [record.pk]).get(record.pk)
    if published is None:
        return None
    fields = canonical.fields_for(record.entity_type)
    refs = goldens_by_id([(f.ref, getattr(r, f"{f.name}_id")) for f in fields if f.kind == "ref"
                          for r in (record, published)])
    rows = []
    for f in fields:
        before, after = display_value(published, f, refs), display_value(record, f, refs)
        if before != after:
            rows.append({"name": f.name, "label": f.verbose, "before": before, "after": after})
    return {"version": published.version, "approved_at": published.approved_at, "rows": rows}


def issues_for(record) -> list[ValidationIssue]:
    return list(ValidationIssue.objects.filter(entity_type=record.entity_type, golden_id=record.pk))


def sources_for(record) -> list[SourceRecord]:
    from mdm.services.golden import linked_sources

    return list(linked_sources(record))


def hierarchy(record) -> dict | None:
    """Parent chain (up to 10 levels) and the children tree (2 levels) of a customer."""
    if not hasattr(record, "parent_id"):
        return None
    model = type(record)
    chain = []
    seen = {record.pk}
    parent_id = record.parent_id
    while parent_id and parent_id not in seen and len(chain) < 10:
        parent = model.objects.filter(pk=parent_id).only("id", "legal_name", "trading_name", "state",
                                                          "parent_id").first()
        if parent is None:
            break
        chain.insert(0, parent)
        seen.add(parent.pk)
        parent_id = parent.parent_id
    children = list(model.objects.filter(parent_id=record.pk).exclude(state=LifecycleState.MERGED)
                    .order_by("legal_name")[:100])
    grandchildren = defaultdict(list)
    for g in model.objects.filter(parent_id__in=[c.pk for c in children]).exclude(
            state=LifecycleState.MERGED).order_by("legal_name")[:300]:
        grandchildren[g.parent_id].append(g)
    return {"chain": chain, "children": [(c, grandchildren.get(c.pk, [])) for c in children]}


def related(record) -> list[tuple[str, list]]:
    """Other golden records that point at this one (contracts of a customer…)."""
    out = []
    for model in GOLDEN_MODELS.values():
        for f in canonical.fields_for(model.entity_type):
            if f.kind == "ref" and f.ref == record.entity_type and not (model is type(record) and f.name == "parent"):
                rows = list(model.objects.filter(**{f"{f.name}_id": record.pk}).exclude(
                    state=LifecycleState.MERGED)[:25])
                if rows:
                    out.append((f"{model._meta.verbose_name_plural.capitalize()} ({f.verbose.lower()})", rows))
    return out


HISTORY_SKIP = {"version", "lineage", "updated_at", "created_at", "is_valid", "approved_at", "approved_by",
                "last_edited_by"}


@dataclass
class HistoryEntry:
    row: object
    changes: list  # [(label, old, new)]
    kind: str


def history_timeline(record, limit: int = 50) -> list[HistoryEntry]:
    """Newest first: each history row with its per-field before/after,
    computed with simple-history's ``diff_against``."""
    fields = canonical.fields_for(record.entity_type)
    labels = {f.name: f.verbose for f in fields} | {"state": "State", "merged_into": "Merged into"}
    included = [f.name for f in fields] + ["state", "merged_into"]
    rows = list(record.history.select_related("history_user").order_by("-history_date", "-history_id")[:limit + 1])
    refs = _refs(fields)
    ref_types = {f.name: f.ref for f in fields if f.kind == "ref"} | {"merged_into": record.entity_type}
    out = []
    for i, row in enumerate(rows[:limit]):
        prev = rows[i + 1] if i + 1 < len(rows) else None
        if prev is None:
            changes = [(labels[n], "", _hist_value(getattr(row, n + "_id" if n in _refs(fields) else n, None)))
                       for n in included if _hist_value(getattr(row, n + "_id" if n in _refs(fields) else n, None))
                       and n != "state"]
            kind = "created" if row.history_type == "+" else "changed"
        else:
            delta = row.diff_against(prev, included_fields=included)
            changes = [(labels.get(c.field, c.field), _hist_value(c.old), _hist_value(c.new)) for c in delta.changes]
            kind = "changed"
        if row.history_type == "-":
            kind = "deleted"
        out.append(HistoryEntry(row=row, changes=changes, kind=kind))
    # show referenced records by name, not by golden id (one query per entity type)
    wanted = [(ref_types[n], v) for e in out for (label, old, new) in e.changes for n in refs
              if labels.get(n) == label for v in (old, new) if as_uuid(v)]
    names = {k: str(v) for k, v in goldens_by_id(wanted).items()}
    for e in out:
        e.changes = [(label, names.get(old, old), names.get(new, new)) for (label, old, new) in e.changes]
    return out


def _refs(fields):
    return {f.name for f in fields if f.kind == "ref"} | {"merged_into"}


def _hist_value(value) -> str:
    if value in (None, ""):
        return ""
    return str(value)


def merges_for(record) -> list[MergeEvent]:
    """Merges this record took part in, as survivor or as a merged record
    (the survivors it was ever merged into are on its own history)."""
    sid = str(record.pk)
    survivors = {record.pk} | set(
        record.history.exclude(merged_into_id=None).values_list("merged_into_id", flat=True).distinct()[:20])
    events = MergeEvent.objects.filter(entity_type=record.entity_type, survivor_id__in=survivors)[:50]
    return [e for e in events if str(e.survivor_id) == sid or sid in (e.merged_ids or [])][:20]


# --- dashboard ---------------------------------------------------------------------------

def dashboard_numbers() -> dict:
    open_by_type = dict(MatchTask.objects.filter(status=TaskStatus.OPEN).values_list("entity_type")
                        .annotate(n=Count("id")).values_list("entity_type", "n"))
    deferred = MatchTask.objects.filter(status=TaskStatus.DEFERRED).count()
    rules = list(ValidationIssue.objects.values("rule").annotate(n=Count("id")).order_by("-n", "rule"))
    for r in rules:
        r["label"] = RULE_LABELS.get(r["rule"], r["rule"].replace("_", " ").capitalize())
    pending = []
    for entity_type, model in GOLDEN_MODELS.items():
        counts = dict(model.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
        pending.append({"entity_type": entity_type, "label": EntityType(entity_type).label,
                        "slug": ENTITY_SLUGS[entity_type], "counts": counts,
                        "pending": counts.get(LifecycleState.PENDING, 0),
                        "approved": counts.get(LifecycleState.APPROVED, 0)})
    return {
        "open_tasks": sum(open_by_type.values()),
        "open_by_type": [(EntityType(k).label, v) for k, v in sorted(open_by_type.items())],
        "deferred": deferred,
        "rules": rules,
        "exceptions": sum(r["n"] for r in rules),
        "pending": pending,
        "pending_total": sum(p["pending"] for p in pending),
        "flagged": ManualOverride.objects.filter(flagged=True).count(),
    }


@dataclass
class Activity:
    when: object
    entity_type: str
    record_id: str
    record_label: str
    history_type: str
    origin: str
    actor: str
    reason: str
    correlation_id: str


def recent_activity(limit: int = 12, *, actor: str = "", origin: str = "", correlation_id: str = "",
                    entity_type: str = "") -> list[Activity]:
    """The newest changes to golden records across the four entity types."""
    out = []
    for et, model in GOLDEN_MODELS.items():
        if entity_type and et != entity_type:
            continue
        qs = model.history.all()
        if actor:
            qs = qs.filter(history_actor=actor)
        if origin:
            qs = qs.filter(history_origin=origin)
        if correlation_id:
            qs = qs.filter(history_correlation_id=correlation_id)
        for row in qs.order_by("-history_date")[:limit]:
            out.append(Activity(row.history_date, et, str(row.id), str(row.instance), row.history_type,
                                row.history_origin, row.history_actor, row.history_change_reason or "",
                                row.history_correlation_id))
    out.sort(key=lambda a: a.when, reverse=True)
    return out[:limit]


def cluster(task: MatchTask, limit: int = 12) -> dict:
    """The pair and every other open suspected duplicate touching either
    record: the nodes and match links of the small cluster graph."""
    ids = {str(task.golden_a), str(task.golden_b)}
    links = list(
        MatchTask.objects.filter(entity_type=task.entity_type, status__in=OPEN_STATUSES)
        .filter(Q(golden_a__in=ids) | Q(golden_b__in=ids)).exclude(pk=task.pk)
        .only("id", "golden_a", "golden_b", "score").order_by("-score", "id")[:limit]
    )
    edges = [(str(task.golden_a), str(task.golden_b), task.score, task.pk, True)]
    edges += [(str(t.golden_a), str(t.golden_b), t.score, t.pk, False) for t in links]
    node_ids = [str(task.golden_a), str(task.golden_b)]
    for a, b, *_ in edges[1:]:
        for n in (a, b):
            if n not in node_ids:
                node_ids.append(n)
    records = goldens_by_id([(task.entity_type, n) for n in node_ids[2:]])
    return {"nodes": node_ids, "edges": edges, "records": records}
