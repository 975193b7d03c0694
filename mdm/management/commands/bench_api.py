"""``python manage.py bench_api [--customers 1000000]``: the REST API's
throughput and latency on PostgreSQL.

Setup (not measured): approved golden customers written with COPY straight
into the tables, with a CRM source record, cross-reference, lineage,
blocking keys and change-feed event each (``mdm.loadtest.dataset``, shared
with ``load_test``).  Rows already there are reused, so a 1,000,000 run
after a 100,000 run only adds the difference.

Measured, all through the real HTTP stack in-process (Django's test
``Client``: URL routing, middleware, DRF authentication with a real knox
token, throttling, serialisation, JSON) but without a network socket:

1. full pull of every approved customer through cursor pages (records/s);
2. ``updated_since`` poll latency (p50/p95), for a poll that finds the 100
   newest records and for one that finds nothing;
3. bulk ingest: lists of ``MDM_BULK_LIMIT`` new ERP customer records POSTed
   to ``/api/v1/source-records/`` (records/s; the real ingest, matching,
   survivorship, validation and history path);
4. single-record POSTs of each kind the load test sends (a new company, the
   ERP's record of a company the hub has, that record changed, the CRM's
   record of an approved golden edited): p50/p95 latency, CPU per POST in
   the web process and in PostgreSQL, statements per POST.
"""

from __future__ import annotations

import contextlib
import json
import random
import statistics
import time
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from mdm.loadtest.dataset import SOURCE_PREFIX, company, crm_payload, ensure_customers, erp_record
from mdm.models import Customer
from mdm.services.accounts import create_service_account

def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


