"""Tamper evidence for the history tables: one hash chain over every history row.

How it works
------------
* **Queue, in the writer's transaction.**  Every history row written through
  simple-history's per-object path sends ``post_create_historical_record``;
  the receiver below inserts one ``AuditPending`` row (model, history id) in
  the same transaction.  Rows written by the bulk helpers
  (``bulk_create_with_history`` / ``bulk_update_with_history``, which send no
  signal) are queued by ``ChainedHistoryManager.bulk_history_create`` (every
  ``audited()`` model uses it), one bulk insert per call; ``mdm.bulkwrite``
  (the ingest and rebuild path) queues its rows in the same COPY as it writes
  them.  Anything else that writes history rows itself calls :func:`append`.  No lock is taken, so
  writers are never serialised on the chain.
* **Seal, after commit.**  :func:`seal_pending` takes the queued rows in
  queue order under a short transaction-scoped lock (PostgreSQL advisory
  lock; SQLite has one writer anyway), reads each history row as it is in
  the database, and appends one ``AuditEntry`` per row:
  ``row_hash = SHA-256(nonce ‖ canonical JSON of every column of the row)``
  and ``chain_hash = HMAC-SHA-256(key, previous chain_hash ‖ the entry's
  columns)``.  It runs within ``MDM_AUDIT_SEAL_DELAY`` (1 s) of the commit
  of each audited action, one pass for all the commits of that window (on a
  Celery worker when there is a broker; in a thread of the writer's process
  for small transactions when there is none), every minute from Celery beat
  (``mdm.audit.seal_pending``) and at the start of ``verify_audit``; a sealer
  that finds the lock taken leaves the rows to the one holding it, the next
  commit or the sweep.
  The entry also copies who/when/what/why and the changed field names: the
  auditor's log is this one indexed table, and shows rows once sealed.
* **Verify.**  :func:`verify` walks the chain in ``seq`` order, recomputes
  every chain hash and every row hash from the *current* history row, and
  reports the first entry whose row was altered or removed, a broken or
  gapped chain, and history rows that were never sealed (written behind the
  hub's back, or by a bulk path that forgot :func:`append`) once older than
  a threshold.
* **Erasure.**  ``erase_person`` scrubs values in history rows, clears those
  rows' ``nonce`` (so the old hash can no longer confirm a guessed value) and
  records an ``AuditErasure`` — who, why, when, which rows and fields, and
  each scrubbed row's new hash — sealed into the chain itself.  ``verify``
  accepts a scrubbed row when it matches the erasure's hash.

The key is ``MDM_AUDIT_KEY`` (environment or settings), falling back to
``SECRET_KEY``: someone who can write to the database but does not hold the
key cannot rebuild the chain after editing a row.  ``verify_audit`` prints
the chain head (seq and hash); writing it down elsewhere (a ticket, a log
shipper) and passing it back with ``--expect-head`` also catches a truncated
tail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Exists, OuterRef
from django.dispatch import receiver
from django.utils import timezone
from simple_history.signals import post_create_historical_record

from mdm.models import AuditEntry, AuditErasure, AuditPending

logger = logging.getLogger(__name__)

LOCK_KEY = 7_202_612  # pg advisory lock serialising sealers (not writers)
GENESIS = "0" * 64
ERASURE_LABEL = "mdm.auditerasure"
ERASURE_TYPE = "E"
NOISE_FIELDS = {"updated_at", "version"}  # change on every save; not worth a "changed field" entry
SEAL_BATCH = 2000


# --- which tables are chained ------------------------------------------------

_models_cache: dict[str, type] | None = None


def history_models() -> dict[str, type]:
    """Tracked model label (``mdm.customer``) → its simple-history model, for
    every model with history in every installed app."""
    global _models_cache
    if _models_cache is None:
        found = {}
        for model in apps.get_models():
            tracked = getattr(model, "instance_type", None)
            if tracked is not None and hasattr(model, "history_id") and hasattr(model, "tracked_fields"):
                found[tracked._meta.label_lower] = model
        _models_cache = dict(sorted(found.items()))
    return _models_cache


def history_model(label: str):
    try:
        return history_models()[label]
    except KeyError:
        raise LookupError(f"no history table for '{label}'") from None


def _content_fields(hm) -> list[str]:
    return sorted(f.attname for f in hm._meta.concrete_fields)


def _tracked_attnames(hm) -> list[str]:
    return [f.attname for f in hm.tracked_fields]


def _object_attname(hm) -> str:
    return hm.instance_type._meta.pk.attname


# --- hashing -----------------------------------------------------------------

_UTC = dt.timezone.utc


def _norm(value):
    """``json.dumps`` hook for the non-JSON column types: one database-independent
    form (datetimes in UTC ISO 8601, decimals and UUIDs as text).  Plain values
    never reach it, so a row is serialised almost entirely in C."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and value.tzinfo is not _UTC:
            value = value.astimezone(_UTC)
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return str(value)  # Decimal, UUID, anything else with a stable text form


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_norm)


