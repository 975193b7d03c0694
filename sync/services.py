"""All writes of the sync engine: subscriptions, the outbox, claiming and
finishing deliveries, retries, replay and write-back of target ids.

Flow: a master changes → ``write_outbox`` (same transaction: one
``OutboxEvent`` and one ``Delivery`` per subscribed system) → after commit the
``deliver`` task runs ``process_batch`` → ``claim_batch`` (its own delivery
and other due ones to the same system, under row locks, per record in
version order) → connector ``send``, one message per delivery →
``finish_batch`` (delivered / retrying / failed / dead, write-back of target
ids; one transaction).  ``due_for_sweep`` finds rows whose task was lost
(crash between commit and publish, broker restart, killed worker) so the
beat sweeper re-enqueues them.
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
from django.db.models import F, Q
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


@dataclass
class Try:
    """One send: its delivery, the result or the error, how long it took and when it ended."""

    delivery: Delivery
    result: Result | None = None
    error: Exception | None = None
    seconds: float = 0.0
    at: object = None  # datetime; the finishing time when None


def batch_size() -> int:
    """Deliveries one ``deliver`` task may take to the same system in one run."""
    return max(1, int(_setting("SYNC_BATCH_SIZE", 50)))


def _batch_seconds() -> float:
    """How long a batch may go on starting sends; its leases are longer by as much."""
    return float(_setting("SYNC_BATCH_SECONDS", 2.0))


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


def _not_ready(status: str, next_attempt_at, lease_until, now, force: bool = False) -> str | None:
    """Why a delivery in this state cannot be taken now (None: it can)."""
    expired = status == DeliveryStatus.IN_FLIGHT and lease_until is not None and lease_until <= now
    if status not in OPEN_STATUSES and not expired:
        return f"not claimable ({status})"
    if not force and not expired and next_attempt_at > now:
        return "not due yet"
    return None


def _verdict(d: Delivery, sibs: list[Delivery], now, *, force: bool = False) -> str | None:
    """Why ``d`` may not be sent now, or None if it may.  ``sibs`` are all the
    deliveries of the same record to the same system, locked by the caller.
    Supersedes ``d`` when a newer version is queued or was delivered; sets
    ``d._older_to_supersede`` (older versions the delivery makes pointless)."""
    why = _not_ready(d.status, d.next_attempt_at, d.lease_until, now, force)
    if why:
        return why
    newer = [s for s in sibs if s.version > d.version and (s.status == DeliveryStatus.DELIVERED or _live(s, now))]
    if newer:
        _supersede([d.pk], newer[-1].version)
        return f"superseded (version {newer[-1].version} is queued or delivered)"
    if any(s.version < d.version and s.status == DeliveryStatus.IN_FLIGHT and not (
           s.lease_until is None or s.lease_until <= now) for s in sibs):
        return "waiting for an older version in flight"
    d._older_to_supersede = [s.pk for s in sibs if s.version < d.version and s.status not in (
        DeliveryStatus.DELIVERED, DeliveryStatus.SUPERSEDED)]
    return None


def claim(delivery_id, *, now=None, force: bool = False):
    """Take one delivery for one try, or say why not: :func:`claim_batch`
    with a batch of one.  Returns (delivery or None, reason)."""
    taken, why = claim_batch(delivery_id, limit=1, now=now, force=force)
    return (taken[0] if taken else None), why


def claim_batch(delivery_id, *, limit: int = 1, now=None, force: bool = False) -> tuple[list[Delivery], str]:
    """Take ``delivery_id`` for one try (or say why not) and, with ``limit``
    above one, up to ``limit - 1`` other due deliveries to the same system.

    Per (system, record) the versions go out in order: a delivery waits while
    an older version is in flight, supersedes older ones that have not gone
    out (payloads are full snapshots, so the newer one carries everything),
    and is itself superseded if a newer version is queued or was delivered.
    So a claimer locks every delivery of a record before deciding.  For
    ``delivery_id`` it waits for those locks, in version order, while it
    holds no other lock, so two workers never send two versions of one
    record at once.  The others are taken only where every row of their
    record could be locked without waiting (``SKIP LOCKED``: a record someone
    else is deciding on is left to them), so claimers never wait while
    holding locks and cannot deadlock.

    A first look without locks settles the common no-op (a task whose
    delivery went out in an earlier batch, with nothing else due) in two
    reads; whoever changes a delivery's state later enqueues it again
    (retry countdown, follow-up, replay) or the sweeper does.

    Returns the claimed deliveries (``delivery_id``'s first, if it was
    taken) and why ``delivery_id`` was or was not taken.  Each claimed
    delivery has ``_older_to_supersede`` set for :func:`finish_batch`."""
    now = now or timezone.now()
    row = (Delivery.objects.filter(pk=delivery_id)
           .values("subscription_id", "entity_type", "golden_id", "status", "next_attempt_at", "lease_until").first())
    if row is None:
        return [], "missing"
    why = _not_ready(row["status"], row["next_attempt_at"], row["lease_until"], now, force)
    due = []
    if limit > 1:  # (delivery_open_due_idx: read in index order, no sort)
        due = list(Delivery.objects.filter(subscription_id=row["subscription_id"], status__in=OPEN_STATUSES,
                                           next_attempt_at__lte=now)
                   .exclude(golden_id=row["golden_id"]).order_by("next_attempt_at")
                   .values_list("entity_type", "golden_id")[:limit])
    if why and not due:
        return [], why
    with transaction.atomic():
        _relaxed_commit()
        taken = []
        if why is None:
            sibs = list(Delivery.objects.select_for_update(of=("self",)).select_related("event", "system")
                        .filter(subscription_id=row["subscription_id"], entity_type=row["entity_type"],
                                golden_id=row["golden_id"]).order_by("version"))
            d = next((s for s in sibs if str(s.pk) == str(delivery_id)), None)
            why = _verdict(d, sibs, now, force=force) if d is not None else "missing"
            taken = [d] if why is None else []
        if due:
            taken += _claim_more(row["subscription_id"], list(dict.fromkeys(due)), limit - len(taken), now)
        if not taken:
            return [], why
        sub = _subscription(row["subscription_id"])
        lease = now + timedelta(seconds=lease_seconds(sub) + (_batch_seconds() if limit > 1 else 0))
        Delivery.objects.filter(pk__in=[t.pk for t in taken]).update(
            status=DeliveryStatus.IN_FLIGHT, attempts=F("attempts") + 1, lease_until=lease, updated_at=now)
    for t in taken:
        t._claimed_from = t.status
        t.status, t.attempts, t.lease_until = DeliveryStatus.IN_FLIGHT, t.attempts + 1, lease
    return taken, why or "claimed"


def _claim_more(subscription_id, keys: list, limit: int, now) -> list[Delivery]:
    """Up to ``limit`` due deliveries to one system among the records
    ``keys`` — (entity type, golden id), in that order — one per record (its
    newest due version), from records whose every delivery row this
    transaction could lock without waiting."""
    if limit <= 0:
        return []
    rows = Delivery.objects.filter(subscription_id=subscription_id, entity_type__in={et for et, _ in keys},
                                   golden_id__in={gid for _, gid in keys})
    locked = list(rows.select_for_update(of=("self",), skip_locked=True).select_related("event", "system")
                  .order_by("golden_id", "version"))
    records: dict = {}
    for s in locked:
        records.setdefault((s.entity_type, s.golden_id), []).append(s)
    held = {s.pk for s in locked}
    # read after locking: a row skipped (someone else holds it) or written since shows up here only
    for pk, et, gid in rows.values_list("pk", "entity_type", "golden_id"):
        if pk not in held:
            records.pop((et, gid), None)
    order = {key: i for i, key in enumerate(keys)}
    out = []
    for _, sibs in sorted(records.items(), key=lambda kv: order.get(kv[0], len(order))):
        ready = [s for s in sibs if s.status in OPEN_STATUSES and s.next_attempt_at <= now]
        if ready and _verdict(ready[-1], sibs, now) is None:
            out.append(ready[-1])
            if len(out) >= limit:
                break
    return out


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


def _references(d: Delivery) -> tuple[dict, str | None]:
    """The records a delivery's message names besides its own: {field: (entity type, golden id)} and,
    for a merge, the survivor's golden id."""
    from mdm import canonical

    payload = d.event.payload
    refs = {f.name: (f.ref, str(payload[f.name])) for f in canonical.fields_for(d.entity_type)
            if f.kind == "ref" and payload.get(f.name)}
    survivor = d.event.extra.get("survivor") if d.change == "merged" else None
    return refs, (str(survivor) if survivor else None)


