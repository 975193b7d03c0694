"""Reconciliation: read back what a target system holds for the hub's
records and report drift, with a re-send.

For each approved golden record of the entity types a subscription sends:

* **missing**: the target has no record for it (never delivered, or deleted
  there), or holds it deactivated;
* **stale**: the newest version delivered is older than the golden record's
  version (and no newer delivery is on its way);
* **differs**: the target's values differ from the golden values (someone
  changed them in the target directly).

A connector takes part by offering ``reconcile(entity_type, items)`` (see
the Tryton connector); others are reported as not supporting it.

``drift_report(system)`` is a read (the monitor page can show it);
``resend(...)`` queues the record's current version again through the
normal delivery path (same engine, same retries, a new history of tries)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from django.db import transaction
from django.utils import timezone

from mdm import canonical
from mdm.audit import require_context
from mdm.choices import LifecycleState, XrefRole
from mdm.models import CrossReference, golden_model
from mdm.services.golden import golden_values
from sync.choices import OPEN_STATUSES, DeliveryStatus
from sync.connectors import get_connector_class
from sync.models import Delivery, Subscription

MISSING, STALE, DIFFERS = "missing", "stale", "differs"


class ReconcileError(Exception):
    pass


@dataclass
class Drift:
    entity_type: str
    golden_id: str
    name: str
    kinds: list[str]
    golden_version: int
    delivered_version: int | None
    target_id: str | None
    differences: list[dict] = field(default_factory=list)  # {"field", "hub", "target"}
    delivery_id: str | None = None  # the newest delivery (what a re-send replays)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DriftReport:
    system: str
    checked: int = 0
    in_sync: int = 0
    drift: list[Drift] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    seconds: float = 0.0
    at: str = ""

    def counts(self) -> dict[str, int]:
        out = {MISSING: 0, STALE: 0, DIFFERS: 0}
        for d in self.drift:
            for k in d.kinds:
                out[k] += 1
        return out

    def to_dict(self) -> dict:
        return {"system": self.system, "checked": self.checked, "in_sync": self.in_sync, "counts": self.counts(),
                "drift": [d.to_dict() for d in self.drift], "unsupported": self.unsupported,
                "seconds": round(self.seconds, 3), "at": self.at}


def _subscription(system_code: str) -> Subscription:
    sub = Subscription.objects.select_related("system").filter(system__code=system_code).first()
    if sub is None:
        raise ReconcileError(f"'{system_code}' has no subscription: nothing is sent to it, nothing to reconcile")
    return sub


def drift_report(system_code: str, *, entity_types=None, limit: int | None = None) -> DriftReport:
    """Compare what the target holds with the hub's approved records (a read; writes nothing)."""
    started = time.monotonic()
    sub = _subscription(system_code)
    connector = get_connector_class(sub.connector)(sub)
    report = DriftReport(system=system_code, at=timezone.now().isoformat())
    if not hasattr(connector, "reconcile"):
        report.unsupported = list(sub.entity_types)
        return report
    from sync.services import map_data

    for entity_type in [e for e in (entity_types or sub.entity_types) if e in sub.entity_types]:
        model = golden_model(entity_type)
        records = list(model.objects.filter(state=LifecycleState.APPROVED).order_by("created_at", "id")[:limit])
        if not records:
            continue
        ids = [r.pk for r in records]
        targets = dict(CrossReference.objects.filter(system=sub.system, entity_type=entity_type, role=XrefRole.TARGET,
                                                     golden_id__in=ids).values_list("golden_id", "external_id"))
        delivered: dict = {}
        newest: dict = {}
        pending: set = set()
        for d in (Delivery.objects.filter(subscription=sub, entity_type=entity_type, golden_id__in=ids)
                  .order_by("version", "created_at").values("id", "golden_id", "version", "status")):
            newest[d["golden_id"]] = d
            if d["status"] == DeliveryStatus.DELIVERED:
                delivered[d["golden_id"]] = d["version"]
            elif d["status"] in OPEN_STATUSES or d["status"] == DeliveryStatus.IN_FLIGHT:
                pending.add(d["golden_id"])
        ref_fields = [f for f in canonical.fields_for(entity_type) if f.kind == "ref"]
        ref_targets = {}
        for f in ref_fields:
            ref_ids = {getattr(r, f"{f.name}_id") for r in records if getattr(r, f"{f.name}_id")}
            ref_targets[f.name] = dict(CrossReference.objects.filter(
                system=sub.system, entity_type=f.ref, role=XrefRole.TARGET, golden_id__in=ref_ids)
                .values_list("golden_id", "external_id"))
        items = []
        for r in records:
            refs = {f.name: ref_targets[f.name].get(getattr(r, f"{f.name}_id")) for f in ref_fields
                    if getattr(r, f"{f.name}_id")}
            items.append({"golden_id": str(r.pk), "target_id": targets.get(r.pk),
                          "data": map_data(sub, entity_type, golden_values(r)),
                          "ref_target_ids": {k: v for k, v in refs.items() if v}})
        results = {x["golden_id"]: x for x in connector.reconcile(entity_type, items)}
        for r in records:
            report.checked += 1
            res = results.get(str(r.pk)) or {"found": False}
            kinds = []
            if not res.get("found") or not res.get("active", True):
                kinds.append(MISSING)
            version = delivered.get(r.pk)
            if r.pk not in pending and (version is None or version < r.version) and MISSING not in kinds:
                kinds.append(STALE)
            diffs = [{"field": f, "hub": h, "target": t} for f, h, t in res.get("differences") or []]
            if diffs and MISSING not in kinds:
                kinds.append(DIFFERS)
            if r.pk in pending and kinds == [MISSING] and version is None:
                kinds = []  # on its way: not drift yet
            if not kinds:
                report.in_sync += 1
                continue
            last = newest.get(r.pk)
            report.drift.append(Drift(
                entity_type=entity_type, golden_id=str(r.pk), name=str(r), kinds=kinds, golden_version=r.version,
                delivered_version=version, target_id=res.get("target_id") or targets.get(r.pk), differences=diffs,
                delivery_id=str(last["id"]) if last else None))
    report.seconds = time.monotonic() - started
    return report