def content_hash(nonce: str, content: dict) -> str:
    """SHA-256 over a row's content (every column), salted with its nonce."""
    return hashlib.sha256((nonce + "\n" + canonical_json(content)).encode()).hexdigest()


def _key() -> bytes:
    key = getattr(settings, "MDM_AUDIT_KEY", "") or os.environ.get("MDM_AUDIT_KEY", "") or settings.SECRET_KEY
    return key.encode()


ENTRY_CHAIN_FIELDS = ("seq", "model", "history_id", "object_id", "history_date", "history_type", "actor", "origin",
                      "correlation_id", "reason", "changed_fields", "row_hash", "sealed_at")


def chain_hash(prev: str, entry: dict) -> str:
    """HMAC over the previous link and every chained column of an entry."""
    body = prev + "\n" + canonical_json([entry[f] for f in ENTRY_CHAIN_FIELDS])
    return hmac.new(_key(), body.encode(), hashlib.sha256).hexdigest()


def erasure_content(erasure: AuditErasure) -> dict:
    return {"id": erasure.pk, "created_at": erasure.created_at, "user_id": erasure.user_id, "actor": erasure.actor,
            "reason": erasure.reason, "reference": erasure.reference, "summary": erasure.summary,
            "items": erasure.items}


# --- queueing (writers) --------------------------------------------------------

@receiver(post_create_historical_record, dispatch_uid="mdm-audit-chain-queue")
def _queue_history_row(sender, instance, history_instance, using=None, **kwargs):
    using = using or history_instance._state.db or router.db_for_write(type(history_instance))
    AuditPending.objects.using(using).create(model=type(instance)._meta.label_lower,
                                             history_id=history_instance.pk)
    schedule_seal(using)


def append(model, objs, *, using: str = "default") -> int:
    """Queue for sealing the history rows written by a bulk call.  Pass the
    tracked model and either the objects given to ``bulk_create_with_history``
    / ``bulk_update_with_history`` (their unsealed, unqueued history rows are
    found) or the historical instances themselves.  Call it in the same
    transaction, right after the bulk call.  Returns the rows queued."""
    objs = list(objs)
    if not objs:
        return 0
    hm = model.history.model if hasattr(model, "history") else model
    label = hm.instance_type._meta.label_lower
    if all(isinstance(o, hm) and o.pk for o in objs):
        hids = [o.pk for o in objs]
    else:
        pks = [o.pk for o in objs]
        hids = list(
            hm.objects.using(using).filter(**{f"{_object_attname(hm)}__in": pks})
            .filter(~Exists(AuditEntry.objects.using(using).filter(model=label, history_id=OuterRef("history_id"))))
            .filter(~Exists(AuditPending.objects.using(using).filter(model=label, history_id=OuterRef("history_id"))))
            .values_list("history_id", flat=True)
        )
    AuditPending.objects.using(using).bulk_create(
        [AuditPending(model=label, history_id=h) for h in hids], batch_size=1000, ignore_conflicts=True)
    schedule_seal(using, len(hids))
    return len(hids)


INLINE_SEAL_MAX = 500  # without a broker, transactions that queued more rows leave them to the sweep


