"""All writes of the sync engine: subscriptions, the outbox, claiming and
finishing deliveries, retries, replay and write-back of target ids.

Flow: a master changes → ``write_outbox`` (same transaction: one
``OutboxEvent`` and one ``Delivery`` per subscribed system) → after commit the
``deliver`` task runs ``process`` → ``claim`` (conditional, per record in
version order) → connector ``send`` → ``finish`` (delivered / retrying /
failed / dead).  ``due_for_sweep`` finds rows whose task was lost (crash
between commit and publish, broker restart, killed worker) so the beat
sweeper re-enqueues them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Subquery
from django.utils import timezone

from mdm.audit import audit_context, current, require_context
from mdm.choices import Origin, SystemKind, XrefRole
from mdm.models import CrossReference, SourceSystem
from sync.choices import OPEN_STATUSES, OUTBOUND_CHANGES, PROBLEM_STATUSES, DeliveryStatus, ErrorCategory
from sync.connectors import get_connector_class
from sync.connectors.base import Envelope, PermanentError, Result, TransientError
from sync.models import Delivery, OutboxEvent, Subscription

log = logging.getLogger("sync")


class SyncError(Exception):
    """A refused sync action, with a message for the person who asked."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message, self.field, self.code = message, field, code


def _eager() -> bool:
    from mdm.celery import app

    return bool(app.conf.task_always_eager)


def _queue() -> str:
    from mdm.celery import app

    return app.conf.task_default_queue or "celery"


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- secrets -----------------------------------------------------------------
# The webhook secret must be usable (to sign), so it cannot be hashed.  It is
# stored encrypted with Fernet under a key derived from SECRET_KEY (rotating
# SECRET_KEY means running add_subscription again), or not stored at all: a
# subscription may name an environment variable (``secret_env``) instead.

