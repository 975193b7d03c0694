"""Building, approving, editing and retiring golden records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mdm import canonical, survivorship
from mdm.audit import reason as audit_reason
from mdm.audit import require_context
from mdm.choices import LifecycleState, TaskStatus
from mdm.events import master_changed
from mdm.models import (
    BlockingKey,
    Contract,
    CrossReference,
    GoldenRecord,
    LegalEntity,
    ManualOverride,
    MatchTask,
    SourceRecord,
    ValidationIssue,
    golden_model,
)
from mdm.validation import validate

LIVE_STATES = (LifecycleState.PENDING, LifecycleState.APPROVED)


class ServiceError(Exception):
    """A refused action, with a message for the person who asked."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class ConflictError(ServiceError):
    """Someone else changed the record since the caller read it."""

    def __init__(self, record, expected_version):
        super().__init__(
            f"{record} was changed by someone else (you edited version {expected_version}, it is now "
            f"version {record.version}); reload and apply your change again",
            code="conflict",
        )
        self.current_version = record.version


# --- reading golden values as canonical data ------------------------------

def golden_values(record: GoldenRecord) -> dict:
    """The record's canonical field values (refs as golden id strings)."""
    out = {}
    for f in canonical.fields_for(record.entity_type):
        if f.kind == "ref":
            ref_id = getattr(record, f"{f.name}_id")
            out[f.name] = str(ref_id) if ref_id else None
        else:
            val = getattr(record, f.name)
            if isinstance(val, dt.date):
                val = val.isoformat()
            elif isinstance(val, Decimal):
                val = str(val)
            out[f.name] = val if val not in ("",) else None
    return out


def linked_sources(record: GoldenRecord):
    return (
        SourceRecord.objects.filter(xref__entity_type=record.entity_type, xref__golden_id=record.pk)
        .select_related("system")
        .order_by("system__trust_rank", "system__code", "source_id")
    )


def _source(sr: SourceRecord) -> survivorship.Source:
    return survivorship.Source(
        id=sr.pk, system=sr.system.code, source_id=sr.source_id, trust_rank=sr.system.trust_rank,
        updated_at=sr.updated_at.strftime("%Y-%m-%dT%H:%M:%S.%f"), canonical=sr.canonical,
    )


# --- reference resolution --------------------------------------------------

def follow_merges(model, pk, *, fields=None):
    """A merged record's survivor (following chains), or the record itself.
    ``fields`` loads only those columns (plus what the walk needs)."""
    qs = model.objects.all() if fields is None else model.objects.only("merged_into", *fields)
    seen = set()
    obj = qs.filter(pk=pk).first()
    while obj is not None and obj.merged_into_id and obj.pk not in seen:
        seen.add(obj.pk)
        obj = qs.filter(pk=obj.merged_into_id).first()
    return obj


def awaiting_reapproval(record) -> bool:
    """Approved before, with a change now awaiting approval."""
    return record.state == LifecycleState.PENDING and record.approved_at is not None


def last_approved(model, ids, values=None) -> dict:
    """``{golden id: its newest history row in the approved state}``, the
    version readers of approved records are served while a change awaits
    approval: history instances, or the rows of ``values(queryset)`` when a
    function is given.  One query for any number of records."""
    rows = last_approved_query(model, ids)
    out: dict = {}
    for row in (values(rows) if values is not None else rows):
        out.setdefault(row["id"] if values is not None else row.id, row)
    return out


def last_approved_query(model, ids):
    """The history rows of :func:`last_approved`, newest first per record
    (on PostgreSQL only the newest leaves the database)."""
    from django.db import connection

    from mdm.bulkwrite import history_model_of
    from mdm.compiled import Array

    rows = (history_model_of(model).objects.filter(id__any=Array(ids), state=LifecycleState.APPROVED)
            .order_by("id", "-history_date", "-history_id"))
    return rows.distinct("id") if connection.vendor == "postgresql" else rows