class _SealAfterCommit:
    """The after-commit hook of one transaction; counts the rows it queued."""

    def __init__(self, queued: int):
        self.queued = queued

    def __call__(self) -> None:
        """With a broker, hand sealing to a worker (the writer goes on at once).
        Without one (the one-machine setup), seal a batch in-process — unless
        this was a bulk write, whose rows the sweep (beat, ``verify_audit``,
        the next small action) seals, so imports are not slowed.  Either way
        only if no other sealer is busy.  With ``MDM_AUDIT_SEAL_DELAY`` the
        commits of that window share one pass: its fixed cost (a few queries
        per history table) is paid once, not once per request."""
        delay = float(getattr(settings, "MDM_AUDIT_SEAL_DELAY", 0) or 0)
        if not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", True):
            _coalescer.hand_off(delay)
            return
        if self.queued > INLINE_SEAL_MAX:
            return
        if delay > 0:
            _coalescer.seal_soon(delay)
        else:
            _seal_here()


def _seal_here() -> None:
    try:
        seal_pending(wait=False, limit=SEAL_BATCH)
    except Exception:  # noqa: BLE001 - the sweep retries; never fail the committed action
        logger.exception("sealing audit rows after commit failed; the periodic sweep will retry")


class _Coalescer:
    """One sealing pass per window for the commits of this process.

    A commit whose hook finds a pass already due at the end of the window
    does nothing: the pass starts after the hook ran, so after the commit,
    and sees its queued rows.  With a broker the pass is a task published
    with a countdown; without one a timer thread (not a daemon, so a command
    that exits right after a write still seals it)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._due = 0.0  # monotonic time at which the pass already asked for runs
        self._timer: threading.Timer | None = None

    def hand_off(self, delay: float) -> None:
        now = time.monotonic()
        with self._lock:
            if delay > 0 and now < self._due:
                return
            try:
                # no publish retries: with the broker down every write would wait for them, and the
                # periodic sweep seals whatever was not handed over
                seal_pending_task.apply_async(kwargs={"wait": False}, countdown=delay or None,
                                              ignore_result=True, retry=False)
            except Exception as exc:  # noqa: BLE001 - never fail the committed action
                logger.warning("audit sealing not handed to a worker (%s); the periodic sweep will seal", exc)
                return
            self._due = now + delay

    def seal_soon(self, delay: float) -> None:
        with self._lock:
            if self._timer is not None:
                return
            self._timer = threading.Timer(delay, self._run)
            self._timer.name = "mdm-audit-sealer"
            self._timer.start()

    def _run(self) -> None:
        with self._lock:  # a commit from now on asks for a pass of its own
            self._timer = None
        try:
            _seal_here()
        finally:
            connections.close_all()  # this thread's connections only


_coalescer = _Coalescer()


def schedule_seal(using: str = "default", queued: int = 1) -> None:
    """Seal right after the current transaction commits (one hook per transaction)."""
    conn = connections[using]
    for item in conn.run_on_commit:
        if isinstance(item[1], _SealAfterCommit):
            item[1].queued += queued
            return
    transaction.on_commit(_SealAfterCommit(queued), using=using, robust=True)


# --- sealing -------------------------------------------------------------------

def _take_lock(using: str, wait: bool) -> bool:
    conn = connections[using]
    if conn.vendor != "postgresql":
        return True  # SQLite: one writer at a time already (IMMEDIATE transactions)
    with conn.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        return bool(cursor.fetchone()[0])


def seal_pending(*, wait: bool = True, limit: int | None = None, batch: int = SEAL_BATCH,
                 using: str = "default") -> int:
    """Seal queued history rows, oldest first, in batches of ``batch`` (each
    its own short transaction).  ``wait=False`` gives up at once when another
    sealer holds the lock.  Returns how many rows were sealed."""
    total, after = 0, 0
    while limit is None or total < limit:
        with transaction.atomic(using=using):
            if not _take_lock(using, wait):
                return total
            done, after = _seal_batch(using, batch, after)
        total += done
        if done < batch:
            break
    return total


def _last_link(using: str) -> tuple[int, str]:
    last = AuditEntry.objects.using(using).order_by("-seq").values_list("seq", "chain_hash").first()
    return last if last else (0, GENESIS)


def _seal_batch(using: str, batch: int, after: int = 0) -> tuple[int, int]:
    """Seal the next ``batch`` queued rows with queue id above ``after`` (a
    run walks forward instead of rescanning the rows it just deleted).
    Returns (rows sealed, last queue id taken)."""
    pending = list(AuditPending.objects.using(using).filter(id__gt=after).order_by("id")
                   .values_list("id", "model", "history_id")[:batch])
    if not pending:
        return 0, after
    by_model: dict[str, list[int]] = defaultdict(list)
    for _, label, hid in pending:
        by_model[label].append(hid)
    facts: dict[tuple[str, int], dict] = {}
    for label, hids in by_model.items():
        if label not in history_models():
            logger.error("audit: queued rows for unknown history table %s left unsealed", label)
            continue
        facts.update(_row_facts(label, hids, using))
    seq, prev = _last_link(using)
    now = timezone.now()
    entries = []
    for _, label, hid in pending:
        fact = facts.get((label, hid))
        if fact is None:
            logger.warning("audit: history row %s#%s vanished before it was sealed", label, hid)
            continue
        seq += 1
        entry = dict(fact, seq=seq, sealed_at=now)
        prev = entry["chain_hash"] = chain_hash(prev, entry)
        entries.append(AuditEntry(**entry))
    _insert_entries(entries, using)
    # exactly the rows taken: a row queued by a transaction still in flight may sit between them
    AuditPending.objects.using(using).filter(id__in=[p[0] for p in pending]).delete()
    return len(pending), pending[-1][0]


_ENTRY_COLUMNS = [f.column for f in AuditEntry._meta.concrete_fields]


def _insert_entries(entries: list[AuditEntry], using: str) -> None:
    """Append entries: COPY on PostgreSQL (several times faster than INSERT
    with this many indexes), ``bulk_create`` elsewhere."""
    conn = connections[using]
    if conn.vendor != "postgresql" or not entries:
        AuditEntry.objects.using(using).bulk_create(entries, batch_size=1000)
        return
    fields = [f for f in AuditEntry._meta.concrete_fields]
    with conn.cursor() as cur:
        with cur.cursor.copy(f"COPY {AuditEntry._meta.db_table} ({', '.join(_ENTRY_COLUMNS)}) FROM STDIN") as copy:
            for e in entries:
                copy.write_row([json.dumps(e.changed_fields) if f.attname == "changed_fields"
                                else getattr(e, f.attname) for f in fields])


def _row_facts(label: str, hids: list[int], using: str) -> dict[tuple[str, int], dict]:
    """Everything an entry needs from its history rows: hash, who, when, why
    and the names of the fields that changed since the object's previous row."""
    hm = history_model(label)
    cols = _content_fields(hm)
    obj_att = _object_attname(hm)
    names = {f.attname: f.name for f in hm.tracked_fields}
    tracked = [a for a in _tracked_attnames(hm) if names[a] not in NOISE_FIELDS and a != obj_att]
    qs = hm.objects.using(using)
    rows = {}
    for chunk in _chunks(hids, 1000):
        for values in qs.filter(history_id__in=chunk).values(*cols):
            rows[values["history_id"]] = values
    # each row's previous version: every version of these objects (one index scan on the
    # object id), then the largest history id below the row's own
    versions: dict = defaultdict(list)
    objects = {row[obj_att] for row in rows.values()}
    for chunk in _chunks(objects, 1000):
        for oid, hid in qs.filter(**{f"{obj_att}__in": chunk}).values_list(obj_att, "history_id"):
            versions[oid].append(hid)
    prev_ids = {}
    for hid, row in rows.items():
        older = [h for h in versions.get(row[obj_att], ()) if h < hid]
        prev_ids[hid] = max(older) if older else None
    wanted = [p for p in set(prev_ids.values()) if p is not None and p not in rows]
    prevs = {}
    for chunk in _chunks(wanted, 1000):
        for values in qs.filter(history_id__in=chunk).values(*tracked, "history_id"):
            prevs[values["history_id"]] = values
    out = {}
    for hid, row in rows.items():
        prev_row = rows.get(prev_ids.get(hid)) or prevs.get(prev_ids.get(hid))
        nonce = secrets.token_hex(16)
        out[(label, hid)] = {
            "model": label, "history_id": hid, "object_id": str(row[obj_att])[:64],
            "history_date": row["history_date"], "history_type": row["history_type"],
            "actor": row.get("history_actor") or "", "origin": row.get("history_origin") or "",
            "correlation_id": row.get("history_correlation_id") or "",
            "reason": row.get("history_change_reason") or "",
            "changed_fields": _changed(row, prev_row, tracked, names),
            "nonce": nonce, "row_hash": content_hash(nonce, row),
        }
    return out


