"""Reading the audit trail (selectors): the global log, a record's timeline,
a record as it was on a past date, a merge's story.  Nothing here writes.

The global log reads ``AuditEntry`` — one indexed row per sealed history row
across every history table — newest first with keyset pagination on
``(history_date, seq)``, so page 10,000 costs what page 1 costs.  Timelines
and point-in-time views read the history tables themselves.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from mdm.audit_chain import ERASURE_LABEL, NOISE_FIELDS, history_model, history_models
from mdm.models import AuditEntry, AuditErasure, CrossReference, GoldenRecord, MergeEvent

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
COUNT_CAP = 1_000
FILTER_PARAMS = ("entity", "record", "actor", "origin", "correlation", "field", "since", "until", "type")
HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted", "E": "erasure"}


class FilterError(ValueError):
    """Bad filter input; ``errors`` maps parameter → messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def entity_choices() -> list[tuple[str, str]]:
    """Every chained table, as (label, human name)."""
    out = [(label, str(hm.instance_type._meta.verbose_name).capitalize()) for label, hm in history_models().items()]
    return sorted(out, key=lambda c: c[1]) + [(ERASURE_LABEL, "Erasure of personal data")]


def entity_label(value: str) -> str:
    """Accept ``mdm.customer``, ``customer`` or ``legal_entity`` (an entity type)."""
    value = (value or "").strip().lower()
    if not value:
        return ""
    labels = [c[0] for c in entity_choices()]
    if value in labels:
        return value
    short = value.replace("_", "").replace("-", "")
    for label in labels:  # "customer", "legal_entity", "subscription"
        if label.split(".", 1)[1] == short:
            return label
    raise FilterError({"entity": [f"unknown entity type '{value}'"]})


@dataclass
class LogFilter:
    entity: str = ""
    record: str = ""
    actor: str = ""
    origin: str = ""
    correlation: str = ""
    field: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive
    type: str = ""

    @classmethod
    def from_params(cls, params, *, strict: bool = False) -> LogFilter:
        """Build from a query string.  ``strict`` refuses unknown parameters
        (the API); dates are ``YYYY-MM-DD`` (``until`` inclusive) or ISO times."""
        errors: dict[str, list[str]] = {}
        if strict:
            unknown = sorted(set(params) - set(FILTER_PARAMS) - {"after", "limit"})
            for name in unknown:
                errors[name] = ["unknown filter parameter"]
        f = cls()
        get = lambda k: (params.get(k) or "").strip()  # noqa: E731
        try:
            f.entity = entity_label(get("entity"))
        except FilterError as exc:
            errors.update(exc.errors)
        f.record, f.actor, f.origin = get("record")[:64], get("actor")[:150], get("origin")[:16]
        f.correlation, f.field = get("correlation")[:64], get("field")[:64]
        f.type = get("type")
        if f.type and f.type not in HISTORY_TYPES:
            errors["type"] = [f"must be one of {', '.join(HISTORY_TYPES)}"]
        for name in ("since", "until"):
            raw = get(name)
            if not raw:
                continue
            when = _parse_when(raw, end_of_day=(name == "until"))
            if when is None:
                errors[name] = ["not a date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM)"]
            setattr(f, name, when)
        if f.since and f.until and f.since >= f.until:
            errors["until"] = ["must be after 'since'"]
        if errors:
            raise FilterError(errors)
        return f

    def as_params(self) -> dict:
        out = {k: getattr(self, k) for k in ("entity", "record", "actor", "origin", "correlation", "field", "type")}
        if self.since:
            out["since"] = self.since.isoformat()
        if self.until:
            out["until"] = (self.until - dt.timedelta(microseconds=1)).isoformat()
        return {k: v for k, v in out.items() if v}


def _parse_when(raw: str, *, end_of_day: bool) -> dt.datetime | None:
    try:
        moment = parse_datetime(raw)
        if moment is None:
            day = parse_date(raw)
            if day is None:
                return None
            moment = dt.datetime.combine(day + dt.timedelta(days=1 if end_of_day else 0), dt.time.min)
        elif end_of_day:
            moment += dt.timedelta(microseconds=1)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.timezone.utc)
    return moment


def log_queryset(f: LogFilter):
    qs = AuditEntry.objects.all()
    if f.entity:
        qs = qs.filter(model=f.entity)
    if f.record:
        qs = qs.filter(object_id=f.record)
    if f.actor:
        qs = qs.filter(actor=f.actor)
    if f.origin:
        qs = qs.filter(origin=f.origin)
    if f.correlation:
        qs = qs.filter(correlation_id=f.correlation)
    if f.type:
        qs = qs.filter(history_type=f.type)
    if f.since:
        qs = qs.filter(history_date__gte=f.since)
    if f.until:
        qs = qs.filter(history_date__lt=f.until)
    if f.field:
        if connection.vendor == "postgresql":
            qs = qs.filter(changed_fields__contains=[f.field])  # GIN (jsonb_path_ops)
        else:
            qs = qs.annotate(_cf=Cast("changed_fields", TextField())).filter(_cf__contains=f'"{f.field}"')
    return qs


