"""python manage.py bench_tryton [--records 300] [--workers 1,2] [--broker redis://127.0.0.1:6379/6]

Upserts/s into a real Tryton server through the whole delivery path: a
scratch PostgreSQL database, real Celery worker processes on a real broker,
the Tryton connector (look-up-then-upsert over JSON-RPC), the write-back of
Tryton's id.  For each worker count, ``--records`` customers are approved
while no worker runs, then the workers start and the drain is timed (first
→ last delivery).  A local Tryton server is started from ``.venv-tryton``
(``.ci/tryton-setup.sh``) unless ``--url``/``--database`` name one (password
in ``MDM_TRYTON_PASSWORD``)."""

from __future__ import annotations

import json
import os
import time
import uuid

from django.core.management.base import BaseCommand, CommandError
from stdnum.iso7064 import mod_11_10

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer, LegalEntity
from mdm.services import golden as golden_svc
from mdm.services.ingest import ingest_record
from sync import harness


def _de_vat(n: int) -> str:
    body = f"{(n % 89_999_999) + 10_000_000:08d}"
    return "DE" + body + mod_11_10.calc_check_digit(body)


class Command(BaseCommand):
    help = "Benchmark deliveries (upserts) per second into a real Tryton server with one and two workers."

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=300, help="customers per run")
        parser.add_argument("--workers", default="1,2", help="worker process counts to try, e.g. 1,2")
        parser.add_argument("--concurrency", type=int, default=1, help="tasks at a time per worker process")
        parser.add_argument("--broker", default=os.environ.get("MDM_BENCH_BROKER", "redis://127.0.0.1:6379/6"))
        parser.add_argument("--url", help="an existing Tryton server (default: start a local one)")
        parser.add_argument("--database", help="its database")
        parser.add_argument("--user", default="admin")

    def handle(self, *args, **opts):
        from urllib.parse import urlsplit

        from sync.scratch import scratch_database

        parts = urlsplit(opts["broker"])
        if not harness.port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
            raise CommandError(f"broker {opts['broker']} is not reachable")
        try:
            counts = [int(x) for x in opts["workers"].split(",") if x.strip()]
        except ValueError:
            raise CommandError("--workers is a comma-separated list of numbers, e.g. 1,2") from None
        server = None
        if opts["url"]:
            if not opts["database"] or not os.environ.get("MDM_TRYTON_PASSWORD"):
                raise CommandError("--url needs --database and the password in MDM_TRYTON_PASSWORD")
            url, database, password = opts["url"], opts["database"], os.environ["MDM_TRYTON_PASSWORD"]
        else:
            from sync.connectors.tryton.localserver import LocalTryton, TrytonUnavailable

            try:
                server = LocalTryton.start()
            except TrytonUnavailable as exc:
                raise CommandError(str(exc)) from None
            url, database, password = server.url, server.database, server.password
            self.stdout.write(f"local Tryton at {url}/{database}")
        try:
            with scratch_database("tryton_bench") as name:
                self.stdout.write(f"scratch database {name}, broker {opts['broker']}")
                report = self.bench(opts, counts, url, database, password)
        finally:
            if server is not None:
                server.stop()
        self.stdout.write(json.dumps(report, indent=2))

    def bench(self, opts, counts, url, database, password) -> dict:
        from mdm.services.setup import seed_defaults
        from sync import services
        from sync.connectors.tryton.setup import ensure_tryton_system
        from sync.models import Delivery

        seed_defaults()
        ensure_tryton_system()
        with audit_context(origin=Origin.SYSTEM, reason="bench"):
            services.upsert_subscription(system="tryton", connector="tryton", secret=password,
                                         entity_types=["legal_entity", "customer"],
                                         config={"url": url, "database": database, "username": opts["user"]})
            le_id = ingest_record(system="erp", entity_type="legal_entity", source_id="BENCH",
                                  data={"company_code": "BENCH", "company_name": "Bench Consulting GmbH",
                                        "country_code": "DE", "base_currency": "EUR"}).golden_id
            golden_svc.approve(LegalEntity.objects.get(pk=le_id), actor=None, auto=True)
        for d in Delivery.objects.filter(golden_id=le_id).exclude(status="delivered"):
            services.process(d.pk, force=True)  # (already sent in-process if tasks run eagerly here)
        problem = Delivery.objects.filter(golden_id=le_id).exclude(status="delivered").first()
        if problem is not None:
            raise CommandError(f"the legal entity did not reach Tryton: {problem.status} {problem.last_error}")
        runs = []
        n = opts["records"]
        queue = f"tryton-bench-{uuid.uuid4().hex[:6]}"
        env = harness.worker_env(broker=opts["broker"], queue=queue)
        with harness.use_broker(opts["broker"], queue):  # one broker context: its producer pool lives once
            try:
                for run, workers in enumerate(counts):
                    runs.append(self.run(opts, run, workers, n, env, queue))
            finally:
                harness.purge(opts["broker"], queue)
        return {"tryton": f"{url}/{database}", "runs": runs}

    def run(self, opts, run: int, workers: int, n: int, env: dict, queue: str) -> dict:
        from sync import services
        from sync.models import Delivery

        tag = uuid.uuid4().hex[:6]
        ids = []
        with audit_context(origin=Origin.IMPORT, reason="bench data"):
            for i in range(n):
                k = run * 1_000_000 + i
                ids.append(ingest_record(system="erp", entity_type="customer", source_id=f"B{tag}{i}", data={
                    "customer_name": f"Bench Kunde {tag} {i} GmbH", "vat_id": _de_vat(k + 12345),
                    "street": f"Ringstrasse {i % 300 + 1}", "zip": f"{10000 + i % 89999:05d}", "city": "Berlin",
                    "country_code": "DE", "currency": "EUR", "payment_terms": "NET30",
                    "company_code": "BENCH"}).golden_id)
        pool = "solo" if opts["concurrency"] == 1 else "threads"
        procs = [harness.Worker(env, queue, concurrency=opts["concurrency"], pool=pool) for _ in range(workers)]
        try:
            with audit_context(origin=Origin.WEB, reason="bench approval"):
                for record in Customer.objects.filter(pk__in=ids):
                    golden_svc.approve(record, actor=None, auto=True)
            pending = [str(pk) for pk in Delivery.objects.filter(golden_id__in=ids, status="pending")
                       .values_list("pk", flat=True)]
            started = time.time()
            for p in procs:
                p.start()
            services.enqueue(pending)  # again: a lost publish is what the sweeper would repair (no beat here)
            done = lambda: Delivery.objects.filter(golden_id__in=ids, status="delivered").count() >= n  # noqa: E731
            if not harness.wait_for(done, 1800, 0.25):
                bad = list(Delivery.objects.filter(golden_id__in=ids).exclude(status="delivered")
                           .values_list("status", "last_error")[:5])
                raise CommandError(f"not all delivered after 30 min: {bad}\n{procs[0].log_text()[-2000:]}")
            wall = time.time() - started
        finally:
            for p in procs:
                p.stop()
        stamps = sorted(Delivery.objects.filter(golden_id__in=ids).values_list("delivered_at", flat=True))
        span = (stamps[-1] - stamps[0]).total_seconds()
        durations = sorted(Delivery.objects.filter(golden_id__in=ids).values_list("duration_ms", flat=True))
        rate = (n - 1) / span if span > 0 else 0.0
        p50, p95 = durations[len(durations) // 2], durations[max(0, int(len(durations) * 0.95) - 1)]
        self.stdout.write(f"{workers} worker(s): {n} customers upserted into Tryton in {span:.1f} s "
                          f"→ {rate:.1f} upserts/s (per upsert p50 {p50} ms, p95 {p95} ms; wall incl. worker "
                          f"start {wall:.1f} s)")
        return {"workers": workers, "concurrency_per_worker": opts["concurrency"], "records": n,
                "seconds": round(span, 2), "upserts_per_second": round(rate, 1), "p50_ms": p50, "p95_ms": p95}