def resend(*, system_code: str, entity_type: str, golden_id, actor=None) -> Delivery:
    """Queue the record's current version to the system again, through the
    normal delivery path: the existing delivery of that version is put back
    to *pending* (same Idempotency-Key, a fresh retry budget, the replay
    noted on it), or a new one is written if the version never went out."""
    ctx = require_context()
    sub = _subscription(system_code)
    record = golden_model(entity_type).objects.get(pk=golden_id)
    if record.state != LifecycleState.APPROVED:
        raise ReconcileError(f"{record} is {record.state}; only approved records are sent")
    from sync.services import enqueue, write_outbox

    now = timezone.now()
    with transaction.atomic():
        d = (Delivery.objects.select_for_update()
             .filter(subscription=sub, entity_type=entity_type, golden_id=record.pk, version=record.version).first())
        if d is None:
            out = [x for x in write_outbox(record, "approved") if x.subscription_id == sub.pk]
            if not out:
                raise ReconcileError(f"{system_code} does not receive {entity_type} records")
            return out[0]
        if d.status in OPEN_STATUSES or d.status == DeliveryStatus.IN_FLIGHT:
            return d  # already on its way
        d.status, d.attempts, d.next_attempt_at, d.enqueued_at = DeliveryStatus.PENDING, 0, now, now
        d.replay_count += 1
        d.replayed_by = ctx.effective_actor() or (getattr(actor, "username", "") if actor else "")
        d.replayed_at = now
        d.last_error = "re-sent by reconciliation"
        d.save(update_fields=["status", "attempts", "next_attempt_at", "enqueued_at", "replay_count",
                              "replayed_by", "replayed_at", "last_error", "updated_at"])
        transaction.on_commit(lambda: enqueue([str(d.pk)]), robust=True)
    return d


def resend_drift(report: DriftReport, *, actor=None) -> int:
    count = 0
    for item in report.drift:
        resend(system_code=report.system, entity_type=item.entity_type, golden_id=item.golden_id, actor=actor)
        count += 1
    return count
