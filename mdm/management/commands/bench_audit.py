"""Benchmark the audit trail on a scratch database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/audit_db python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/audit_db python manage.py bench_audit --setup 1000000

``--setup N`` writes N customer history rows straight into the history table
(COPY on PostgreSQL, executemany elsewhere: N/10 customers with 10 versions
each spread over a year, 20 actors, 5 origins, a tax id change at version 6,
a city change on every version), queues them and times the sealer over all
of them.  Then it measures, through the real views (Django test client,
auditor session):

* the audit-log page time with various filters (median of 5 after a warm-up,
  including the capped count and the template),
* the CSV export rate (rows/s) of the streamed export of every row, and the
  export's peak memory (Python heap peak by tracemalloc, and the process's
  peak RSS growth),
* with ``--verify``, the time ``verify_audit`` takes over the whole chain.

Only use it on a database you can throw away: the rows are fake.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import tracemalloc
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mdm import audit_chain, auditlog
from mdm.models import AuditEntry, AuditPending, Customer

CITIES = [f"City {i:02d}" for i in range(50)]
ACTORS = [(f"steward{i:02d}", "web") for i in range(10)] + [(f"importer{i}", "import") for i in range(5)] + [
    ("svc:crm-sync", "sync"), ("svc:erp-sync", "sync"), ("svc:psa-api", "api"), ("svc:billing-api", "api"),
    ("", "match")]


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class Command(BaseCommand):
    help = "Benchmark the audit log page, CSV export and sealer on N history rows (scratch database only)."

    def add_arguments(self, parser):
        parser.add_argument("--setup", type=int, default=0, help="Write this many fake history rows first.")
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--verify", action="store_true", help="Also time verify_audit over the whole chain.")
        parser.add_argument("--skip-csv", action="store_true")

    def handle(self, *args, **opts):
        if "testserver" not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS.append("testserver")
        self.stdout.write(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")
        if opts["setup"]:
            self._setup(opts["setup"])
        total = AuditEntry.objects.count()
        if not total:
            raise CommandError("No sealed history rows: run with --setup 1000000 first.")
        self.stdout.write(f"sealed history rows (audit entries): {total:,}")
        client = self._auditor_client()
        self._pages(client, opts["runs"])
        if not opts["skip_csv"]:
            self._csv(client)
        if opts["verify"]:
            started = time.monotonic()
            report = audit_chain.verify(seal=False)
            took = time.monotonic() - started
            self.stdout.write(f"verify_audit: {report.checked:,} entries in {took:.1f} s "
                              f"({report.checked / took:,.0f} rows/s), ok={report.ok}")

    # -- setup ----------------------------------------------------------------
    def _setup(self, n: int) -> None:
        hm = Customer.history.model
        table = hm._meta.db_table
        cols = [f.column for f in hm._meta.concrete_fields if f.column != "history_id"]
        customers = max(1, n // 10)
        end = timezone.now() - dt.timedelta(hours=2)
        start = end - dt.timedelta(days=365)
        step = (end - start) / n
        cids = [uuid.UUID(int=(0xBE9C << 112) + k) for k in range(customers)]

        def rows():
            for g in range(n):
                k, v = g % customers, g // customers + 1
                when = start + step * g
                actor, origin = ACTORS[(g * 7) % len(ACTORS)]
                values = {
                    "history_origin": origin, "history_actor": actor,
                    "history_correlation_id": uuid.UUID(int=g // 3).hex, "id": str(cids[k]),
                    "state": "approved" if v % 2 else "pending", "version": v, "lineage": "{}", "is_valid": True,
                    "created_at": start, "updated_at": when, "approved_at": None,
                    "legal_name": f"Bench Customer {k} Ltd", "trading_name": f"Bench {k}",
                    "tax_id": f"GB{k:09d}" if v < 6 else f"GB{k + 500_000_000:09d}", "registration_number": "",
                    "lei": "", "duns": "", "website": f"bench{k}.example", "phone": "", "email": "",
                    "address_line": f"{k} High Street", "city": CITIES[(k + v) % len(CITIES)], "postcode": "",
                    "country": "GB", "currency": "GBP", "payment_terms": "NET30", "industry": "Services",
                    "account_owner": "", "status": "active", "approved_by_id": None, "last_edited_by_id": None,
                    "merged_into_id": None, "parent_id": None, "legal_entity_id": None, "history_date": when,
                    "history_change_reason": f"bench: version {v}", "history_type": "+" if v == 1 else "~",
                    "history_user_id": None,
                }
                yield tuple(values[c] for c in cols)

        started = time.monotonic()
        with transaction.atomic():
            with connection.cursor() as cur:
                if connection.vendor == "postgresql":
                    with cur.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                        for row in rows():
                            copy.write_row(row)
                else:
                    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
                    batch = []
                    for row in rows():
                        batch.append(row)
                        if len(batch) == 10_000:
                            cur.executemany(sql, batch)
                            batch = []
                    if batch:
                        cur.executemany(sql, batch)
        took = time.monotonic() - started
        self.stdout.write(f"setup: {n:,} history rows written in {took:.1f} s ({n / took:,.0f} rows/s)")
        # queue them exactly as writers do, oldest first, and time the sealer
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {AuditPending._meta.db_table} (model, history_id, created_at) "
                f"SELECT 'mdm.customer', h.history_id, %s FROM {table} h WHERE NOT EXISTS "
                f"(SELECT 1 FROM {AuditEntry._meta.db_table} e WHERE e.model = 'mdm.customer' "
                f"AND e.history_id = h.history_id) AND NOT EXISTS (SELECT 1 FROM {AuditPending._meta.db_table} p "
                f"WHERE p.model = 'mdm.customer' AND p.history_id = h.history_id) ORDER BY h.history_date",
                [timezone.now()])
        started = time.monotonic()
        sealed = audit_chain.seal_pending()
        took = time.monotonic() - started
        self.stdout.write(f"sealer: {sealed:,} rows sealed in {took:.1f} s ({sealed / took:,.0f} rows/s)")
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(f"ANALYZE {AuditEntry._meta.db_table}")
                cur.execute(f"ANALYZE {table}")

    def _auditor_client(self) -> Client:
        from django.contrib.auth.models import Group, User

        from mdm.services.accounts import ensure_groups

        ensure_groups()
        user, _ = User.objects.get_or_create(username="bench-auditor")
        user.groups.add(Group.objects.get(name="auditor"))
        client = Client()
        client.force_login(user)
        return client

    # -- measurements ---------------------------------------------------------
    def _timed(self, client, url, params, runs) -> tuple[float, int]:
        response = client.get(url, params)
        if response.status_code != 200:
            raise CommandError(f"{url} {params} answered {response.status_code}")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url, params)
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000, response.content.count(b"data-seq=")

    def _pages(self, client, runs: int) -> None:
        newest = AuditEntry.objects.order_by("-history_date", "-seq").first()
        total = AuditEntry.objects.count()
        middle = AuditEntry.objects.order_by("-history_date", "-seq")[total // 2: total // 2 + 1].get()
        deep_cursor = auditlog.encode_cursor(middle)
        month_end = newest.history_date - dt.timedelta(days=30)
        month = {"since": (month_end - dt.timedelta(days=30)).date().isoformat(), "until": month_end.date().isoformat()}
        record = AuditEntry.objects.filter(model="mdm.customer").order_by("seq").values_list("object_id", flat=True)[0]
        cases = [
            ("no filter, first page", {}),
            (f"no filter, page at row {total // 2:,} (keyset)", {"after": deep_cursor}),
            ("entity=customer + field=tax_id + one month", {"entity": "customer", "field": "tax_id", **month}),
            ("actor + origin + one month", {"actor": "svc:psa-api", "origin": "api", **month}),
            ("field=tax_id (all time)", {"field": "tax_id"}),
            ("one record (record id)", {"entity": "customer", "record": record}),
            ("actor only", {"actor": "steward03"}),
        ]
        url = reverse("audit-log")
        self.stdout.write(f"audit-log page ({auditlog.PAGE_SIZE} rows, capped count, rendered), median of {runs}:")
        for label, params in cases:
            ms, shown = self._timed(client, url, params, runs)
            self.stdout.write(f"  {label:<48} {ms:8.1f} ms  ({shown} rows on the page)")
        api_ms, _ = self._timed(client, "/api/v1/audit/log/", {"entity": "customer", "field": "tax_id", **month}, runs)
        self.stdout.write(f"  {'API /api/v1/audit/log/ same filters as row 3':<48} {api_ms:8.1f} ms")

    def _csv(self, client) -> None:
        url = reverse("audit-export")
        for label, trace in (("rate", False), ("memory", True)):
            _reset_peak_rss()
            rss_before = _rss_kb("VmRSS")
            if trace:
                tracemalloc.start()
            started = time.monotonic()
            response = client.get(url)
            rows = nbytes = 0
            for chunk in response.streaming_content:
                rows += chunk.count(b"\n")
                nbytes += len(chunk)
            took = time.monotonic() - started
            rows -= 1  # header
            if trace:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                self.stdout.write(f"CSV export memory: Python heap peak {peak / 2**20:.1f} MiB while streaming "
                                  f"{rows:,} rows ({nbytes / 2**20:,.0f} MiB of CSV); process peak RSS grew "
                                  f"{(_rss_kb('VmHWM') - rss_before) / 1024:.1f} MiB")
            else:
                self.stdout.write(f"CSV export rate: {rows:,} rows in {took:.1f} s = {rows / took:,.0f} rows/s "
                                  f"({nbytes / 2**20:,.0f} MiB)")