def encode_cursor(entry) -> str:
    raw = f"{entry.history_date.isoformat()}|{entry.seq}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        when, seq = raw.rsplit("|", 1)
        moment = dt.datetime.fromisoformat(when)
        if timezone.is_naive(moment):
            raise ValueError
        return moment, int(seq)
    except (ValueError, UnicodeDecodeError):
        raise FilterError({"after": ["not a cursor from this log"]}) from None


@dataclass
class LogPage:
    entries: list
    next_cursor: str | None
    count: int | None
    count_capped: bool
    filters: LogFilter = field(default_factory=LogFilter)


def log_page(f: LogFilter, *, after: str | None = None, limit: int = PAGE_SIZE, with_count: bool = True) -> LogPage:
    """One page of the log, newest first; ``after`` is the previous page's cursor."""
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    qs = log_queryset(f)
    if after:
        when, seq = decode_cursor(after)
        # the redundant "<=" lets the database range-scan the (…, history_date, seq) index
        qs = qs.filter(history_date__lte=when).filter(Q(history_date__lt=when) | Q(seq__lt=seq))
    ordered = qs.order_by("-history_date", "-seq")
    count, capped = None, False  # counted on the first page only
    if with_count and not after:
        # count by walking the same index as the page, at most COUNT_CAP + 1 keys (a separate
        # COUNT(*) … LIMIT can turn into a full scan when the planner expects many matches)
        seqs = list(ordered.values_list("seq", flat=True)[:COUNT_CAP + 1])
        count, capped = min(len(seqs), COUNT_CAP), len(seqs) > COUNT_CAP
        by_seq = AuditEntry.objects.in_bulk(seqs[:limit + 1])
        rows = [by_seq[s] for s in seqs[:limit + 1]]
    else:
        rows = list(ordered[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return LogPage(rows, encode_cursor(rows[-1]) if more and rows else None, count, capped, f)


CSV_COLUMNS = ("seq", "history_date", "entity", "record", "change", "changed_fields", "actor", "origin", "reason",
               "correlation_id", "history_id", "row_hash", "sealed_at")


def csv_rows(f: LogFilter, *, chunk_size: int = 2000):
    """The filtered log as CSV lines (header first), streamed: the rows are
    read with a server-side cursor in chunks, never all at once."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    cols = ("seq", "history_date", "model", "object_id", "history_type", "changed_fields", "actor", "origin",
            "reason", "correlation_id", "history_id", "row_hash", "sealed_at")
    qs = log_queryset(f).order_by("-history_date", "-seq").values_list(*cols)
    n = 0
    for (seq, when, model, obj, htype, changed, actor, origin, reason, cid, hid, rhash, sealed) in qs.iterator(
            chunk_size=chunk_size):
        writer.writerow((seq, when.isoformat(), model, obj, HISTORY_TYPES.get(htype, htype),
                         " ".join(changed or ()), actor, origin, _safe_cell(reason), cid, hid, rhash,
                         sealed.isoformat()))
        n += 1
        if n % 500 == 0:  # hand the server ~100 KB at a time, not one line
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _safe_cell(value: str) -> str:
    """Keep spreadsheet programs from running a reason as a formula."""
    return "'" + value if value and value[0] in "=+-@\t\r" else value


# --- a record's timeline ---------------------------------------------------------

@dataclass
class Change:
    field: str
    label: str
    old: object
    new: object


@dataclass
class TimelineItem:
    history_id: int
    when: dt.datetime
    type: str
    actor: str
    origin: str
    reason: str
    correlation_id: str
    changes: list[Change]
    entry: AuditEntry | None = None


def _labels(hm) -> dict[str, str]:
    return {f.attname: str(getattr(f, "verbose_name", f.name)) for f in hm.tracked_fields}


def _display(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def timeline(label: str, object_id: str, *, limit: int = 200) -> list[TimelineItem]:
    """A record's history rows, newest first, each with its per-field
    before/after (``diff_against`` the previous row) and its seal."""
    hm = history_model(label)
    obj_att = hm.instance_type._meta.pk.attname
    try:
        rows = list(hm.objects.filter(**{obj_att: object_id}).order_by("-history_date", "-history_id")[:limit + 1])
    except (ValueError, TypeError):
        return []
    names = _labels(hm)
    fields = [f for f in hm.tracked_fields if f.name not in NOISE_FIELDS and not f.primary_key]
    entries = {e.history_id: e for e in AuditEntry.objects.filter(model=label, history_id__in=[r.history_id
                                                                                            for r in rows])}
    out = []
    for i, row in enumerate(rows[:limit]):
        prev = rows[i + 1] if i + 1 < len(rows) else None
        if row.history_type == "-":
            changes = []
        elif prev is not None:  # like diff_against, but over every tracked column (also non-editable ones)
            changes = [Change(f.name, names.get(f.attname, f.name), _display(getattr(prev, f.attname)),
                              _display(getattr(row, f.attname)))
                       for f in fields if getattr(prev, f.attname) != getattr(row, f.attname)]
        else:
            changes = [Change(f.name, names.get(f.attname, f.name), None, _display(getattr(row, f.attname)))
                       for f in fields if getattr(row, f.attname) not in (None, "", {}, [])]
        out.append(TimelineItem(row.history_id, row.history_date, row.history_type,
                                getattr(row, "history_actor", "") or "", getattr(row, "history_origin", "") or "",
                                row.history_change_reason or "", getattr(row, "history_correlation_id", "") or "",
                                changes, entries.get(row.history_id)))
    return out


# --- a record on a past date ---------------------------------------------------------

@dataclass
class PointInTime:
    label: str
    object_id: str
    at: dt.datetime
    exists: bool
    values: list[tuple[str, str, object]] = field(default_factory=list)  # (field, label, value)
    history_id: int | None = None
    as_of_row_date: dt.datetime | None = None
    reason: str = ""
    actor: str = ""
    links: list[dict] | None = None  # golden records: source records and downstream ids linked then


def as_of(label: str, object_id: str, at: dt.datetime) -> PointInTime:
    """The record exactly as it was at ``at`` (its newest history row at or
    before that moment), and — for golden records — which source records
    and downstream ids were linked to it then (cross-reference history)."""
    hm = history_model(label)
    obj_att = hm.instance_type._meta.pk.attname
    result = PointInTime(label, object_id, at, exists=False)
    try:
        row = (hm.objects.filter(**{obj_att: object_id}, history_date__lte=at)
               .order_by("-history_date", "-history_id").first())
    except (ValueError, TypeError):
        return result
    if row is None or row.history_type == "-":
        return result
    names = _labels(hm)
    result.exists = True
    result.history_id, result.as_of_row_date = row.history_id, row.history_date
    result.reason, result.actor = row.history_change_reason or "", getattr(row, "history_actor", "") or ""
    result.values = [(f.attname, names.get(f.attname, f.attname), _display(getattr(row, f.attname)))
                     for f in hm.tracked_fields]
    if issubclass(hm.instance_type, GoldenRecord):
        result.links = linked_at(hm.instance_type.entity_type, object_id, at)
    return result


def linked_at(entity_type: str, golden_id: str, at: dt.datetime) -> list[dict]:
    """Cross-references pointing at the golden at ``at``, from their history."""
    xh = CrossReference.history.model
    xref_ids = set(xh.objects.filter(entity_type=entity_type, golden_id=golden_id, history_date__lte=at)
                   .values_list("id", flat=True))
    out = []
    for xref_id in sorted(xref_ids):
        row = xh.objects.filter(id=xref_id, history_date__lte=at).order_by("-history_date", "-history_id").first()
        if row is None or row.history_type == "-" or str(row.golden_id) != str(golden_id):
            continue
        since = (xh.objects.filter(id=xref_id, history_date__lte=at).exclude(golden_id=row.golden_id)
                 .order_by("-history_date").values_list("history_date", flat=True).first())
        first_linked = (xh.objects.filter(id=xref_id, golden_id=row.golden_id, history_date__lte=at)
                        .filter(history_date__gt=since) if since else
                        xh.objects.filter(id=xref_id, golden_id=row.golden_id, history_date__lte=at))
        out.append({
            "xref_id": xref_id, "system_id": row.system_id, "system": _system_code(row.system_id),
            "external_id": row.external_id, "role": row.role, "source_record_id": row.source_record_id,
            "linked_since": first_linked.order_by("history_date").values_list("history_date", flat=True).first(),
        })
    return out


def _system_code(system_id) -> str:
    from mdm.models import SourceSystem

    return SourceSystem.objects.filter(pk=system_id).values_list("code", flat=True).first() or str(system_id)


# --- a merge's story -------------------------------------------------------------

@dataclass
class MergeStory:
    event: MergeEvent
    unmerge_correlation_id: str = ""
    unmerge_actor: str = ""
    merge_actor: str = ""
    changes: list = field(default_factory=list)  # AuditEntry rows of the merge
    unmerge_changes: list = field(default_factory=list)


def merge_story(event: MergeEvent, *, limit: int = 500) -> MergeStory:
    """Records, picks, actor, reason, everything the merge changed (its
    correlation id), and its unmerge if any."""
    story = MergeStory(event)
    hm = MergeEvent.history.model
    first = hm.objects.filter(id=event.pk).order_by("history_date", "history_id").first()
    if first is not None:
        story.merge_actor = first.history_actor
    story.changes = list(AuditEntry.objects.filter(correlation_id=event.correlation_id)
                         .order_by("history_date", "seq")[:limit]) if event.correlation_id else []
    if event.undone_at:
        undo = (hm.objects.filter(id=event.pk, undone_at__isnull=False).order_by("history_date", "history_id")
                .first())
        if undo is not None:
            story.unmerge_correlation_id, story.unmerge_actor = undo.history_correlation_id, undo.history_actor
            if undo.history_correlation_id:
                story.unmerge_changes = list(AuditEntry.objects.filter(correlation_id=undo.history_correlation_id)
                                             .order_by("history_date", "seq")[:limit])
    return story


def erasures():
    return AuditErasure.objects.order_by("-created_at")