class Command(BaseCommand):
    help = "Benchmark the REST API on PostgreSQL: full pull, updated_since polls, bulk and single ingest."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1_000_000, help="Golden customers (default 1,000,000).")
        parser.add_argument("--page-size", type=int, default=1000, help="Page size of the full pull (0: no pull).")
        parser.add_argument("--bulk", type=int, default=20_000, help="Records sent through bulk POSTs.")
        parser.add_argument("--singles", type=int, default=200,
                            help="Single-record POSTs to time, of each kind (new, matched, changed, CRM edit).")
        parser.add_argument("--polls", type=int, default=30, help="updated_since polls to time (0: none).")
        parser.add_argument("--allow-sqlite", action="store_true", help="Run on SQLite anyway (figures not comparable).")
        parser.add_argument("--json", dest="json_out", help="Also write the figures to this JSON file.")

    # --- setup ---------------------------------------------------------------------------------
    def handle(self, *args, customers, page_size, bulk, singles, polls, allow_sqlite, json_out, **options):
        if connection.vendor != "postgresql" and not allow_sqlite:
            raise CommandError("bench_api measures PostgreSQL: set DATABASE_URL=postgres://… (or --allow-sqlite).")
        from mdm.services.accounts import ensure_groups
        from mdm.services.setup import seed_defaults

        settings.DEBUG = False  # as in production: no query log (it costs CPU on every statement and grows)
        ensure_groups()
        seed_defaults()
        t0 = time.perf_counter()
        created = ensure_customers(customers, log=self.stdout.write)
        self.stdout.write(f"setup: {created:,} golden customers added in {time.perf_counter() - t0:.1f} s "
                          f"(now {Customer.objects.filter(state='approved').count():,} approved)")
        name = f"bench-{uuid.uuid4().hex[:6]}"
        tokens = {code: create_service_account(name=f"{name}-{code}", system_code=code)[1] for code in ("erp", "crm")}
        clients = {code: Client(HTTP_AUTHORIZATION=f"Token {token}") for code, token in tokens.items()}
        client = clients["erp"]
        figures = {"customers": Customer.objects.filter(state="approved").count(), "client": "django.test.Client",
                   "database": connection.vendor}
        if page_size:
            figures.update(self._full_pull(client, page_size))
        if polls:
            figures.update(self._polls(client, polls))
        if bulk:
            figures.update(self._bulk(client, bulk, customers))
        if singles:
            figures.update(self._singles(clients, singles, customers))
        self.stdout.write(json.dumps(figures, indent=2))
        if json_out:
            with open(json_out, "w") as fh:
                json.dump(figures, fh, indent=2)

    # --- measurements ----------------------------------------------------------------------------
    def _full_pull(self, client, page_size) -> dict:
        url = f"/api/v1/customers/?page_size={page_size}"
        count = pages = 0
        t0 = time.perf_counter()
        while url:
            response = client.get(url)
            if response.status_code != 200:
                raise CommandError(f"full pull: {response.status_code} {response.content[:300]!r}")
            body = json.loads(response.content)
            count += len(body["results"])
            pages += 1
            url = body["next"]
        elapsed = time.perf_counter() - t0
        self.stdout.write(f"full pull: {count:,} records in {pages:,} pages, {elapsed:.1f} s, "
                          f"{count / elapsed:,.0f} records/s")
        return {"full_pull_records": count, "full_pull_seconds": round(elapsed, 2),
                "full_pull_records_per_s": round(count / elapsed)}

    def _polls(self, client, polls) -> dict:
        newest = list(Customer.objects.filter(state="approved").order_by("-updated_at")
                      .values_list("updated_at", flat=True)[:100])
        since = newest[-1].isoformat()
        out = {}
        for label, value in (("100_new", since), ("nothing_new", timezone.now().isoformat())):
            times, found = [], 0
            for _ in range(polls):
                t0 = time.perf_counter()
                response = client.get("/api/v1/customers/", {"updated_since": value, "page_size": 1000})
                times.append((time.perf_counter() - t0) * 1000)
                found = len(json.loads(response.content)["results"])
            out[f"poll_{label}_p50_ms"] = round(pct(times, 50), 1)
            out[f"poll_{label}_p95_ms"] = round(pct(times, 95), 1)
            self.stdout.write(f"updated_since poll ({label}, {found} records): p50 {pct(times, 50):.1f} ms, "
                              f"p95 {pct(times, 95):.1f} ms")
        return out

    def _bulk(self, client, total, customers) -> dict:
        limit = settings.MDM_BULK_LIMIT
        run = uuid.uuid4().hex[:6]
        # new companies (indexes past the goldens) so each record goes through matching and a new golden
        offset = customers + 10_000_000 + random.randrange(10_000_000)
        records = [erp_record(f"B{run}-{i}", company(offset + i)) for i in range(total)]
        outcomes: dict[str, int] = {}
        t0 = time.perf_counter()
        for start in range(0, total, limit):
            chunk = records[start:start + limit]
            response = client.post("/api/v1/source-records/", json.dumps(chunk), content_type="application/json")
            if response.status_code != 207:
                raise CommandError(f"bulk: {response.status_code} {response.content[:300]!r}")
            for key, n in json.loads(response.content)["summary"].items():
                outcomes[key] = outcomes.get(key, 0) + n
        elapsed = time.perf_counter() - t0
        self.stdout.write(f"bulk ingest: {total:,} records in lists of {limit}, {elapsed:.1f} s, "
                          f"{total / elapsed:,.0f} records/s {outcomes}")
        return {"bulk_records": total, "bulk_seconds": round(elapsed, 2),
                "bulk_records_per_s": round(total / elapsed), "bulk_outcomes": outcomes}

    def _singles(self, clients, n, customers) -> dict:
        """What one single-record POST costs, per kind the load test sends:
        latency, CPU in this (the web) process and in the PostgreSQL backend,
        and statements sent.  Kinds: ``new`` (a company the hub has never
        seen: a new golden), ``matched`` (the ERP's record of a company the
        hub has: matched in real time), ``changed`` (those ERP records again
        with new payment terms) and ``crm edit`` (the CRM's own record of an
        approved golden with its city changed: the golden changes).  Without
        a broker, the audit sealing after each commit runs in this process
        and is counted; with one, a Celery worker does it."""
        run = uuid.uuid4().hex[:6]
        rng = random.Random(7)
        picks = rng.sample(range(customers), 2 * n)
        # companies no run has sent before (a seeded offset made a second run's "new" ones matched)
        offset = customers + 30_000_000 + random.randrange(10_000_000)
        matched = [erp_record(f"S{run}-{k}", company(i)) for k, i in enumerate(picks[:n])]
        kinds = (
            ("new", "erp", [erp_record(f"N{run}-{k}", company(offset + k)) for k in range(n)], {"created"}),
            ("matched", "erp", matched, {"created"}),
            ("changed", "erp", [{**r, "data": {**r["data"], "payment_terms": "NET60"}} for r in matched],
             {"updated"}),
            ("crm edit", "crm", [{"entity_type": "customer", "source_id": f"{SOURCE_PREFIX}{i}",
                                  "data": {**crm_payload(company(i)), "BillingCity": f"{company(i)['city']} {run}"}}
                                 for i in picks[n:]], {"updated"}),
        )
        out = {}
        for label, system, records, expected in kinds:
            costs = _PostCosts()
            decisions: dict[str, int] = {}
            for record in records:
                with costs.measure():
                    response = clients[system].post("/api/v1/source-records/", json.dumps(record),
                                                     content_type="application/json")
                if response.status_code not in (200, 201):
                    raise CommandError(f"{label}: {response.status_code} {response.content[:300]!r}")
                body = json.loads(response.content)
                if body.get("outcome") not in expected:
                    raise CommandError(f"{label}: outcome {body.get('outcome')}, expected {expected}")
                decision = body.get("decision") or body.get("outcome") or "?"
                decisions[decision] = decisions.get(decision, 0) + 1
            f = costs.figures()
            self.stdout.write(f"single POST, {label}: p50 {f['p50_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms; per POST "
                              f"{f['web_cpu_ms']:.1f} ms CPU here, {f['db_cpu_ms']:.1f} ms in PostgreSQL, "
                              f"{f['statements']:.1f} statements ({f['copies']:.1f} of them COPY) over {n} "
                              f"{decisions}")
            out[f"single_{label.replace(' ', '_')}"] = {**f, "decisions": decisions, "posts": n}
        return out