def _fernet():
    from cryptography.fernet import Fernet

    key = hashlib.sha256(b"mdm-sync-secret:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def subscription_secret(subscription: Subscription) -> str:
    if subscription.secret_env:
        return os.environ.get(subscription.secret_env, "")
    if not subscription.secret_encrypted:
        return ""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(subscription.secret_encrypted.encode()).decode()
    except InvalidToken:
        log.error("subscription %s: stored secret cannot be decrypted (SECRET_KEY changed?)", subscription.pk)
        return ""


# --- subscriptions -------------------------------------------------------------

@transaction.atomic
def upsert_subscription(*, system: str, connector: str = "webhook", config: dict | None = None,
                        secret: str | None = None, entity_types: list[str], mapping: dict | None = None,
                        active: bool = True, max_attempts: int | None = None, kind: str | None = None,
                        name: str | None = None) -> tuple[Subscription, bool]:
    """Create or update the subscription of ``system`` (created if unknown).
    ``secret`` is ``env:NAME`` (read from the environment when signing) or
    the secret itself (stored encrypted).  Returns (subscription, created)."""
    require_context()
    sys_obj = SourceSystem.objects.filter(code=system).first()
    if sys_obj is None:
        sys_obj = SourceSystem(code=system, name=name or system, kind=kind or SystemKind.OTHER)
        sys_obj.full_clean()
        sys_obj.save()
    elif kind and sys_obj.kind != kind:
        sys_obj.kind = kind
        sys_obj.save()
    sub = Subscription.objects.select_for_update().filter(system=sys_obj).first()
    created = sub is None
    if created:
        sub = Subscription(system=sys_obj)
    sub.connector = connector
    if config is not None:
        sub.config = {**(sub.config or {}), **config}
    sub.entity_types = sorted(set(entity_types))
    if mapping is not None:
        sub.mapping = mapping
    if max_attempts is not None:
        sub.max_attempts = max_attempts
    sub.active = active
    if secret is not None:
        if secret.startswith("env:"):
            sub.secret_env, sub.secret_encrypted = secret[4:], ""
        else:
            sub.secret_env, sub.secret_encrypted = "", encrypt_secret(secret)
    if not sub.secret_env and not sub.secret_encrypted and sub.connector == "webhook":
        raise SyncError("A webhook subscription needs a signing secret (--secret)", field="secret")
    from django.core.exceptions import ValidationError

    try:
        sub.full_clean(exclude=["system"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise SyncError("; ".join(messages), field=field) from None
    sub.save()
    forget_subscriptions()
    return sub, created


_SUB_CACHE: dict = {"at": 0.0, "subs": None}


def forget_subscriptions() -> None:
    _SUB_CACHE["subs"] = None


def active_subscriptions() -> list[Subscription]:
    """Active subscriptions, cached for a few seconds per process (the
    outbox receiver runs on every master change)."""
    ttl = _setting("SYNC_SUBSCRIPTION_CACHE_SECONDS", 5.0)
    if _SUB_CACHE["subs"] is None or time.monotonic() - _SUB_CACHE["at"] > ttl or getattr(settings, "TESTING", False):
        _SUB_CACHE["subs"] = list(Subscription.objects.filter(active=True).select_related("system"))
        _SUB_CACHE["at"] = time.monotonic()
    return _SUB_CACHE["subs"]


# --- the outbox ------------------------------------------------------------------

def write_outbox(record, change: str, extra: dict | None = None) -> list[Delivery]:
    """Write the event and its deliveries in the caller's transaction and
    enqueue them after commit.  Called from the ``master_changed`` receiver."""
    if change not in OUTBOUND_CHANGES:
        return []
    subs = [s for s in active_subscriptions() if s.wants(record.entity_type)]
    if not subs:
        return []
    from mdm.services.golden import golden_values

    if record.state != "approved":
        # A retirement, merge or unmerge matters to a system only if it has
        # (or was about to get) the record.
        known = set(Delivery.objects.filter(entity_type=record.entity_type, golden_id=record.pk,
                                            subscription__in=subs).values_list("subscription_id", flat=True))
        subs = [s for s in subs if s.pk in known]
        if not subs:
            return []
    ctx = current()
    cid = ctx.correlation_id if ctx else ""
    clean_extra = {k: (v if isinstance(v, (str, int, float, bool, type(None))) else str(v))
                   for k, v in (extra or {}).items()}
    event = OutboxEvent.objects.create(
        entity_type=record.entity_type, golden_id=record.pk, version=record.version, change=change,
        state=record.state, payload=golden_values(record), extra=clean_extra, correlation_id=cid,
    )
    now = timezone.now()
    existing = {
        d.subscription_id: d
        for d in Delivery.objects.filter(entity_type=record.entity_type, golden_id=record.pk,
                                         version=record.version, subscription__in=subs)
    }
    out, new = [], []
    for sub in subs:
        d = existing.get(sub.pk)
        if d is not None:
            # Same version again (e.g. approved, then unmerged without a change):
            # an undelivered row carries the newest event; a delivered one stays.
            if d.status in OPEN_STATUSES:
                d.event, d.change = event, change
                d.save(update_fields=["event", "change", "updated_at"])
                out.append(d)
            continue
        new.append(Delivery(event=event, subscription=sub, system_id=sub.system_id, entity_type=record.entity_type,
                            golden_id=record.pk, version=record.version, change=change, next_attempt_at=now,
                            enqueued_at=now, correlation_id=cid))
    # The record is locked by the service that changed it, so no one else
    # writes this (record, version) concurrently; deliveries keep no history.
    out += Delivery.objects.bulk_create(new)
    ids = [str(d.pk) for d in out]
    if ids:
        transaction.on_commit(lambda: enqueue(ids), robust=True)
    return out


def enqueue(ids, countdown: float | None = None) -> int:
    """Publish ``deliver`` tasks; a broker outage is logged, not raised: the
    sweeper re-enqueues whatever did not get through."""
    from sync.tasks import deliver

    sent = 0
    for delivery_id in ids:
        try:
            deliver.apply_async(args=[str(delivery_id)], countdown=countdown, queue=_queue(),
                                retry=True, retry_policy={"max_retries": 1, "interval_start": 0,
                                                          "interval_step": 0.2, "interval_max": 0.5})
            sent += 1
        except Exception as exc:  # noqa: BLE001 - broker down: the sweeper takes over
            log.warning("sync: could not publish %s delivery task(s): %s", len(ids) - sent, exc)
            break
    return sent


# --- retries ---------------------------------------------------------------------

def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Capped exponential backoff with "equal jitter": half the step fixed,
    half random, so a crowd of failures spreads out."""
    base = float(_setting("SYNC_BACKOFF_BASE", 2.0))
    cap = float(_setting("SYNC_BACKOFF_CAP", 1800.0))
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = step / 2 + random.uniform(0, step / 2)
    if retry_after:
        delay = max(delay, min(float(retry_after), cap))
    return delay


def lease_seconds(subscription: Subscription) -> float:
    timeout = float((subscription.config or {}).get("timeout", 10))
    return 2 * timeout + float(_setting("SYNC_LEASE_MARGIN", 30.0))


# --- claiming and delivering -------------------------------------------------------

@dataclass
class Outcome:
    status: str  # delivered | retrying | failed | dead | skipped
    delivery_id: str
    reason: str = ""
    retry_in: float | None = None
    follow_up: list | None = None  # delivery ids to enqueue now (next version of the record)


def _supersede(ids, by_version: int) -> None:
    if ids:
        Delivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.SUPERSEDED, lease_until=None, updated_at=timezone.now(),
            last_error=f"superseded by version {by_version}",
        )


def _relaxed_commit() -> None:
    """Inside a delivery-bookkeeping transaction on PostgreSQL: don't wait for
    the WAL flush at commit.  A crash can lose the last few hundred ms of
    status changes; the delivery then looks pending or in flight again and is
    re-sent with the same Idempotency-Key, which the target deduplicates —
    the same path as a worker killed mid-delivery."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit TO OFF")


def _live(s: Delivery, now) -> bool:
    """Open, or in flight on a worker whose lease has not run out."""
    return s.status in OPEN_STATUSES or (s.status == DeliveryStatus.IN_FLIGHT and s.lease_until is not None
                                         and s.lease_until > now)


def claim(delivery_id, *, now=None, force: bool = False):
    """Take a delivery for one try, or say why not.  Per (system, record) the
    versions go out in order: a delivery waits while an older version is in
    flight, supersedes older ones that have not gone out (payloads are full
    snapshots, so the newer one carries everything), and is itself
    superseded if a newer version is queued or was delivered.

    One query locks every delivery of the same (system, record) in version
    order — every claimer takes the same locks, so two workers cannot send
    two versions of one record at once.  Returns (delivery or None, reason);
    the delivery has ``_older_to_supersede`` set for ``finish``."""
    now = now or timezone.now()
    with transaction.atomic():
        _relaxed_commit()
        key = Delivery.objects.filter(pk=delivery_id)
        sibs = list(
            Delivery.objects.select_for_update(of=("self",)).select_related("event", "system")
            .filter(subscription_id=Subquery(key.values("subscription_id")[:1]),
                    entity_type=Subquery(key.values("entity_type")[:1]),
                    golden_id=Subquery(key.values("golden_id")[:1]))
            .order_by("version")
        )
        d = next((s for s in sibs if str(s.pk) == str(delivery_id)), None)
        if d is None:
            return None, "missing"
        expired = d.status == DeliveryStatus.IN_FLIGHT and d.lease_until is not None and d.lease_until <= now
        if d.status not in OPEN_STATUSES and not expired:
            return None, f"not claimable ({d.status})"
        if not force and not expired and d.next_attempt_at > now:
            return None, "not due yet"
        newer = [s for s in sibs if s.version > d.version and (s.status == DeliveryStatus.DELIVERED or _live(s, now))]
        if newer:
            _supersede([d.pk], newer[-1].version)
            return None, f"superseded (version {newer[-1].version} is queued or delivered)"
        if any(s.version < d.version and s.status == DeliveryStatus.IN_FLIGHT and not (
               s.lease_until is None or s.lease_until <= now) for s in sibs):
            return None, "waiting for an older version in flight"
        older = [s.pk for s in sibs if s.version < d.version and s.status not in (
            DeliveryStatus.DELIVERED, DeliveryStatus.SUPERSEDED)]
        sub = _subscription(d.subscription_id)
        lease = now + timedelta(seconds=lease_seconds(sub))
        taken = Delivery.objects.filter(pk=d.pk, status=d.status, attempts=d.attempts).update(
            status=DeliveryStatus.IN_FLIGHT, attempts=d.attempts + 1, lease_until=lease, updated_at=now,
        )
        if not taken:
            return None, "taken by another worker"
    d.status, d.attempts, d.lease_until = DeliveryStatus.IN_FLIGHT, d.attempts + 1, lease
    d._older_to_supersede = older
    return d, "claimed"


_SUBS_BY_ID: dict = {}


def _subscription(pk) -> Subscription:
    """Subscription by id, cached for a few seconds (workers look it up per delivery)."""
    hit = _SUBS_BY_ID.get(pk)
    ttl = _setting("SYNC_SUBSCRIPTION_CACHE_SECONDS", 5.0)
    if hit and time.monotonic() - hit[0] < ttl and not getattr(settings, "TESTING", False):
        return hit[1]
    sub = Subscription.objects.select_related("system").get(pk=pk)
    _SUBS_BY_ID[pk] = (time.monotonic(), sub)
    return sub


def map_data(subscription: Subscription, entity_type: str, data: dict) -> dict:
    """Canonical names and values → the target's, per the subscription's mapping."""
    spec = (subscription.mapping or {}).get(entity_type) or {}
    names, values, only = spec.get("fields") or {}, spec.get("values") or {}, spec.get("only_mapped", False)
    out = {}
    for key, value in data.items():
        if only and key not in names:
            continue
        if key in values and value is not None:
            value = values[key].get(str(value), value)
        out[names.get(key, key)] = value
    return out


def target_id_of(system_id, entity_type: str, golden_id) -> str | None:
    return (CrossReference.objects.filter(system_id=system_id, entity_type=entity_type, golden_id=golden_id,
                                          role=XrefRole.TARGET)
            .values_list("external_id", flat=True).first())


def build_envelope(d: Delivery, subscription: Subscription) -> Envelope:
    """The message for one delivery.  One query finds the ids this system
    gave the record, the records it references and (for a merge) the survivor."""
    event = d.event
    from mdm import canonical

    wanted = {(d.entity_type, str(d.golden_id))}
    ref_fields = {}
    for f in canonical.fields_for(d.entity_type):
        if f.kind == "ref" and event.payload.get(f.name):
            ref_fields[f.name] = (f.ref, str(event.payload[f.name]))
            wanted.add(ref_fields[f.name])
    survivor = event.extra.get("survivor") if d.change == "merged" else None
    if survivor:
        wanted.add((d.entity_type, str(survivor)))
    known = {}
    for et, gid, ext in (CrossReference.objects.filter(system_id=d.system_id, role=XrefRole.TARGET,
                                                       golden_id__in={g for _, g in wanted})
                         .values_list("entity_type", "golden_id", "external_id")):
        known[(et, str(gid))] = ext
    refs = {name: known[key] for name, key in ref_fields.items() if key in known}
    extra = {k: v for k, v in event.extra.items() if k not in ("survivor", "auto")}
    if refs:
        extra["ref_target_ids"] = refs
    d._known_target_id = known.get((d.entity_type, str(d.golden_id)))
    return Envelope(
        delivery_id=str(d.pk), event=d.change, entity_type=d.entity_type, golden_id=str(d.golden_id),
        version=d.version, state=event.state, occurred_at=event.created_at.isoformat(),
        data=map_data(subscription, d.entity_type, event.payload),
        target_id=d._known_target_id, survivor_id=survivor,
        survivor_target_id=known.get((d.entity_type, str(survivor))) if survivor else None,
        correlation_id=d.correlation_id, extra=extra,
    )


def process(delivery_id, *, force: bool = False) -> Outcome:
    """One try of one delivery: claim, send, record the result."""
    d, why = claim(delivery_id, force=force)
    if d is None:
        return Outcome("skipped", str(delivery_id), why)
    sub = _subscription(d.subscription_id)
    started = time.monotonic()
    try:
        envelope = build_envelope(d, sub)
        result = get_connector_class(sub.connector)(sub).send(envelope)
    except (PermanentError, TransientError) as exc:
        return finish(d, sub, error=exc, duration=time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - a connector bug or an outage we did not foresee: retry
        log.exception("sync: connector %s failed on %s", sub.connector, d.pk)
        err = TransientError(f"{exc.__class__.__name__}: {str(exc)[:500]}")
        return finish(d, sub, error=err, duration=time.monotonic() - started)
    return finish(d, sub, result=result, duration=time.monotonic() - started)


def finish(d: Delivery, sub: Subscription, *, result: Result | None = None, error=None,
           duration: float = 0.0) -> Outcome:
    """Record a try's result — only if this worker still holds the delivery
    (same attempt, still in flight): a late result after a takeover is dropped."""
    now = timezone.now()
    mine = Delivery.objects.filter(pk=d.pk, status=DeliveryStatus.IN_FLIGHT, attempts=d.attempts)
    common = {"lease_until": None, "updated_at": now, "duration_ms": int(duration * 1000)}
    if result is not None:
        with transaction.atomic():
            _relaxed_commit()
            done = mine.update(
                status=DeliveryStatus.DELIVERED, delivered_at=now, response_status=result.status,
                response_body=(result.body or "")[:2000], target_id=result.target_id or "",
                latency_ms=max(0, int((now - d.event.created_at).total_seconds() * 1000)),
                error_category=ErrorCategory.NONE, **common,
            )
            if not done:
                return Outcome("skipped", str(d.pk), "result arrived after the lease was taken over")
            _supersede(getattr(d, "_older_to_supersede", []), d.version)
            follow = [str(pk) for pk in Delivery.objects.filter(
                subscription_id=d.subscription_id, entity_type=d.entity_type, golden_id=d.golden_id,
                version__gt=d.version, status__in=OPEN_STATUSES, next_attempt_at__lte=now).values_list("pk", flat=True)]
            known = getattr(d, "_known_target_id", None)
            if result.target_id and d.change != "merged" and result.target_id != known:
                record_target_id(system=d.system, entity_type=d.entity_type, golden_id=d.golden_id,
                                 external_id=result.target_id, correlation_id=d.correlation_id)
        return Outcome("delivered", str(d.pk), follow_up=follow)
    status = getattr(error, "status", None)
    body = (getattr(error, "body", "") or "")[:2000]
    if isinstance(error, PermanentError):
        mine.update(status=DeliveryStatus.FAILED, last_error=error.message[:2000], error_category=error.category,
                    response_status=status, response_body=body, **common)
        log.warning("sync: %s rejected %s v%s: %s", sub.system.code, d.golden_id, d.version, error.message)
        return Outcome("failed", str(d.pk), error.message)
    if d.attempts >= sub.max_attempts:
        mine.update(status=DeliveryStatus.DEAD, last_error=f"{error.message[:1900]} (gave up after {d.attempts} tries)",
                    error_category=error.category, response_status=status, response_body=body, **common)
        return Outcome("dead", str(d.pk), error.message)
    delay = backoff(d.attempts, getattr(error, "retry_after", None))
    when = now + timedelta(seconds=delay)
    short = delay <= float(_setting("SYNC_MAX_COUNTDOWN", 60.0)) and not _eager()
    mine.update(status=DeliveryStatus.RETRYING, next_attempt_at=when, enqueued_at=when if short else None,
                last_error=error.message[:2000], error_category=error.category, response_status=status,
                response_body=body, **common)
    return Outcome("retrying", str(d.pk), error.message, retry_in=delay if short else None)


# --- write-back --------------------------------------------------------------------

def record_target_id(*, system: SourceSystem, entity_type: str, golden_id, external_id: str,
                     correlation_id: str = "") -> CrossReference | None:
    """Keep the id a target gave a record (ERP customer number) as its
    cross-reference, with history; later deliveries send it as ``target_id``."""
    external_id = str(external_id)[:128]
    with audit_context(origin=Origin.SYNC, reason=f"sync:{system.code}: id given by {system.code}",
                       correlation_id=correlation_id or None):
        xref = CrossReference.objects.filter(system=system, entity_type=entity_type, golden_id=golden_id,
                                             role=XrefRole.TARGET).first()
        if xref is not None:
            if xref.external_id != external_id:
                xref.external_id = external_id
                try:
                    with transaction.atomic():
                        xref.save()
                except IntegrityError:
                    log.warning("sync: %s id %s already belongs to another golden record", system.code, external_id)
                    return None
            return xref
        try:
            with transaction.atomic():
                return CrossReference.objects.create(system=system, entity_type=entity_type, golden_id=golden_id,
                                                     external_id=external_id, role=XrefRole.TARGET)
        except IntegrityError:
            log.warning("sync: %s id %s already belongs to another golden record", system.code, external_id)
            return None


# --- the sweeper -----------------------------------------------------------------------

def due_for_sweep(*, now=None, limit: int = 2000) -> list[str]:
    """Deliveries whose task is presumably lost: due and not (recently)
    enqueued, or in flight past their lease.  Marks them enqueued now."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=float(_setting("SYNC_REENQUEUE_AFTER", 30.0)))
    not_recent = Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=stale)
    q = (Q(status__in=OPEN_STATUSES, next_attempt_at__lte=now) & not_recent) | (
        Q(status=DeliveryStatus.IN_FLIGHT, lease_until__lte=now) & (not_recent | Q(enqueued_at__lt=F("lease_until"))))
    ids = list(Delivery.objects.filter(q).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    if ids:
        Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    return [str(i) for i in ids]


# --- replay ------------------------------------------------------------------------------

def replay(delivery: Delivery, *, actor=None) -> Delivery:
    """Send a failed or dead delivery again (same Idempotency-Key, a fresh
    retry budget, the subscription's current mapping)."""
    ctx = require_context()
    now = timezone.now()
    with transaction.atomic():
        d = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if d.status not in PROBLEM_STATUSES:
            raise SyncError(f"Only failed or dead deliveries can be replayed; this one is {d.get_status_display().lower()}",
                            code="state")
        newer = (Delivery.objects.filter(subscription_id=d.subscription_id, entity_type=d.entity_type,
                                         golden_id=d.golden_id, version__gt=d.version,
                                         status=DeliveryStatus.DELIVERED).order_by("-version").first())
        if newer is not None:
            _supersede([d.pk], newer.version)
            raise SyncError(f"Version {newer.version} of this record was delivered since; sending version "
                            f"{d.version} would put an older version back", code="stale")
        d.status, d.attempts, d.next_attempt_at, d.enqueued_at = DeliveryStatus.PENDING, 0, now, now
        d.replay_count += 1
        d.replayed_by = ctx.effective_actor() or (getattr(actor, "username", "") if actor else "")
        d.replayed_at = now
        d.save(update_fields=["status", "attempts", "next_attempt_at", "enqueued_at", "replay_count",
                              "replayed_by", "replayed_at", "updated_at"])
        transaction.on_commit(lambda: enqueue([str(d.pk)]), robust=True)
    return d


def replay_dead(*, system: SourceSystem, actor=None) -> dict:
    """Replay every dead delivery of a system.  Returns counts."""
    counts = {"replayed": 0, "stale": 0}
    for d in Delivery.objects.filter(system=system, status=DeliveryStatus.DEAD).order_by("created_at"):
        try:
            replay(d, actor=actor)
            counts["replayed"] += 1
        except SyncError:
            counts["stale"] += 1
    return counts
