"""The one ingest path: API, imports and connectors all call ``ingest_record``.

Upserts a source record idempotently (same content → "unchanged", nothing
written), maps the system's field names to canonical ones, validates with
field-level messages, then hands new and changed records to matching and
survivorship, all in one transaction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from mdm.audit import require_context
from mdm.choices import EntityType, TaskStatus
from mdm.models import MatchTask, NotDuplicate, SourceSystem
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
    """Upsert one source record and update the golden record it belongs to.
    Raises IngestError (nothing written) if the record is refused."""
    (result,) = ingest_many(system=system, entity_type=entity_type, items=[(source_id, data)])
    if isinstance(result, IngestError):
        raise result
    return result


def ingest_many(*, system, entity_type: str, items, progress=None) -> list:
    """Upsert many records of one system and entity type.  Returns, per item,
    an ``IngestResult`` or the ``IngestError`` that refused it.

    Refused records never reach the database.  The accepted ones are written
    together (bulk inserts with history); should that fail on a race with
    another writer, each record is retried alone in its own transaction, so
    every record is all-or-nothing and one record never spoils another."""
    from mdm.services.batch import Batch

    require_context()
    results: list = [None] * len(items)
    prepared = []
    try:
        system = _system(system)
    except IngestError as exc:
        return [exc] * len(items)
    for index, (source_id, data) in enumerate(items):
        try:
            sys_obj, sid, canonical = prepare(system, entity_type, source_id, data)
        except IngestError as exc:
            results[index] = exc
            continue
        prepared.append(Item(index, sid, data, canonical, content_hash(data), sys_obj))
    for chunk in _chunks_with_unique_ids(prepared):
        try:
            with transaction.atomic():
                done = Batch(chunk[0].system, entity_type, chunk).run()
        except IntegrityError:
            done = {}
            for item in chunk:
                done.update(_alone(item, entity_type))
        for index, result in done.items():
            results[index] = result
        if progress:
            progress(len(chunk))
    return results


@dataclass
class Item:
    index: int
    source_id: str
    data: dict
    canonical: dict
    digest: str
    system: SourceSystem


def _alone(item: Item, entity_type: str) -> dict:
    from mdm.services.batch import Batch

    for attempt in range(3):
        try:
            with transaction.atomic():
                return Batch(item.system, entity_type, [item]).run()
        except IntegrityError as exc:
            if attempt == 2:
                return {item.index: IngestError({"source_id": [f"could not be stored: {exc}"]})}
    raise AssertionError("unreachable")


def _chunks_with_unique_ids(items: list[Item], size: int = 500):
    """Chunks of at most ``size`` in which each source id appears once (a
    repeated id starts a new chunk, so the later version is applied after)."""
    chunk: list[Item] = []
    seen: set[str] = set()
    for item in items:
        if item.source_id in seen or len(chunk) >= size:
            yield chunk
            chunk, seen = [], set()
        chunk.append(item)
        seen.add(item.source_id)
    if chunk:
        yield chunk


def reason_for(verb: str, subject: str) -> str:
    ctx = require_context()
    base = f"{verb} {subject}"
    return f"{ctx.reason}: {base}" if ctx.reason and not ctx.reason.endswith(base) else base


def pair(a, b) -> tuple:
    a, b = str(a), str(b)
    return (a, b) if a < b else (b, a)


def open_review_tasks(entity_type, proposals) -> dict:
    """Put suspected duplicate pairs on the steward queue, unless a steward
    already said they are different, or they are already there; a few
    set-based queries for any number of pairs.  ``proposals`` are
    ``(key, golden_a, golden_b, score, explanation)``; returns
    ``{key: [ids of the open tasks for its pairs]}`` for the keys that have one."""
    from mdm.audit import current, history_attrs
    from mdm.bulkwrite import create_with_history

    asked: dict = {}  # pair -> [(key, score, explanation)]
    for key, a, b, score, explanation in proposals:
        asked.setdefault(pair(a, b), []).append((key, score, explanation))
    if not asked:
        return {}
    firsts, seconds = {a for a, _ in asked}, {b for _, b in asked}
    refused = {(str(a), str(b)) for a, b in NotDuplicate.objects.filter(
        entity_type=entity_type, golden_a__in=firsts, golden_b__in=seconds).values_list("golden_a", "golden_b")}
    queued = {(str(t.golden_a), str(t.golden_b)): t for t in MatchTask.objects.filter(
        entity_type=entity_type, golden_a__in=firsts, golden_b__in=seconds)}
    open_tasks, new = {}, []
    for (a, b), asks in asked.items():
        if (a, b) in refused:
            continue
        task = queued.get((a, b))
        if task is None:
            _, score, explanation = asks[0]
            task = MatchTask(entity_type=entity_type, golden_a=a, golden_b=b, score=score,
                             explanation=explanation, status=TaskStatus.OPEN)
            task._change_reason = reason_for("suspected duplicate", f"{a} ~ {b} (score {score:.3f})")
            new.append(task)
        elif task.status not in (TaskStatus.OPEN, TaskStatus.DEFERRED):
            continue  # decided already: not proposed again
        open_tasks[(a, b)] = task
    if new:
        ctx = current()
        create_with_history(new, MatchTask, default_user=ctx.effective_user() if ctx else None,
                            custom_historical_attrs=history_attrs())
    out: dict = {}
    for pair_key, task in open_tasks.items():
        for key, _, _ in asked[pair_key]:
            out.setdefault(key, []).append(task.pk)
    return out


def open_review_task(entity_type, golden_a, golden_b, score, explanation):
    """:func:`open_review_tasks` for one pair: the open task, or None."""
    ids = open_review_tasks(entity_type, [(0, golden_a, golden_b, score, explanation)]).get(0)
    return MatchTask.objects.get(pk=ids[0]) if ids else None
