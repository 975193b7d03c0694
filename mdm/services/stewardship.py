"""Steward decisions: merge, unmerge, split, not a duplicate, defer, claim.

Each runs in one transaction inside the caller's ``audit_context`` and leaves
history; a merge records its full story in ``MergeEvent`` so an auditor can
see exactly what it did and an unmerge can restore it."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from mdm import canonical, survivorship
from mdm.audit import reason as audit_reason
from mdm.audit import require_context
from mdm.choices import LifecycleState, TaskStatus, XrefRole
from mdm.events import master_changed
from mdm.models import (
    BlockingKey,
    CrossReference,
    GOLDEN_MODELS,
    ManualOverride,
    MatchTask,
    MergeEvent,
    NotDuplicate,
    SourceRecord,
    ValidationIssue,
    golden_model,
)
from mdm.services import golden as golden_svc
from mdm.services.golden import ServiceError, golden_values
from mdm.services.ingest import pair


def _need_reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise ServiceError("Give a reason for this decision", field="reason")
    return reason.strip()


def _snapshot(record) -> dict:
    return {
        "values": golden_values(record),
        "state": record.state,
        "version": record.version,
        "overrides": {o.field: o.value for o in ManualOverride.objects.filter(
            entity_type=record.entity_type, golden_id=record.pk)},
    }


def _referrers(entity_type: str, golden_ids):
    """(model, field name) pairs whose foreign keys point at ``entity_type``."""
    for model in GOLDEN_MODELS.values():
        for f in canonical.fields_for(model.entity_type):
            if f.kind == "ref" and f.ref == entity_type:
                for obj in model.objects.filter(**{f"{f.name}_id__in": list(golden_ids)}):
                    yield obj, f.name


@transaction.atomic
def merge(*, survivor, others, picks: dict | None = None, actor=None, reason: str, task: MatchTask | None = None
          ) -> MergeEvent:
    """Merge ``others`` into ``survivor``.  ``picks`` maps a field to the
    golden id whose value must survive (a steward's choice); fields not
    picked follow the survivorship rules over all the merged sources."""
    ctx = require_context()
    reason = _need_reason(reason)
    entity_type = survivor.entity_type
    model = golden_model(entity_type)
    ids = sorted({survivor.pk, *[o.pk for o in others]}, key=str)
    locked = {r.pk: r for r in model.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    survivor = locked[survivor.pk]
    others = [locked[o.pk] for o in others if o.pk != survivor.pk]
    if not others:
        raise ServiceError("Choose at least one other record to merge into the survivor")
    for r in [survivor, *others]:
        if r.state not in golden_svc.LIVE_STATES:
            raise ServiceError(f"{r} is {r.state} and cannot be merged", code="state")
    for o in others:
        a, b = pair(survivor.pk, o.pk)
        if NotDuplicate.objects.filter(entity_type=entity_type, golden_a=a, golden_b=b).exists():
            raise ServiceError(f"{o} was marked as not a duplicate of {survivor}; undo that decision first",
                               code="not_duplicate")
    by_id = {str(r.pk): r for r in [survivor, *others]}
    picks = {k: str(v) for k, v in (picks or {}).items() if v}
    for field, gid in picks.items():
        if field not in canonical.field_names(entity_type):
            raise ServiceError(f"Unknown field '{field}'", field=field)
        if gid not in by_id:
            raise ServiceError(f"The pick for {field} names a record that is not part of this merge", field=field)

    before = {str(r.pk): _snapshot(r) for r in [survivor, *others]}
    other_ids = [o.pk for o in others]
    moved = []
    with audit_reason(f"merge: {reason}"):
        # source records move to the survivor; ids downstream systems gave the merged records stay with
        # them, so each connector can tell its system which record was merged away and into what
        for xref in CrossReference.objects.filter(entity_type=entity_type, golden_id__in=other_ids,
                                                  role=XrefRole.SOURCE):
            moved.append({"xref": xref.pk, "from": str(xref.golden_id)})
            xref.golden_id = survivor.pk
            xref.save()
        repointed = []
        for obj, field in _referrers(entity_type, other_ids):
            repointed.append({"entity_type": obj.entity_type, "id": str(obj.pk), "field": field,
                              "from": str(getattr(obj, f"{field}_id"))})
            setattr(obj, f"{field}_id", survivor.pk)
            obj.version += 1
            obj.save()
            if obj.state == LifecycleState.APPROVED:
                master_changed.send(sender=type(obj), record=obj, change="repointed",
                                    extra={"field": field, "to": str(survivor.pk)})
        for o in others:
            o.state = LifecycleState.MERGED
            o.merged_into = survivor
            o.version += 1
            o.save()
            BlockingKey.objects.filter(entity_type=entity_type, golden_id=o.pk).delete()
            ValidationIssue.objects.filter(entity_type=entity_type, golden_id=o.pk).delete()
            # the merged record's own overrides no longer apply; they stay in history
            for ov in ManualOverride.objects.filter(entity_type=entity_type, golden_id=o.pk):
                ov.delete()
        picked_values = {f: golden_values(by_id[gid]).get(f) for f, gid in picks.items()}
        # what the rules give over the merged sources: a pick is not "flagged" until that changes
        _, _, rule_values = survivorship.build(
            entity_type, [golden_svc._source(s) for s in golden_svc.linked_sources(survivor)],
            survivorship.rules_for(entity_type)) if picks else (None, None, {})
        for field, value in picked_values.items():
            ManualOverride.objects.update_or_create(
                entity_type=entity_type, golden_id=survivor.pk, field=field,
                defaults={"value": value, "reason": f"merge pick: {reason}", "created_by": actor,
                          "source_value": rule_values.get(field), "flagged": False, "flagged_new_value": None},
            )
        golden_svc.rebuild(survivor, save=False)
        golden_svc.after_change(survivor, value_changed=True, edited_by=actor)

    event = MergeEvent.objects.create(
        entity_type=entity_type, survivor_id=survivor.pk, merged_ids=[str(i) for i in other_ids], picks=picks,
        moved_xrefs=moved, before={**before, "_repointed": repointed}, actor=actor, reason=reason,
        correlation_id=ctx.correlation_id,
    )
    _close_tasks(entity_type, [survivor.pk, *other_ids], TaskStatus.MERGED, actor, reason, task)
    for o in others:
        master_changed.send(sender=model, record=o, change="merged", extra={"survivor": str(survivor.pk),
                                                                            "merge_event": event.pk})
    return event


def _close_tasks(entity_type, ids, status, actor, reason, task=None):
    ids = {str(i) for i in ids}
    now = timezone.now()
    tasks = MatchTask.objects.filter(entity_type=entity_type, status__in=(TaskStatus.OPEN, TaskStatus.DEFERRED))
    for t in tasks.filter(golden_a__in=ids) | tasks.filter(golden_b__in=ids):
        both = str(t.golden_a) in ids and str(t.golden_b) in ids
        t.status = status if both else TaskStatus.CLOSED
        t.decided_at, t.decided_by, t.reason = now, actor, reason if both else f"closed by merge: {reason}"
        t.save()
    if task is not None and task.status in (TaskStatus.OPEN, TaskStatus.DEFERRED):
        task.refresh_from_db()


@transaction.atomic
def unmerge(*, event: MergeEvent, actor=None, reason: str) -> list:
    """Undo a merge: cross-references go back, merged records come back to
    their state before, references re-pointed by the merge point back, the
    merge's picks are dropped, and every record is rebuilt."""
    require_context()
    reason = _need_reason(reason)
    event = MergeEvent.objects.select_for_update().get(pk=event.pk)
    if event.undone_at:
        raise ServiceError("This merge was already undone", code="state")
    model = golden_model(event.entity_type)
    survivor = model.objects.select_for_update().get(pk=event.survivor_id)
    restored = []
    with audit_reason(f"unmerge: {reason}"):
        for move in event.moved_xrefs:
            xref = CrossReference.objects.filter(pk=move["xref"]).first()
            if xref is not None and str(xref.golden_id) == str(survivor.pk):
                xref.golden_id = uuid.UUID(move["from"])
                xref.save()
        for field in event.picks:
            ManualOverride.objects.filter(entity_type=event.entity_type, golden_id=survivor.pk, field=field).delete()
        for field, value in event.before.get(str(survivor.pk), {}).get("overrides", {}).items():
            ManualOverride.objects.update_or_create(
                entity_type=event.entity_type, golden_id=survivor.pk, field=field,
                defaults={"value": value, "reason": f"restored by unmerge: {reason}", "created_by": actor})
        for gid in event.merged_ids:
            record = model.objects.select_for_update().get(pk=gid)
            snap = event.before.get(gid, {})
            record.state = snap.get("state", LifecycleState.PENDING)
            record.merged_into = None
            record.version += 1
            for field, value in snap.get("overrides", {}).items():
                ManualOverride.objects.update_or_create(
                    entity_type=event.entity_type, golden_id=record.pk, field=field,
                    defaults={"value": value, "reason": f"restored by unmerge: {reason}", "created_by": actor})
            golden_svc.rebuild(record, save=False)
            golden_svc.after_change(record, value_changed=False, edited_by=actor)
            restored.append(record)
        for ref in event.before.get("_repointed", []):
            obj = golden_model(ref["entity_type"]).objects.filter(pk=ref["id"]).first()
            if obj is not None and str(getattr(obj, f"{ref['field']}_id")) == str(survivor.pk):
                setattr(obj, f"{ref['field']}_id", uuid.UUID(ref["from"]))
                obj.version += 1
                obj.save()
        golden_svc.rebuild(survivor, save=False)
        golden_svc.after_change(survivor, value_changed=True, edited_by=actor)
    event.undone_at, event.undone_by, event.undo_reason = timezone.now(), actor, reason
    event.save()
    for record in restored:
        master_changed.send(sender=model, record=record, change="unmerged",
                            extra={"survivor": str(survivor.pk), "merge_event": event.pk})
    return [survivor, *restored]


@transaction.atomic
def split(*, source_record: SourceRecord, actor=None, reason: str, into=None):
    """Take one source record out of its golden record into ``into`` (another
    golden) or a new golden; both are rebuilt.  Returns the receiving golden."""
    require_context()
    reason = _need_reason(reason)
    xref = CrossReference.objects.select_for_update().get(source_record=source_record)
    model = golden_model(xref.entity_type)
    current = model.objects.select_for_update().get(pk=xref.golden_id)
    if CrossReference.objects.filter(entity_type=xref.entity_type, golden_id=current.pk,
                                     role=XrefRole.SOURCE).count() < 2:
        raise ServiceError("This is the record's only source; retire the record instead", code="state")
    if into is not None:
        into = model.objects.select_for_update().get(pk=into.pk)
        if into.pk == current.pk or into.state not in golden_svc.LIVE_STATES:
            raise ServiceError("Choose another live record to move the source record into")
    with audit_reason(f"split: {reason}"):
        target = into if into is not None else model(id=uuid.uuid4())
        xref.golden_id = target.pk
        xref.save()
        golden_svc.rebuild(current, save=False)
        golden_svc.after_change(current, value_changed=True, edited_by=actor)
        golden_svc.rebuild(target, save=False)
        golden_svc.after_change(target, value_changed=not target._state.adding, edited_by=actor)
        a, b = pair(current.pk, target.pk)
        NotDuplicate.objects.get_or_create(entity_type=xref.entity_type, golden_a=a, golden_b=b,
                                           defaults={"decided_by": actor, "reason": f"split: {reason}"})
    return target


def _decide(task: MatchTask, status: str, actor, reason: str) -> MatchTask:
    task = MatchTask.objects.select_for_update().get(pk=task.pk)
    if task.status not in (TaskStatus.OPEN, TaskStatus.DEFERRED):
        raise ServiceError(f"This task is already {task.get_status_display().lower()}", code="state")
    task.status, task.decided_by, task.decided_at, task.reason = status, actor, timezone.now(), reason
    task.save()
    return task


@transaction.atomic
def not_duplicate(*, task: MatchTask, actor=None, reason: str) -> MatchTask:
    """Remember for good that the pair is two different things."""
    require_context()
    reason = _need_reason(reason)
    with audit_reason(f"not a duplicate: {reason}"):
        task = _decide(task, TaskStatus.NOT_DUPLICATE, actor, reason)
        a, b = pair(task.golden_a, task.golden_b)
        NotDuplicate.objects.get_or_create(entity_type=task.entity_type, golden_a=a, golden_b=b,
                                           defaults={"decided_by": actor, "reason": reason})
    return task


@transaction.atomic
def bulk_not_duplicate(*, tasks, actor=None, reason: str) -> int:
    count = 0
    for task in tasks:
        not_duplicate(task=task, actor=actor, reason=reason)
        count += 1
    return count


@transaction.atomic
def defer(*, task: MatchTask, actor=None, reason: str) -> MatchTask:
    require_context()
    reason = _need_reason(reason)
    with audit_reason(f"deferred: {reason}"):
        task = _decide(task, TaskStatus.DEFERRED, actor, reason)
        task.status = TaskStatus.DEFERRED
    return task


@transaction.atomic
def merge_task(*, task: MatchTask, survivor_id=None, picks=None, actor=None, reason: str) -> MergeEvent:
    """Decide a review task by merging its pair (survivor: the older record
    unless the steward picks)."""
    require_context()
    model = golden_model(task.entity_type)
    a, b = model.objects.get(pk=task.golden_a), model.objects.get(pk=task.golden_b)
    if survivor_id is None:
        survivor, other = (a, b) if (a.created_at, str(a.pk)) <= (b.created_at, str(b.pk)) else (b, a)
    else:
        survivor, other = (a, b) if str(survivor_id) == str(a.pk) else (b, a)
    return merge(survivor=survivor, others=[other], picks=picks, actor=actor, reason=reason, task=task)


@transaction.atomic
def assign(*, task: MatchTask, assignee, actor=None) -> MatchTask:
    require_context()
    task = MatchTask.objects.select_for_update().get(pk=task.pk)
    task.assignee = assignee
    with audit_reason("claimed" if assignee == actor else f"assigned to {getattr(assignee, 'username', None)}"):
        task.save()
    return task