def _empty(value) -> bool:
    return value is None or value == "" or value == {} or value == []


def _changed(row: dict, prev: dict | None, tracked: list[str], names: dict[str, str]) -> list[str]:
    """Field names (``parent``, not ``parent_id``) whose value differs from the previous row."""
    if row["history_type"] == "-":
        return []
    if prev is None:
        return sorted(names[a] for a in tracked if not _empty(row.get(a)))
    return sorted(names[a] for a in tracked if row.get(a) != prev.get(a))


def _chunks(items, size):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def seal_erasure(erasure: AuditErasure, *, using: str = "default") -> AuditEntry:
    """Append an erasure record to the chain (caller holds the sealer lock)."""
    seq, prev = _last_link(using)
    fields = sorted({f"{i['model'].split('.')[-1]}.{f}" for i in erasure.items for f in i["fields"]})
    entry = {
        "seq": seq + 1, "model": ERASURE_LABEL, "history_id": erasure.pk, "object_id": str(erasure.pk),
        "history_date": erasure.created_at, "history_type": ERASURE_TYPE, "actor": erasure.actor,
        "origin": "system", "correlation_id": "", "reason": erasure.reason, "changed_fields": fields,
        "nonce": erasure.nonce, "row_hash": content_hash(erasure.nonce, erasure_content(erasure)),
        "sealed_at": timezone.now(),
    }
    entry["chain_hash"] = chain_hash(prev, entry)
    return AuditEntry.objects.using(using).create(**entry)


