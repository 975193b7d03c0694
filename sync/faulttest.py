"""The fault test behind ``manage.py fault_test_sync`` and its smaller
integration-test twin.  Approves ``changes`` master changes (first approvals
and later edits) while, one after another:

(a) the worker is SIGKILLed mid-delivery (whole process group) and
    restarted, then one pool process is SIGKILLed;
(b) the broker (a private redis-server, never the shared one) is stopped
    and started, losing every queued message;
(c) the receiver answers 500, then hangs past the client timeout.

Then it waits for the queue to drain and checks: every approved change
reached the receiver (each delivery delivered, or superseded by a newer
version of the same record that was delivered), no Idempotency-Key had its
side effect twice, versions arrived in increasing order per record, and each
record ended on its latest version.

A worker that stops on its own meanwhile is started again, as a process
supervisor would, and counted in the report (Celery 5.7's consumer can die
with an "Unrecoverable error" while closing a connection the stopped broker
dropped); the engine must lose nothing either way.
"""

from __future__ import annotations

import time
from collections import Counter

from django.db.models import Count

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer
from mdm.services import golden as golden_svc
from mdm.services.ingest import ingest_record
from sync import harness
from sync.choices import DeliveryStatus
from sync.connectors.webhook.receiver import Receiver
from sync.models import Delivery
from sync.services import upsert_subscription

SECRET = "fault-test-secret"
FAULT_ENV = {
    "MDM_SYNC_SWEEP_SECONDS": 1, "MDM_SYNC_BACKOFF_BASE": 0.3, "MDM_SYNC_BACKOFF_CAP": 3,
    "MDM_SYNC_REENQUEUE_AFTER": 3, "MDM_SYNC_LEASE_MARGIN": 2,
}


def _customers(n: int, tag: str) -> list[Customer]:
    out = []
    with audit_context(origin=Origin.IMPORT, reason="fault test data"):
        for i in range(n):
            r = ingest_record(system="crm", entity_type="customer", source_id=f"{tag}-{i}",
                              data={"AccountName": f"Fault {tag} {i}", "LegalName": f"Faultless {tag} {i} GmbH",
                                    "BillingCountry": "DE", "BillingCity": "Berlin"})
            out.append(r.golden_id)
    return list(Customer.objects.filter(pk__in=out))


def run(*, changes: int = 1000, redis_port: int = 6390, concurrency: int = 2, drain_timeout: float = 300,
        log=print) -> dict:
    from mdm.services.setup import seed_defaults

    seed_defaults()
    t0 = time.time()
    tag = f"{int(t0)}"
    redis = harness.RedisServer(redis_port).start()
    queue = f"sync-fault-{tag}"
    receiver = Receiver(SECRET).start()
    receiver.hang_seconds = 2.0
    worker = beat = None
    faults = Counter()
    try:
        env = harness.worker_env(broker=redis.url, queue=queue, **FAULT_ENV)
        with harness.use_broker(redis.url, queue):
            with audit_context(origin=Origin.SYSTEM, reason="fault test"):
                upsert_subscription(system=f"fault{tag[-6:]}", config={"url": receiver.url, "timeout": 1.0},
                                    secret=SECRET, entity_types=["customer"], max_attempts=200)
            n_records = max(1, int(changes * 0.6))
            records = _customers(n_records, tag)
            log(f"created {len(records)} pending customers in {time.time() - t0:.1f} s")
            worker = harness.Worker(env, queue, concurrency=concurrency).start()
            beat = harness.Beat(env, worker.workdir).start()
            plan = sorted({
                int(changes * 0.10): "receiver 500",
                int(changes * 0.20): "receiver hangs",
                int(changes * 0.30): "receiver ok",
                int(changes * 0.40): "kill worker",
                int(changes * 0.55): "kill pool process",
                int(changes * 0.70): "stop broker",
                int(changes * 0.78): "start broker",
            }.items())
            steps = dict(plan)
            revived = []

            def supervise() -> None:
                why = worker.revive()
                if why:
                    revived.append(why)
                    log(f"  worker stopped on its own ({why[:160]}); started again")

            start = time.time()
            for i in range(changes):
                step = steps.get(i)
                if step:
                    _fault(step, receiver, worker, redis, faults, log)
                supervise()
                with audit_context(origin=Origin.WEB, reason="fault test change"):
                    if i < n_records:
                        golden_svc.approve(records[i], actor=None, auto=True)
                    else:
                        rec = Customer.objects.get(pk=records[(i - n_records) % n_records].pk)
                        golden_svc.edit(rec, actor=None, changes={"city": f"City {i}"}, reason="fault test edit")
                        rec.refresh_from_db()
                        golden_svc.approve(rec, actor=None, auto=True)
            if redis.proc.poll() is not None:
                redis.start()
            receiver.mode = "ok"
            log(f"{changes} changes approved in {time.time() - start:.1f} s; waiting for the queue to drain")
            open_statuses = (DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT, DeliveryStatus.RETRYING)
            drained = harness.wait_for(
                lambda: supervise() or not Delivery.objects.filter(status__in=open_statuses).exists(),
                drain_timeout, interval=0.5)
            elapsed = time.time() - start
        report = _check(receiver, tag, changes, drained, elapsed, faults)
        report["worker_restarted_after_stopping_on_its_own"] = len(revived)
        report["worker_log_tail"] = "" if report["ok"] else worker.log_text()[-4000:]
        return report
    finally:
        for p in (beat, worker):
            if p is not None:
                p.stop()
        receiver.stop()
        redis.stop()