def resolve_ref(ref_type: str, system_code: str, value: str):
    """A system's reference (its own id for the other record, or a natural
    key such as a legal entity code or contract number, or a golden id) →
    the golden record, following merges; None if unknown."""
    model = golden_model(ref_type)
    xref = (
        CrossReference.objects.filter(system__code=system_code, entity_type=ref_type, external_id=value)
        .order_by("role")
        .first()
    )
    if xref is not None:
        return follow_merges(model, xref.golden_id)
    natural = {LegalEntity: "code", Contract: "number"}.get(model)
    if natural:
        obj = model.objects.filter(**{natural: value}).exclude(state=LifecycleState.MERGED).order_by("created_at")
        obj = obj.first()
        if obj is not None:
            return obj
    try:
        return follow_merges(model, value)
    except Exception:  # noqa: BLE001 - not a UUID
        return None


# --- the build ---------------------------------------------------------------

def _apply(record: GoldenRecord, values: dict, lineage: dict, resolver=None) -> bool:
    """Set field values on the model; return whether any value changed.
    ``resolver(ref_type, system, value)`` finds referenced goldens (a batch
    passes one that preloads them)."""
    resolver = resolver or resolve_ref
    changed = False
    for f in canonical.fields_for(record.entity_type):
        raw = values.get(f.name)
        if f.kind == "ref":
            entry = lineage.get(f.name)
            target = None
            if raw not in (None, ""):
                if entry and entry.get("rule") == survivorship.MANUAL:
                    target = follow_merges(golden_model(f.ref), raw)
                else:
                    target = resolver(f.ref, (entry or {}).get("system") or "", str(raw))
                if entry is not None:
                    if target is None:
                        entry["unresolved"] = str(raw)
                    else:
                        entry["golden"] = str(target.pk)
            if target is not None and target.pk == record.pk:
                target = None
            new = target.pk if target is not None else None
            attr = f"{f.name}_id"
            differs = getattr(record, attr) != new
            if differs or target is not None:
                setattr(record, f.name, target)  # keeps the object: validation reads its state, no query
            changed = changed or differs
            continue
        elif f.kind == "date":
            new = dt.date.fromisoformat(raw) if raw else None
            attr = f.name
        elif f.kind == "decimal":
            new = Decimal(str(raw)) if raw not in (None, "") else None
            attr = f.name
        else:
            new = "" if raw is None else str(raw)[: f.max_length]
            attr = f.name
        if getattr(record, attr) != new:
            setattr(record, attr, new)
            changed = True
    return changed


def _overrides(record) -> dict[str, ManualOverride]:
    return {o.field: o for o in ManualOverride.objects.filter(entity_type=record.entity_type, golden_id=record.pk)}


def _flag_overrides(overrides: dict[str, ManualOverride], rule_values: dict) -> None:
    """An override whose underlying source value changed goes on the review queue."""
    for name, o in overrides.items():
        new = rule_values.get(name)
        if new != o.source_value and (not o.flagged or new != o.flagged_new_value):
            o.flagged = True
            o.flagged_new_value = new
            o.flagged_at = timezone.now()
            with audit_reason(f"match: source value under manual {name} changed"):
                o.save()


def rebuild(record: GoldenRecord, *, sources=None, save: bool = True) -> bool:
    """Recompute a golden record from its linked source records and the
    rules; write it (with history) if anything changed.  Returns whether it
    changed.  Same inputs → same values (deterministic)."""
    require_context()
    sources = list(sources if sources is not None else linked_sources(record))
    overrides = _overrides(record)
    values, lineage, rule_values = survivorship.build(
        record.entity_type,
        [_source(s) for s in sources],
        survivorship.rules_for(record.entity_type),
        overrides={k: o.value for k, o in overrides.items()},
        previous_lineage=record.lineage,
        now=timezone.now().isoformat(),
    )
    _flag_overrides(overrides, rule_values)
    value_changed = _apply(record, values, lineage)
    lineage_changed = lineage != record.lineage
    record.lineage = lineage
    if not (value_changed or lineage_changed or record._state.adding):
        return False
    if save:
        after_change(record, value_changed=value_changed)
    return True


def after_change(record: GoldenRecord, *, value_changed: bool, edited_by=None) -> None:
    """Persist a changed golden record: version, lifecycle, validation,
    blocking keys, auto-approval, events."""
    was_approved = record.state == LifecycleState.APPROVED
    if value_changed and not record._state.adding:
        record.version += 1
        if was_approved:
            record.state = LifecycleState.PENDING
    if edited_by is not None:
        record.last_edited_by = edited_by
    issues = validate(record)
    record.is_valid = not issues
    record.match_form = match_form(record)
    record.save()
    refresh_issues(record, issues)
    refresh_blocking_keys(record)
    if auto_approve_allowed(record):
        approve(record, actor=None, auto=True)
    elif value_changed and was_approved:
        master_changed.send(sender=type(record), record=record, change="updated", extra={"needs_approval": True})