@shared_task(name="mdm.audit.seal_pending", acks_late=True, reject_on_worker_lost=True)
def seal_pending_task(wait: bool = True) -> int:
    """Seal queued rows (after a commit, ``wait=False``; the periodic sweep from beat waits for the lock)."""
    return seal_pending(wait=wait)


def take_sealer_lock(using: str = "default") -> None:
    """Hold the sealer lock for the rest of the caller's transaction (erasure)."""
    _take_lock(using, wait=True)


# --- verification ----------------------------------------------------------------

@dataclass
class Problem:
    kind: str  # altered | removed | chain | gap | unsealed | erasure
    message: str
    seq: int | None = None
    model: str = ""
    history_id: int | None = None

    def __str__(self) -> str:
        where = f"entry #{self.seq} " if self.seq is not None else ""
        row = f"{self.model} history row {self.history_id}: " if self.model else ""
        return f"{self.kind.upper()}: {where}{row}{self.message}"


@dataclass
class Report:
    checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    sealed_now: int = 0
    erased_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    unsealed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def _erasure_overrides(using: str) -> dict[tuple[str, int], tuple[str, str]]:
    """(model, history id) → (row hash, nonce) after the latest erasure that scrubbed it."""
    out = {}
    for erasure in AuditErasure.objects.using(using).order_by("created_at", "id"):
        for item in erasure.items:
            out[(item["model"], int(item["history_id"]))] = (item["row_hash"], item["nonce"])
    return out


def _current_contents(label: str, hids: list[int], using: str) -> dict[int, dict]:
    if label == ERASURE_LABEL:
        return {e.pk: erasure_content(e) for e in AuditErasure.objects.using(using).filter(pk__in=hids)}
    hm = history_model(label)
    return {v["history_id"]: v for v in hm.objects.using(using).filter(history_id__in=hids).values(*_content_fields(hm))}