def _fault(step: str, receiver, worker, redis, faults: Counter, log) -> None:
    in_flight = Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT).count()
    if step == "receiver 500":
        receiver.mode = "fail500"
        # hold the fault until a delivery has really been refused (the worker may be between tasks)
        harness.wait_for(lambda: receiver.failed_on_purpose > 0, 15, 0.05)
    elif step == "receiver hangs":
        receiver.mode = "timeout"
    elif step == "receiver ok":
        receiver.mode = "ok"
    elif step == "kill worker":
        harness.wait_for(lambda: Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT).exists(), 5, 0.01)
        in_flight = Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT).count()
        worker.kill()
        time.sleep(1.0)
        worker.start()
    elif step == "kill pool process":
        harness.wait_for(lambda: Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT).exists(), 5, 0.01)
        in_flight = Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT).count()
        worker.kill_child()
    elif step == "stop broker":
        redis.stop()
    elif step == "start broker":
        redis.start()
    faults[step] += 1
    log(f"  fault: {step} (deliveries in flight: {in_flight})")


def _check(receiver: Receiver, tag: str, changes: int, drained: bool, elapsed: float, faults: Counter) -> dict:
    deliveries = Delivery.objects.filter(system__code=f"fault{tag[-6:]}")
    by_status = dict(deliveries.values_list("status").annotate(n=Count("id")).order_by())
    delivered_keys = {str(k) for k in deliveries.filter(status=DeliveryStatus.DELIVERED).values_list("pk", flat=True)}
    applied_keys = {k for k, v in receiver.applied.items() if v["status"] == 200}
    problems = []
    if not drained:
        problems.append("queue did not drain in time")
    if deliveries.count() != changes:
        problems.append(f"{deliveries.count()} deliveries for {changes} changes")
    superseded_keys = {str(k) for k in deliveries.filter(status=DeliveryStatus.SUPERSEDED).values_list("pk", flat=True)}
    if delivered_keys - applied_keys:
        problems.append(f"{len(delivered_keys - applied_keys)} delivery(ies) marked delivered never reached the receiver")
    if applied_keys - delivered_keys - superseded_keys:
        # (applied but superseded is fine: a worker died after sending, and a newer version went out next)
        problems.append(f"{len(applied_keys - delivered_keys - superseded_keys)} applied key(s) the hub lost track of")
    # superseded deliveries must have a newer delivered version of the same record
    for d in deliveries.filter(status=DeliveryStatus.SUPERSEDED):
        if not deliveries.filter(golden_id=d.golden_id, version__gt=d.version,
                                 status=DeliveryStatus.DELIVERED).exists():
            problems.append(f"superseded v{d.version} of {d.golden_id} without a newer delivered version")
            break
    stale = [gid for gid, vs in receiver.versions.items() if vs != sorted(set(vs))]
    if stale:
        problems.append(f"{len(stale)} record(s) received versions out of order or twice")
    latest = receiver.latest()
    wrong_final = [str(c.pk) for c in Customer.objects.filter(pk__in=deliveries.values("golden_id"))
                   if latest.get(str(c.pk)) != c.version]
    if wrong_final:
        problems.append(f"{len(wrong_final)} record(s) not on their latest version at the receiver")
    if receiver.bad_signatures:
        problems.append(f"{receiver.bad_signatures} bad signatures")
    bad = {s: by_status.get(s, 0) for s in (DeliveryStatus.FAILED, DeliveryStatus.DEAD) if by_status.get(s)}
    if bad:
        problems.append(f"problem deliveries: {bad}")
    return {
        "ok": not problems,
        "problems": problems,
        "changes": changes,
        "deliveries_by_status": by_status,
        "receiver_requests": receiver.requests,
        "side_effects": len(applied_keys),
        "applied_then_superseded": len(applied_keys & superseded_keys),
        "repeats_answered_from_idempotency_store": receiver.duplicates,
        "injected_failures_answered": receiver.failed_on_purpose,
        "requests_cut_off_by_a_killed_sender": receiver.truncated,
        "records": len(latest),
        "faults": dict(faults),
        "seconds": round(elapsed, 1),
    }
