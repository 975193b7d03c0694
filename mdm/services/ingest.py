"""The one ingest path: API, imports and connectors all call ``ingest_record``.

Upserts a source record idempotently (same content → "unchanged", nothing
written), maps the system's field names to canonical ones, validates with
field-level messages, then hands new and changed records to matching and
survivorship, all in one transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from mdm.audit import reason as audit_reason
from mdm.audit import require_context
from mdm.choices import EntityType, IngestOutcome, MatchDecision, TaskStatus, XrefRole
from mdm.models import CrossReference, MatchTask, NotDuplicate, SourceRecord, SourceSystem, golden_model
from mdm.services import golden as golden_svc
from mdm.services.mapping import map_payload


class IngestError(Exception):
    """The record was refused; ``errors`` maps field → messages.  Nothing was written."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class IngestResult:
    outcome: str
    entity_type: str
    source_id: str
    source_record_id: int | None = None
    golden_id: str | None = None
    decision: str | None = None  # matched | new | review (for created records)
    review_tasks: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "entity_type": self.entity_type,
            "source_id": self.source_id,
            "source_record": self.source_record_id,
            "golden_id": self.golden_id,
            "decision": self.decision,
            "review_tasks": self.review_tasks,
            "pending_review": bool(self.review_tasks),
        }


def content_hash(payload: dict) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _system(system) -> SourceSystem:
    if isinstance(system, SourceSystem):
        return system
    try:
        return SourceSystem.objects.get(code=system)
    except SourceSystem.DoesNotExist:
        raise IngestError({"system": [f"unknown source system '{system}'"]}) from None


def prepare(system, entity_type: str, source_id, data) -> tuple[SourceSystem, str, dict]:
    """Check and map one record without writing anything."""
    errors: dict[str, list[str]] = {}
    if entity_type not in EntityType.values:
        errors["entity_type"] = [f"must be one of {', '.join(EntityType.values)}"]
    sid = "" if source_id is None else str(source_id).strip()
    if not sid:
        errors["source_id"] = ["required: the record's id in the sending system"]
    elif len(sid) > 128:
        errors["source_id"] = ["must be at most 128 characters"]
    if errors:
        raise IngestError(errors)
    sys_obj = _system(system)
    if not sys_obj.active:
        raise IngestError({"system": [f"source system '{sys_obj.code}' is deactivated"]})
    canonical, map_errors = map_payload(sys_obj, entity_type, data)
    if map_errors:
        raise IngestError(map_errors)
    return sys_obj, sid, canonical


def ingest_record(*, system, entity_type: str, source_id, data: dict) -> IngestResult:
    """Upsert one source record and update the golden record it belongs to."""
    require_context()
    sys_obj, sid, canonical = prepare(system, entity_type, source_id, data)
    digest = content_hash(data)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _upsert(sys_obj, entity_type, sid, data, canonical, digest)
        except IntegrityError:
            if attempt:  # a concurrent sender created it twice in a row: give up loudly
                raise
    raise AssertionError("unreachable")


def _upsert(sys_obj, entity_type, sid, data, canonical, digest) -> IngestResult:
    existing = (
        SourceRecord.objects.select_for_update(of=("self",))
        .filter(system=sys_obj, entity_type=entity_type, source_id=sid)
        .select_related("xref")
        .first()
    )
    result = IngestResult(IngestOutcome.UNCHANGED, entity_type, sid)
    if existing is not None:
        result.source_record_id = existing.pk
        xref = getattr(existing, "xref", None)
        result.golden_id = str(xref.golden_id) if xref else None
        if existing.content_hash == digest:
            return result
        existing.payload, existing.canonical, existing.content_hash = data, canonical, digest
        with audit_reason(_reason("updated", sys_obj)):
            existing.save()
        result.outcome = IngestOutcome.UPDATED
        if xref is not None:
            record = golden_svc.follow_merges(golden_model(entity_type), xref.golden_id)
            if record is not None and record.state != "merged":
                with audit_reason(_reason("rebuilt from", sys_obj)):
                    golden_svc.rebuild(record)
        return result

    sr = SourceRecord(system=sys_obj, entity_type=entity_type, source_id=sid, payload=data, canonical=canonical,
                      content_hash=digest)
    with audit_reason(_reason("received", sys_obj)):
        sr.save()
    result.outcome = IngestOutcome.CREATED
    result.source_record_id = sr.pk
    _link_new(sr, canonical, result)
    return result


def _reason(verb: str, sys_obj) -> str:
    ctx = require_context()
    base = f"{verb} {sys_obj.code}"
    return f"{ctx.reason}: {base}" if ctx.reason and not ctx.reason.endswith(base) else base


def _link_new(sr: SourceRecord, canonical: dict, result: IngestResult) -> None:
    """Match a new source record against the golden records: link it to a
    matching golden, or start a new golden (with review tasks for the
    doubtful candidates)."""
    from mdm.services.matching import find_candidates

    entity_type = sr.entity_type
    model = golden_model(entity_type)
    candidates = find_candidates(entity_type, _resolved_for_matching(sr, canonical))
    best = candidates[0] if candidates else None
    if best is not None and best.decision == MatchDecision.MATCH:
        record = model.objects.get(pk=best.golden_id)
        with audit_reason(f"match: linked {sr.system.code}:{sr.source_id} (score {best.score:.3f})"):
            CrossReference.objects.create(entity_type=entity_type, golden_id=record.pk, system=sr.system,
                                          external_id=sr.source_id, role=XrefRole.SOURCE, source_record=sr)
            golden_svc.rebuild(record)
        result.golden_id, result.decision = str(record.pk), "matched"
        return
    record = model(id=uuid.uuid4())
    # review tasks first, so the auto-approval policy sees them
    for c in [c for c in candidates if c.decision == MatchDecision.REVIEW][:5]:
        task = open_review_task(entity_type, record.pk, c.golden_id, c.score, c.explanation)
        if task is not None:
            result.review_tasks.append(task.pk)
    with audit_reason(f"new golden from {sr.system.code}:{sr.source_id}"):
        CrossReference.objects.create(entity_type=entity_type, golden_id=record.pk, system=sr.system,
                                      external_id=sr.source_id, role=XrefRole.SOURCE, source_record=sr)
        golden_svc.rebuild(record, sources=[sr])
    result.golden_id = str(record.pk)
    result.decision = MatchDecision.REVIEW if result.review_tasks else MatchDecision.NEW


def _resolved_for_matching(sr, canonical: dict) -> dict:
    """The record as the matcher should see it (refs are system-local ids;
    the matcher compares them only within a system, so leave them)."""
    return dict(canonical)


def pair(a, b) -> tuple:
    a, b = str(a), str(b)
    return (a, b) if a < b else (b, a)


def open_review_task(entity_type, golden_a, golden_b, score, explanation):
    """Put a suspected duplicate pair on the steward queue unless a steward
    already said they are different, or it is already there."""
    a, b = pair(golden_a, golden_b)
    if NotDuplicate.objects.filter(entity_type=entity_type, golden_a=a, golden_b=b).exists():
        return None
    task, created = MatchTask.objects.get_or_create(
        entity_type=entity_type, golden_a=a, golden_b=b,
        defaults={"score": score, "explanation": explanation, "status": TaskStatus.OPEN},
    )
    return task if created or task.status in (TaskStatus.OPEN, TaskStatus.DEFERRED) else None
