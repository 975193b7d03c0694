"""``python manage.py load_test [--customers 1000000] [--users 50] [--duration 60]``:
the hub under a realistic mix of API traffic, over real HTTP.

1. Data (if missing): approved golden customers with their CRM source
   records, cross-references, lineage, blocking keys and change-feed events,
   written with COPY (``mdm.loadtest.dataset``, shared with ``bench_api``);
   the edits earlier runs left awaiting approval are approved, so each run
   starts from the same state.
2. Gunicorn (``mdm/gunicorn.conf.py``, production settings: ``DEBUG=false``,
   persistent connections) on a free local port; with ``--broker`` also a
   Celery worker, as in production.
3. Locust, headless, one process with FastHttpUser clients: the mix in
   ``mdm/loadtest/locustfile.py`` (list pages, ``updated_since`` polls, tax id
   look-ups, detail reads and revalidations, xref look-ups, change-feed polls,
   single-record POSTs through the real ingest path), every client with its
   own real service-account token.  A warm-up run first (not counted).
4. The figures: requests/s, p50/p95/p99 latency and errors for the mix and
   per request type, and the CPU each side used.  Gunicorn is stopped at the
   end, whatever happened.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

GOAL_RPS = 300
GOAL_P95_MS = 200


class Command(BaseCommand):
    help = "Load-test the REST API over HTTP: gunicorn on PostgreSQL, locust clients, a realistic mix."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1_000_000, help="Golden customers (default 1,000,000).")
        parser.add_argument("--users", type=int, default=50, help="Concurrent clients (default 50).")
        parser.add_argument("--duration", type=int, default=60, help="Measured seconds (default 60).")
        parser.add_argument("--warmup", type=int, default=10, help="Seconds of traffic before measuring (default 10).")
        parser.add_argument("--rate", type=float, default=0,
                            help="Requests/s the clients aim for together (paced); 0 (default): each client sends "
                                 "its next request as soon as the last one answered.")
        parser.add_argument("--writers", type=int,
                            help="How many of the clients are source systems posting records (default: a tenth); "
                                 "0 measures the read path alone.")
        parser.add_argument("--workers", type=int, help="Gunicorn workers (default: mdm/gunicorn.conf.py's).")
        parser.add_argument("--threads", type=int, help="Threads per gunicorn worker (default: the config's).")
        parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL") or "",
                            help="Celery broker for the web processes, with one worker started alongside "
                                 "(default: CELERY_BROKER_URL; none = tasks run in-process).")
        parser.add_argument("--json", dest="json_out", help="Also write the figures to this JSON file.")

    def handle(self, *args, customers, users, duration, warmup, rate, writers, workers, threads, broker, json_out,
               **options):
        if connection.vendor != "postgresql":
            raise CommandError("load_test measures PostgreSQL: set DATABASE_URL=postgres://…")
        if writers is None:
            writers = max(1, round(users / 10))
        if not 0 <= writers < users:
            raise CommandError("--writers: from 0 to one less than --users.")
        from mdm.loadtest import runner
        from mdm.loadtest.dataset import approve_earlier_edits, ensure_customers
        from mdm.models import Customer
        from mdm.services.accounts import ensure_groups
        from mdm.services.setup import seed_defaults

        ensure_groups()
        seed_defaults()
        t0 = time.perf_counter()
        added = ensure_customers(customers, log=self.stdout.write)
        edits = approve_earlier_edits(log=self.stdout.write)
        approved = Customer.objects.filter(state="approved").count()
        self.stdout.write(f"data: {added:,} golden customers added and {edits:,} edits of earlier runs approved "
                          f"in {time.perf_counter() - t0:.0f} s; {approved:,} approved")
        plan = runner.make_plan(users=users, writers=writers, customers=customers)
        connection.close()  # the measured run should not share the database with an idle connection of ours

        workdir = Path(tempfile.mkdtemp(prefix="mdm-load-"))
        plan_path = workdir / "plan.json"
        plan_path.write_text(json.dumps(plan))
        server = runner.Gunicorn(port=runner.free_port(), workdir=workdir, workers=workers, threads=threads,
                                 broker=broker or None)
        meter = runner.CpuMeter(server)
        speed_before = runner.machine_speed()[0]
        try:
            server.start()
            if warmup:
                self.stdout.write(f"warm-up: {warmup} s of the same mix (not counted)")
                runner.run_locust(plan_path=plan_path, host=server.url, users=users, seconds=warmup, rate=rate,
                                  out=workdir / "warmup.json")
            self.stdout.write(f"measuring: {users} clients for {duration} s against {server.url} "
                              f"({server.workers()} gunicorn workers)")
            meter.start()
            try:
                result = runner.run_locust(plan_path=plan_path, host=server.url, users=users, seconds=duration,
                                           rate=rate, out=workdir / "run.json", meter=meter, part=1)
            finally:
                cpu = meter.stop()
            n_workers = server.workers()
            threads = server.threads()
        finally:
            server.stop()
        speed = (speed_before, runner.machine_speed()[0])
        figures = runner.summarise(result["stats"])
        self._print(figures, cpu, plan, result, users=users, rate=rate, workers=n_workers, threads=threads,
                    approved=approved, broker=broker, workdir=workdir, speed=speed)
        if json_out:
            with open(json_out, "w") as fh:
                json.dump({"figures": figures, "cpu_seconds": cpu, "users": users, "customers": approved,
                           "machine_speed_ms": speed}, fh, indent=2)

    def _print(self, figures, cpu, plan, result, *, users, rate, workers, threads, approved, broker, workdir,
               speed):
        from mdm.loadtest import runner

        total = figures["all"]
        seconds = max(1e-9, total["last"] - total["first"])
        out = self.stdout.write
        out("")
        out(f"load test: {approved:,} approved customers on PostgreSQL; {users} clients "
            f"({plan['users']['readers']} downstream readers, {plan['users']['writers']} source systems posting), "
            + (f"paced at {rate:g} requests/s together" if rate else "each sending its next request on the answer")
            + ("" if plan["users"]["writers"] else "; READ PATH ONLY (no POSTs)"))
        out(f"{'request':<44}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'mean':>7}"
            f"{'errors':>7}")

        def row(label, f):
            out(f"{label:<44}{f['requests']:>9,}{f['requests'] / seconds:>8.1f}{f['p50_ms']:>8.0f}"
                f"{f['p95_ms']:>8.0f}{f['p99_ms']:>8.0f}{f['mean_ms']:>7.0f}{f['errors']:>7}")

        names = sorted((k for k in figures if k != "all" and not k.startswith("kind:")),
                       key=lambda k: (runner.kind_of(k), k))
        for name in names:
            row(name, figures[name])
        out("-" * 99)
        for kind in sorted(k for k in figures if k.startswith("kind:")):
            share = figures[kind]["requests"] / max(1, total["requests"])
            row(f"{kind[5:]} ({share:.0%})", figures[kind])
        row("ALL", total)
        rps = total["requests"] / seconds
        cores = os.cpu_count()
        wall = max(1e-9, cpu["wall"])
        out("")
        out(f"cores: {cores} on this machine, shared by every process (no pinning): gunicorn {workers} workers"
            f"{f' × {threads} threads' if threads > 1 else ' (sync)'}{' + 1 celery worker' if broker else ''}, "
            "locust 1 process (gevent: at most 1 core), PostgreSQL")
        other = cpu["machine"] - cpu["gunicorn"] - cpu["celery"] - cpu["postgres"] - cpu["locust"]
        celery = f"celery {cpu['celery'] / wall:.2f}, " if broker else ""
        out(f"CPU used during the measured run ({wall:.0f} s): gunicorn {cpu['gunicorn'] / wall:.2f} cores, "
            f"{celery}PostgreSQL {cpu['postgres'] / wall:.2f}, locust {cpu['locust'] / wall:.2f}, everything else "
            f"(other users of the machine, the broker, the kernel) {other / wall:.2f}; whole machine "
            f"{cpu['machine'] / wall:.2f} of {cores}")
        n = max(1, total["requests"])
        celery = f"celery {1000 * cpu['celery'] / n:.1f} ms, " if broker else ""
        out(f"CPU per request: gunicorn {1000 * cpu['gunicorn'] / n:.1f} ms, {celery}PostgreSQL "
            f"{1000 * cpu['postgres'] / n:.1f} ms (the server's own cost, which other load on the machine does "
            "not change)")
        out(f"machine speed: a fixed piece of Python work took {speed[0]:.0f} ms before the run and {speed[1]:.0f} ms "
            "after (lower is faster; on a shared host the same code's figures move with it)")
        errors = total["errors"] + sum(int(e.get("Count") or 0) for e in result["exceptions"])
        met = rps >= GOAL_RPS and total["p95_ms"] <= GOAL_P95_MS and errors == 0
        out(f"mix: {rps:.1f} requests/s, p50 {total['p50_ms']:.0f} ms, p95 {total['p95_ms']:.0f} ms, "
            f"p99 {total['p99_ms']:.0f} ms, {errors} errors — goal ≥ {GOAL_RPS} requests/s at p95 ≤ "
            f"{GOAL_P95_MS} ms with 0 errors: {'met' if met else 'NOT met'}")
        for f in result["failures"][:5]:
            out(f"  error ×{f.get('Occurrences')}: {f.get('Name')}: {f.get('Error', '')[:160]}")
        for e in result["exceptions"][:5]:
            out(f"  client exception ×{e.get('Count')}: {e.get('Message', '')[:160]}")
        out(f"logs: {workdir}")