def verify(*, seal: bool = True, max_unsealed_age: dt.timedelta = dt.timedelta(hours=1), batch: int = 5000,
           using: str = "default", expect_head: tuple[int, str] | None = None, max_problems: int = 100) -> Report:
    """Walk the whole chain; see the module docstring."""
    report = Report()
    if seal:
        report.sealed_now = seal_pending(wait=True, using=using)
    overrides = _erasure_overrides(using)
    known = set(history_models()) | {ERASURE_LABEL}
    cols = ["seq", *[f for f in ENTRY_CHAIN_FIELDS if f != "seq"], "chain_hash", "nonce"]
    prev, expected, last_seq = GENESIS, 1, 0
    anchor_seen = expect_head is None

    def problem(p: Problem):
        if len(report.problems) < max_problems:
            report.problems.append(p)

    while True:
        page = list(AuditEntry.objects.using(using).filter(seq__gt=last_seq).order_by("seq").values(*cols)[:batch])
        if not page:
            break
        by_model: dict[str, list[int]] = defaultdict(list)
        for e in page:
            by_model[e["model"]].append(e["history_id"])
        current: dict[tuple[str, int], dict] = {}
        for label, hids in by_model.items():
            if label in known:
                for hid, content in _current_contents(label, hids, using).items():
                    current[(label, hid)] = content
        for e in page:
            report.checked += 1
            seq = e["seq"]
            if seq != expected:
                problem(Problem("gap", f"entries #{expected}–#{seq - 1} are missing from the chain "
                                       "(deleted seals)", seq=seq))
            if chain_hash(prev, e) != e["chain_hash"]:
                problem(Problem("chain", "the seal does not match its contents or the previous link "
                                         "(the entry was edited, inserted or reordered)", seq=seq,
                                model=e["model"], history_id=e["history_id"]))
            prev, expected = e["chain_hash"], seq + 1
            if expect_head is not None and seq == expect_head[0]:
                anchor_seen = True
                if e["chain_hash"] != expect_head[1]:
                    problem(Problem("chain", "the chain differs from the recorded head", seq=seq))
            key = (e["model"], e["history_id"])
            content = current.get(key)
            if content is None:
                problem(Problem("removed", f"the row of {e['model']} {e['object_id']} "
                                           f"({e['history_date']:%Y-%m-%d %H:%M:%S}) was deleted",
                                seq=seq, model=e["model"], history_id=e["history_id"]))
                continue
            row_hash, nonce = e["row_hash"], e["nonce"]
            if key in overrides:
                row_hash, nonce = overrides[key]
                report.erased_rows += 1
            elif not nonce:
                problem(Problem("altered", "the row's salt was cleared but no erasure covers it",
                                seq=seq, model=e["model"], history_id=e["history_id"]))
                continue
            if content_hash(nonce, content) != row_hash:
                problem(Problem("altered", f"the row of {e['model']} {e['object_id']} "
                                           f"({e['history_date']:%Y-%m-%d %H:%M:%S}) no longer matches its seal",
                                seq=seq, model=e["model"], history_id=e["history_id"]))
        last_seq = page[-1]["seq"]
    report.head_seq, report.head_hash = last_seq, prev
    if not anchor_seen:
        problem(Problem("gap", f"the recorded head #{expect_head[0]} is beyond the end of the chain "
                               f"(#{last_seq}): entries were removed from the tail"))
    _check_unsealed(report, using, max_unsealed_age, problem)
    return report


def _check_unsealed(report: Report, using: str, max_age: dt.timedelta, problem) -> None:
    cutoff = timezone.now() - max_age
    for label, hm in history_models().items():
        sealed = AuditEntry.objects.using(using).filter(model=label, history_id=OuterRef("history_id"))
        qs = hm.objects.using(using).filter(history_date__lt=cutoff).filter(~Exists(sealed))  # an anti-join
        count = qs.count()
        if count:
            report.unsealed += count
            first = qs.order_by("history_id").values_list("history_id", "history_date").first()
            problem(Problem("unsealed", f"{count} row(s) older than {max_age} were never sealed "
                                        f"(first: {first[1]:%Y-%m-%d %H:%M:%S}) — written behind the hub's back "
                                        "or by a bulk path without audit_chain.append()",
                            model=label, history_id=first[0]))
