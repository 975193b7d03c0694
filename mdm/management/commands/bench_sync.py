"""python manage.py bench_sync [--records 1000] [--latency-records 300]

Measures the sync engine against the local reference receiver with ONE
Celery worker (subprocess) on a real broker, in a scratch PostgreSQL database:

1. throughput: approve --records customers while the worker is stopped,
   start it, and time the drain (first → last delivery received);
2. latency: with the worker running, approve --latency-records customers
   one after another and measure approve (commit) → received, p50/p95.

Goals (issue 7): ≥ 200 deliveries/s, p95 ≤ 2 s."""

import json
import time
import uuid

from django.core.management.base import BaseCommand, CommandError

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer
from mdm.services import golden as golden_svc
from mdm.services.ingest import ingest_record
from sync import harness
from sync.connectors.webhook.receiver import Receiver
from sync.scratch import scratch_database
from sync.selectors import _percentiles
from sync.services import upsert_subscription

SECRET = "bench-secret"


def _pending(n: int, tag: str) -> list:
    ids = []
    with audit_context(origin=Origin.IMPORT, reason="bench data"):
        for i in range(n):
            ids.append(ingest_record(system="crm", entity_type="customer", source_id=f"{tag}-{i}",
                                     data={"AccountName": f"Bench {tag} {i}", "LegalName": f"Bench {tag} {i} BV",
                                           "BillingCountry": "NL", "BillingCity": "Utrecht"}).golden_id)
    return list(Customer.objects.filter(pk__in=ids))


class Command(BaseCommand):
    help = "Benchmark deliveries/s and approve→received latency with one worker."

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=1000)
        parser.add_argument("--latency-records", type=int, default=300)
        parser.add_argument("--broker", default="redis://127.0.0.1:6379/5")
        parser.add_argument("--concurrency", type=int, default=8)
        parser.add_argument("--pool", default="threads", choices=["threads", "prefork", "solo"])

    def handle(self, *args, **opts):
        from urllib.parse import urlsplit

        parts = urlsplit(opts["broker"])
        if not harness.port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
            raise CommandError(f"broker {opts['broker']} is not reachable")
        with scratch_database("bench") as name:
            self.stdout.write(f"scratch database {name}, broker {opts['broker']}, one worker "
                              f"(-P {opts['pool']} -c {opts['concurrency']})")
            report = self.bench(opts)
        self.stdout.write(json.dumps(report, indent=2))

    def bench(self, opts) -> dict:
        from mdm.services.setup import seed_defaults

        seed_defaults()
        tag = uuid.uuid4().hex[:6]
        queue = f"sync-bench-{tag}"
        rx = Receiver(SECRET).start()
        env = harness.worker_env(broker=opts["broker"], queue=queue)
        worker = harness.Worker(env, queue, concurrency=opts["concurrency"], pool=opts["pool"])
        try:
            with harness.use_broker(opts["broker"], queue):
                with audit_context(origin=Origin.SYSTEM, reason="bench"):
                    upsert_subscription(system=f"bench{tag}", config={"url": rx.url, "timeout": 5},
                                        secret=SECRET, entity_types=["customer"])
                n = opts["records"]
                records = _pending(n, tag + "a")
                t = time.time()
                for r in records:
                    with audit_context(origin=Origin.WEB, reason="bench approval"):
                        golden_svc.approve(r, actor=None, auto=True)
                approve_rate = n / (time.time() - t)
                self.stdout.write(f"throughput: {n} approvals queued ({approve_rate:.0f} approvals/s); starting worker")
                worker.start()
                if not harness.wait_for(lambda: len(rx.applied) >= n, 600, 0.05):
                    raise CommandError(f"only {len(rx.applied)}/{n} delivered:\n{worker.log_text()[-3000:]}")
                times = sorted(v["at"] for v in rx.applied.values())
                throughput = (n - 1) / (times[-1] - times[0]) if n > 1 else 0
                self.stdout.write(f"  {n} deliveries in {times[-1] - times[0]:.2f} s → {throughput:.0f} deliveries/s")

                m = opts["latency_records"]
                records = _pending(m, tag + "b")
                committed = {}
                t = time.time()
                for r in records:
                    with audit_context(origin=Origin.WEB, reason="bench approval"):
                        golden_svc.approve(r, actor=None, auto=True)
                    committed[str(r.pk)] = time.time()
                rate = m / (time.time() - t)
                if not harness.wait_for(lambda: len(rx.applied) >= n + m, 300, 0.05):
                    raise CommandError(f"latency phase: only {len(rx.applied) - n}/{m} delivered")
                lat = [(rx.first_seen[(gid, 1)] - at) * 1000 for gid, at in committed.items()]
                pct = _percentiles(lat)
                self.stdout.write(f"latency: {m} approvals at {rate:.0f}/s → approve→received "
                                  f"p50 {pct[0.5]:.0f} ms, p95 {pct[0.95]:.0f} ms")
        finally:
            worker.stop()
            rx.stop()
            harness.purge(opts["broker"], queue)
        return {
            "deliveries_per_second": round(throughput, 1),
            "throughput_deliveries": n,
            "latency_p50_ms": round(pct[0.5]),
            "latency_p95_ms": round(pct[0.95]),
            "latency_approvals": m,
            "approvals_per_second_during_latency_run": round(rate, 1),
            "worker": f"1 worker, -P {opts['pool']} -c {opts['concurrency']}",
            "duplicates_at_receiver": rx.duplicates,
            "goals_met": throughput >= 200 and pct[0.95] <= 2000,
        }