def known_target_ids(deliveries: list[Delivery]) -> dict:
    """(entity type, golden id) → the id the deliveries' system gave it, for
    every record the deliveries' messages name (one query; one system)."""
    if not deliveries:
        return {}
    wanted = set()
    for d in deliveries:
        refs, survivor = _references(d)
        wanted.add(str(d.golden_id))
        wanted.update(gid for _, gid in refs.values())
        if survivor:
            wanted.add(survivor)
    return {(et, str(gid)): ext for et, gid, ext in (
        CrossReference.objects.filter(system_id=deliveries[0].system_id, role=XrefRole.TARGET, golden_id__in=wanted)
        .values_list("entity_type", "golden_id", "external_id"))}


def build_envelope(d: Delivery, subscription: Subscription, known: dict | None = None) -> Envelope:
    """The message for one delivery, with the ids this system gave the
    record, the records it references and (for a merge) the survivor:
    ``known`` from :func:`known_target_ids`, or looked up now."""
    if known is None:
        known = known_target_ids([d])
    event = d.event
    ref_fields, survivor = _references(d)
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
        survivor_target_id=known.get((d.entity_type, survivor)) if survivor else None,
        correlation_id=d.correlation_id, extra=extra,
    )


def process(delivery_id, *, force: bool = False) -> Outcome:
    """One try of one delivery: claim, send, record the result."""
    return process_batch(delivery_id, limit=1, force=force)[0]