def refresh_issues(record, issues) -> None:
    existing = ValidationIssue.objects.filter(entity_type=record.entity_type, golden_id=record.pk)
    current = {(i.rule, i.field, i.message) for i in existing}
    wanted = {(i.rule, i.field, i.message) for i in issues}
    if current == wanted:
        return
    existing.delete()
    ValidationIssue.objects.bulk_create(
        ValidationIssue(entity_type=record.entity_type, golden_id=record.pk, rule=i.rule, field=i.field,
                        message=i.message, hint=i.hint)
        for i in issues
    )


NATURAL_KEYS = {"legal_entity": "code", "contract": "number"}


def waiting_keys(record) -> list[str]:
    """Index keys for references this record could not resolve yet, so the
    referenced record's arrival can finish the job (out-of-order feeds)."""
    keys = []
    for f in canonical.fields_for(record.entity_type):
        entry = (record.lineage or {}).get(f.name) or {}
        value = entry.get("unresolved")
        if f.kind == "ref" and value:
            keys.append(f"ref:{f.ref}:{entry.get('system') or '*'}:{value}"[:160])
            if f.ref in NATURAL_KEYS:
                keys.append(f"ref:{f.ref}:*:{value}"[:160])
    return keys


def index_keys(record, values: dict | None = None) -> set[str]:
    """Blocking keys (for matching) plus waiting-reference keys; ``values``:
    the record's :func:`golden_values`, when the caller has them."""
    from mdm.services.matching import blocking_keys

    if record.state not in LIVE_STATES:
        return set()
    values = golden_values(record) if values is None else values
    return set(blocking_keys(record.entity_type, values)) | set(waiting_keys(record))


def match_form(record, values: dict | None = None):
    """What the record stores of its matching form (``match_form``): none
    for records no longer matched against (merged, retired)."""
    from mdm.services.matching import stored_form

    if record.state not in LIVE_STATES:
        return None
    return stored_form(record.entity_type, golden_values(record) if values is None else values)


def refresh_blocking_keys(record) -> None:
    keys = index_keys(record)
    existing = set(BlockingKey.objects.filter(entity_type=record.entity_type, golden_id=record.pk)
                   .values_list("key", flat=True))
    if keys == existing:
        return
    BlockingKey.objects.filter(entity_type=record.entity_type, golden_id=record.pk, key__in=existing - keys).delete()
    BlockingKey.objects.bulk_create(
        BlockingKey(entity_type=record.entity_type, golden_id=record.pk, key=k) for k in sorted(keys - existing)
    )


def open_tasks(record):
    return MatchTask.objects.filter(
        Q(golden_a=record.pk) | Q(golden_b=record.pk), entity_type=record.entity_type,
        status__in=(TaskStatus.OPEN, TaskStatus.DEFERRED),
    )


def auto_approve_allowed(record) -> bool:
    return (
        settings.MDM_AUTO_APPROVE == "valid"
        and record.state == LifecycleState.PENDING
        and record.is_valid
        and not open_tasks(record).exists()
    )


# --- lifecycle -----------------------------------------------------------------

def lock(record: GoldenRecord, expected_version: int | None = None) -> GoldenRecord:
    """Re-read the record under a row lock; refuse if it moved on."""
    fresh = type(record).objects.select_for_update().get(pk=record.pk)
    if expected_version is not None and fresh.version != int(expected_version):
        raise ConflictError(fresh, expected_version)
    return fresh


@transaction.atomic
def approve(record: GoldenRecord, *, actor, auto: bool = False, expected_version: int | None = None) -> GoldenRecord:
    """Publish a pending record.  Refused while it fails validation, and
    (four eyes) by the person who last edited it by hand."""
    require_context()
    record = lock(record, expected_version)
    if record.state != LifecycleState.PENDING:
        raise ServiceError(f"Only pending records can be approved; this one is {record.state}", code="state")
    issues = validate(record)
    refresh_issues(record, issues)
    if issues:
        record.is_valid = False
        raise ServiceError("Cannot approve: " + "; ".join(i.message for i in issues), code="invalid")
    if not auto and settings.MDM_FOUR_EYES and actor is not None and record.last_edited_by_id == actor.pk:
        raise ServiceError("Four eyes: someone other than the last editor must approve this change",
                           code="four_eyes")
    record.state = LifecycleState.APPROVED
    record.approved_at = timezone.now()
    record.approved_by = actor if (actor is not None and getattr(actor, "is_authenticated", False)) else None
    text = "auto-approved: passes validation, no open review task" if auto else "approved"
    with audit_reason(text if auto else (require_context().reason or text)):
        record.save()
    master_changed.send(sender=type(record), record=record, change="approved", extra={"auto": auto})
    return record