class _PostCosts:
    """Wall time, CPU of this process and of its PostgreSQL backend, and
    statements (``execute``/``executemany`` through Django's cursors, and
    COPYs on the raw ones), per measured call."""

    def __init__(self):
        self.wall, self.web, self.db, self.statements, self.copies = [], 0.0, 0.0, 0, 0
        self.backend = None
        if connection.vendor == "postgresql":
            import psutil

            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            try:
                self.backend = psutil.Process(pid)  # a local server; elsewhere no database CPU figure
                self.backend.cpu_times()
            except Exception:  # noqa: BLE001
                self.backend = None

    def _db_cpu(self) -> float:
        if self.backend is None:
            return 0.0
        t = self.backend.cpu_times()
        return t.user + t.system

    @contextlib.contextmanager
    def measure(self):
        import psycopg

        def count(execute, sql, params, many, context):
            self.statements += 1
            return execute(sql, params, many, context)

        real_copy = psycopg.Cursor.copy

        def copy(cursor, *args, **kwargs):
            self.copies += 1
            return real_copy(cursor, *args, **kwargs)

        db0, web0, t0 = self._db_cpu(), time.thread_time(), time.perf_counter()
        psycopg.Cursor.copy = copy
        try:
            with connection.execute_wrapper(count):
                yield
        finally:
            psycopg.Cursor.copy = real_copy
            self.wall.append((time.perf_counter() - t0) * 1000)
            self.web += time.thread_time() - web0
            self.db += self._db_cpu() - db0

    def figures(self) -> dict:
        n = max(1, len(self.wall))
        return {"p50_ms": round(pct(self.wall, 50), 1), "p95_ms": round(pct(self.wall, 95), 1),
                "mean_ms": round(statistics.mean(self.wall), 1), "web_cpu_ms": round(1000 * self.web / n, 1),
                "db_cpu_ms": round(1000 * self.db / n, 1),
                "statements": round((self.statements + self.copies) / n, 1), "copies": round(self.copies / n, 1)}