def process_batch(delivery_id, *, limit: int | None = None, force: bool = False) -> list[Outcome]:
    """One try of ``delivery_id`` and of up to ``limit - 1`` other due
    deliveries to the same system: one claim, one connector (one keep-alive
    HTTP session), still one message — one Idempotency-Key — per delivery,
    and one write of all the results.  New sends stop after
    ``SYNC_BATCH_SECONDS`` (a slow or hanging target); the rest go back to
    the queue untried.  The first outcome is ``delivery_id``'s."""
    limit = batch_size() if limit is None else max(1, limit)
    claimed, why = claim_batch(delivery_id, limit=limit, force=force)
    first = None if claimed and str(claimed[0].pk) == str(delivery_id) else Outcome("skipped", str(delivery_id), why)
    if not claimed:
        return [first]
    deadline = time.monotonic() + _batch_seconds()
    sub = _subscription(claimed[0].subscription_id)
    connector = get_connector_class(sub.connector)(sub)
    known = known_target_ids(claimed)
    tries, untried = [], []
    for i, d in enumerate(claimed):
        if i and time.monotonic() > deadline:
            untried = claimed[i:]
            break
        started = time.monotonic()
        result = error = None
        try:
            result = connector.send(build_envelope(d, sub, known))
        except (PermanentError, TransientError) as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - a connector bug or an outage we did not foresee: retry
            log.exception("sync: connector %s failed on %s", sub.connector, d.pk)
            error = TransientError(f"{exc.__class__.__name__}: {str(exc)[:500]}")
        tries.append(Try(d, result, error, time.monotonic() - started, timezone.now()))
        if result is not None and result.target_id and d.change != "merged":
            known[(d.entity_type, str(d.golden_id))] = str(result.target_id)  # for later messages naming it
    outcomes = finish_batch(sub, tries, untried=untried)
    return ([first] if first else []) + outcomes