@transaction.atomic
def retire(record: GoldenRecord, *, actor, reason: str, expected_version: int | None = None) -> GoldenRecord:
    require_context()
    if not reason.strip():
        raise ServiceError("A reason is required to retire a record", field="reason")
    record = lock(record, expected_version)
    if record.state in (LifecycleState.RETIRED, LifecycleState.MERGED):
        raise ServiceError(f"The record is already {record.state}", code="state")
    record.state = LifecycleState.RETIRED
    record.version += 1
    record.last_edited_by = actor
    with audit_reason(reason):
        record.save()
    BlockingKey.objects.filter(entity_type=record.entity_type, golden_id=record.pk).delete()
    with audit_reason(f"closed: record retired ({reason})"):
        for task in open_tasks(record):
            task.status, task.decided_at, task.decided_by, task.reason = (
                TaskStatus.CLOSED, timezone.now(), actor, f"record retired: {reason}")
            task.save()
    master_changed.send(sender=type(record), record=record, change="retired", extra={})
    return record


@transaction.atomic
def edit(record: GoldenRecord, *, actor, changes: dict, reason: str, expected_version: int | None = None):
    """A steward's manual values: each becomes an override that wins over the
    rules until cleared.  ``None`` as a value clears that field's override."""
    require_context()
    if not reason or not reason.strip():
        raise ServiceError("A reason is required for a manual change", field="reason")
    record = lock(record, expected_version)
    if record.state in (LifecycleState.RETIRED, LifecycleState.MERGED):
        raise ServiceError(f"A {record.state} record cannot be edited", code="state")
    names = set(canonical.field_names(record.entity_type))
    unknown = set(changes) - names
    if unknown:
        raise ServiceError(f"Unknown field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    from mdm.services.mapping import _coerce
    from mdm.services.values import ValueError_

    _, _, rule_values = survivorship.build(
        record.entity_type, [_source(s) for s in linked_sources(record)], survivorship.rules_for(record.entity_type)
    )
    with audit_reason(reason):
        for name, value in changes.items():
            field = canonical.get_field(record.entity_type, name)
            existing = ManualOverride.objects.filter(entity_type=record.entity_type, golden_id=record.pk,
                                                     field=name).first()
            if value is None:
                if existing:
                    existing.delete()
                continue
            try:
                value = _coerce(field, value) if field.kind != "ref" else str(value)
            except ValueError_ as exc:
                raise ServiceError(f"{field.verbose}: {exc}", field=name) from None
            if field.kind == "ref" and value and follow_merges(golden_model(field.ref), value) is None:
                raise ServiceError(f"{field.verbose}: no such {field.ref.replace('_', ' ')}", field=name)
            override = existing or ManualOverride(entity_type=record.entity_type, golden_id=record.pk, field=name)
            override.value = value
            override.reason = reason
            override.created_by = actor
            override.source_value = rule_values.get(name)
            override.flagged = False
            override.flagged_new_value = None
            override.flagged_at = None
            override.save()
        if rebuild(record, save=False):
            after_change(record, value_changed=True, edited_by=actor)
    return record


@transaction.atomic
def accept_override_change(override: ManualOverride, *, actor, keep: bool, reason: str):
    """Resolve a flagged override: keep the manual value (acknowledging the
    new source value) or drop it so the rule's value wins again."""
    require_context()
    record = lock(golden_model(override.entity_type).objects.get(pk=override.golden_id))
    with audit_reason(reason or ("kept manual value" if keep else "cleared manual value")):
        if keep:
            override.source_value = override.flagged_new_value
            override.flagged = False
            override.flagged_new_value = None
            override.save()
        else:
            override.delete()
            if rebuild(record, save=False):
                after_change(record, value_changed=True, edited_by=actor)
    return record