def finish(d: Delivery, sub: Subscription, *, result: Result | None = None, error=None,
           duration: float = 0.0) -> Outcome:
    """Record one try's result: :func:`finish_batch` for one delivery."""
    return finish_batch(sub, [Try(d, result, error, duration)])[0]


_RESULT_FIELDS = ["status", "attempts", "next_attempt_at", "enqueued_at", "delivered_at", "lease_until",
                  "last_error", "error_category", "response_status", "response_body", "target_id", "duration_ms",
                  "latency_ms", "updated_at"]


def finish_batch(sub: Subscription, tries: list[Try], *, untried: list[Delivery] = ()) -> list[Outcome]:
    """Record the results of ``tries`` and hand ``untried`` claimed deliveries back, in one
    transaction.  A result counts only if this worker still holds the
    delivery (same attempt, still in flight): a late result after a takeover
    is dropped.  Delivered records get their older versions superseded and
    their target ids written back (one insert, with history, for the batch)."""
    now = timezone.now()
    short_max = float(_setting("SYNC_MAX_COUNTDOWN", 60.0))
    eager = _eager()
    outcomes, rows, delivered = [], [], []
    with transaction.atomic():
        _relaxed_commit()
        ids = [t.delivery.pk for t in tries] + [d.pk for d in untried]
        held = dict(Delivery.objects.select_for_update().filter(pk__in=ids, status=DeliveryStatus.IN_FLIGHT)
                    .order_by("golden_id", "version").values_list("pk", "attempts"))
        for t in tries:
            d, result, error, at = t.delivery, t.result, t.error, t.at or now
            if held.get(d.pk) != d.attempts:
                outcomes.append(Outcome("skipped", str(d.pk), "result arrived after the lease was taken over"))
                continue
            d.lease_until, d.duration_ms = None, int(t.seconds * 1000)
            rows.append(d)
            if result is not None:
                d.status, d.delivered_at, d.response_status = DeliveryStatus.DELIVERED, at, result.status
                d.response_body, d.target_id = (result.body or "")[:2000], result.target_id or ""
                d.latency_ms = max(0, int((at - d.event.created_at).total_seconds() * 1000))
                d.error_category = ErrorCategory.NONE
                delivered.append(d)
                outcomes.append(Outcome("delivered", str(d.pk)))
                continue
            d.response_status = getattr(error, "status", None)
            d.response_body = (getattr(error, "body", "") or "")[:2000]
            d.error_category = error.category
            if isinstance(error, PermanentError):
                d.status, d.last_error = DeliveryStatus.FAILED, error.message[:2000]
                log.warning("sync: %s rejected %s v%s: %s", sub.system.code, d.golden_id, d.version, error.message)
                outcomes.append(Outcome("failed", str(d.pk), error.message))
            elif d.attempts >= sub.max_attempts:
                d.status = DeliveryStatus.DEAD
                d.last_error = f"{error.message[:1900]} (gave up after {d.attempts} tries)"
                outcomes.append(Outcome("dead", str(d.pk), error.message))
            else:
                delay = backoff(d.attempts, getattr(error, "retry_after", None))
                short = delay <= short_max and not eager
                d.status, d.next_attempt_at = DeliveryStatus.RETRYING, now + timedelta(seconds=delay)
                d.enqueued_at = d.next_attempt_at if short else None
                d.last_error = error.message[:2000]
                outcomes.append(Outcome("retrying", str(d.pk), error.message, retry_in=delay if short else None))
        back = [d for d in untried if held.get(d.pk) == d.attempts]
        for d in back:  # claimed but not tried: as it was, the next task takes it
            d.status, d.attempts, d.lease_until = d._claimed_from, d.attempts - 1, None
            rows.append(d)
        if back:
            outcomes.append(Outcome("skipped", str(back[0].pk), "not tried in this batch",
                                    follow_up=[str(back[0].pk)]))
        from mdm import bulkwrite

        bulkwrite.update(Delivery, rows, _RESULT_FIELDS)
        for d in delivered:
            _supersede(getattr(d, "_older_to_supersede", []), d.version)
        _follow_ups(sub, delivered, outcomes, now)
        backs = [(d.entity_type, d.golden_id, d.target_id, d.correlation_id) for d in delivered
                 if d.target_id and d.change != "merged" and d.target_id != getattr(d, "_known_target_id", None)]
        if backs:
            record_target_ids(system=sub.system, items=backs)
    return outcomes


def _follow_ups(sub: Subscription, delivered: list[Delivery], outcomes: list[Outcome], now) -> None:
    """Newer due versions of the records just delivered go out right after (one query)."""
    if not delivered:
        return
    versions = {(d.entity_type, d.golden_id): d.version for d in delivered}
    nxt: dict = {}
    for pk, et, gid, version in (Delivery.objects.filter(
            subscription_id=sub.pk, entity_type__in={et for et, _ in versions},
            golden_id__in=[gid for _, gid in versions], status__in=OPEN_STATUSES, next_attempt_at__lte=now)
            .order_by("version").values_list("pk", "entity_type", "golden_id", "version")):
        if version > versions.get((et, gid), version):
            nxt.setdefault((et, gid), []).append(str(pk))
    by_id = {o.delivery_id: o for o in outcomes}
    for d in delivered:
        by_id[str(d.pk)].follow_up = nxt.get((d.entity_type, d.golden_id), [])


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


def record_target_ids(*, system: SourceSystem, items: list[tuple]) -> None:
    """:func:`record_target_id` for many records — (entity type, golden id,
    external id, correlation id) — at once: one look-up, and the new
    cross-references inserted together with their history rows (each with
    its delivery's correlation id), queued for the audit chain in one go."""
    from mdm import bulkwrite
    from mdm.audit import history_attrs

    reason = f"sync:{system.code}: id given by {system.code}"
    with audit_context(origin=Origin.SYNC, reason=reason) as ctx:
        items = [(et, gid, str(ext)[:128], cid) for et, gid, ext, cid in items]
        existing = {(et, str(gid)) for et, gid in CrossReference.objects.filter(
            system=system, role=XrefRole.TARGET, golden_id__in=[i[1] for i in items]).values_list("entity_type",
                                                                                                 "golden_id")}
        taken = set(CrossReference.objects.filter(system=system, entity_type__in={i[0] for i in items},
                                                  role=XrefRole.TARGET, external_id__in=[i[2] for i in items])
                    .values_list("entity_type", "external_id"))
        new, one_by_one = [], []
        for item in items:
            et, gid, ext, cid = item
            if (et, str(gid)) in existing:
                one_by_one.append(item)  # a changed id: the careful path
            elif (et, ext) in taken:
                log.warning("sync: %s id %s already belongs to another golden record", system.code, ext)
            else:
                taken.add((et, ext))
                new.append(item)
        if new:
            objs = []
            for et, gid, ext, cid in new:
                x = CrossReference(system=system, entity_type=et, golden_id=gid, external_id=ext,
                                   role=XrefRole.TARGET)
                x._change_reason = reason
                x._history_attrs = {"history_correlation_id": cid or ctx.correlation_id}
                objs.append(x)
            try:
                with transaction.atomic():
                    bulkwrite.create_with_history(objs, CrossReference, custom_historical_attrs=history_attrs())
            except IntegrityError:  # another golden record got one of these ids meanwhile
                one_by_one += new
        for et, gid, ext, cid in one_by_one:
            record_target_id(system=system, entity_type=et, golden_id=gid, external_id=ext, correlation_id=cid)


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
