"""``python manage.py bench_api [--customers 1000000]``: the REST API's
throughput and latency on PostgreSQL.

Setup (not measured): approved golden customers written with COPY straight
into the tables, plus their blocking keys so real-time matching has the
same index it would have in production.  Rows already there are reused, so
a 1,000,000 run after a 100,000 run only adds the difference.  The setup
writes no history rows for these synthetic goldens.

Measured, all through the real HTTP stack in-process (Django's test
``Client``: URL routing, middleware, DRF authentication with a real knox
token, throttling, serialisation, JSON) but without a network socket:

1. full pull of every approved customer through cursor pages (records/s);
2. ``updated_since`` poll latency (p50/p95), for a poll that finds the 100
   newest records and for one that finds nothing;
3. bulk ingest: lists of ``MDM_BULK_LIMIT`` new ERP customer records POSTed
   to ``/api/v1/source-records/`` (records/s; the real ingest, matching,
   survivorship, validation and history path);
4. single-record POSTs of ERP records that match an existing golden in real
   time (p50/p95 latency, and how many were matched).
"""

from __future__ import annotations

import datetime as dt
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

from mdm.models import Customer
from mdm.services.accounts import create_service_account

WORDS_B = ("Analytics Logistics Systems Dynamics Solutions Partners Holdings Industries Consulting Advisory "
           "Engineering Networks Resources Ventures Capital Energy Foods Pharma Robotics Software Media Labs "
           "Health Insurance Finance Textiles Metals Chemicals Plastics Motors Aviation Marine Rail Freight "
           "Construction Realty Interiors Design Print Packaging Water Power Solar Wind Mining Timber Paper "
           "Security Telecom Data Cloud Devices Optics Sensors Tools Machines Instruments Retail Fashion").split()
WORDS_C = ("Group Company Trading Services International Europe Worldwide Technologies Associates Brothers "
           "Enterprises Alliance Collective Works Studio Agency Network Bureau Institute Foundation").split()
FORMS = ("Ltd", "GmbH", "BV", "SAS", "SA", "AB", "plc", "Srl")
COUNTRIES = (("GB", "GBP", "London"), ("DE", "EUR", "Berlin"), ("NL", "EUR", "Amsterdam"), ("FR", "EUR", "Paris"),
             ("SE", "SEK", "Stockholm"), ("ES", "EUR", "Madrid"), ("IT", "EUR", "Milan"), ("IE", "EUR", "Dublin"))


SYLLABLES = ("ka lo mi ra te su no vi da pe ro ze ba li mo tu ne sa fi go ha ju ke la ma ni po qu re si "
             "ta vo wa xe ya zo bri cla dre fro").split()


def company(i: int) -> dict:
    """A deterministic, distinct synthetic company for index ``i`` (brand
    names from syllables, so name blocks stay realistically small)."""
    n_syl = len(SYLLABLES)
    brand = (SYLLABLES[i % n_syl] + SYLLABLES[(i // n_syl) % n_syl] + SYLLABLES[(i // n_syl ** 2) % n_syl]).title()
    rest = i // n_syl ** 3
    b = WORDS_B[rest % len(WORDS_B)]
    c = WORDS_C[(rest // len(WORDS_B)) % len(WORDS_C)]
    country, currency, city = COUNTRIES[(i * 7) % len(COUNTRIES)]
    name = f"{brand} {b} {c} {FORMS[(i * 3) % len(FORMS)]}"
    return {
        "legal_name": name,
        "tax_id": f"{country}{100000000 + i:09d}",
        "country": country,
        "currency": currency,
        "city": city,
        "postcode": f"{10000 + i % 89999}",
        "website": f"{brand}{b}{i}.example".lower(),
        "payment_terms": "NET30",
        "status": "active",
    }


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


class Command(BaseCommand):
    help = "Benchmark the REST API on PostgreSQL: full pull, updated_since polls, bulk and single ingest."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1_000_000, help="Golden customers (default 1,000,000).")
        parser.add_argument("--page-size", type=int, default=1000)
        parser.add_argument("--bulk", type=int, default=20_000, help="Records sent through bulk POSTs.")
        parser.add_argument("--singles", type=int, default=200, help="Single-record POSTs to time.")
        parser.add_argument("--polls", type=int, default=30)
        parser.add_argument("--allow-sqlite", action="store_true", help="Run on SQLite anyway (figures not comparable).")
        parser.add_argument("--json", dest="json_out", help="Also write the figures to this JSON file.")

    # --- setup ---------------------------------------------------------------------------------
    def handle(self, *args, customers, page_size, bulk, singles, polls, allow_sqlite, json_out, **options):
        if connection.vendor != "postgresql" and not allow_sqlite:
            raise CommandError("bench_api measures PostgreSQL: set DATABASE_URL=postgres://… (or --allow-sqlite).")
        from mdm.services.accounts import ensure_groups
        from mdm.services.setup import seed_defaults

        ensure_groups()
        seed_defaults()
        t0 = time.perf_counter()
        created = self._ensure_customers(customers)
        self.stdout.write(f"setup: {created:,} golden customers added in {time.perf_counter() - t0:.1f} s "
                          f"(now {Customer.objects.filter(state='approved').count():,} approved)")
        name = f"bench-{uuid.uuid4().hex[:6]}"
        _, token = create_service_account(name=name, system_code="erp")
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        figures = {"customers": Customer.objects.filter(state="approved").count(), "client": "django.test.Client",
                   "database": connection.vendor}
        figures.update(self._full_pull(client, page_size))
        figures.update(self._polls(client, polls))
        if bulk:
            figures.update(self._bulk(client, bulk, customers))
        if singles:
            figures.update(self._singles(client, singles, customers))
        self.stdout.write(json.dumps(figures, indent=2))
        if json_out:
            with open(json_out, "w") as fh:
                json.dump(figures, fh, indent=2)

    def _ensure_customers(self, target: int) -> int:
        have = Customer.objects.count()
        if have >= target:
            return 0
        from mdm.services.matching import blocking_keys

        cols = ("id", "state", "version", "lineage", "is_valid", "created_at", "updated_at", "approved_at",
                "legal_name", "trading_name", "tax_id", "registration_number", "lei", "duns", "website", "phone",
                "email", "address_line", "city", "postcode", "country", "currency", "payment_terms", "industry",
                "account_owner", "status")
        base = timezone.now() - dt.timedelta(days=30)
        batch = 50_000
        with connection.cursor() as cursor:
            raw = cursor.cursor
            for start in range(have, target, batch):
                stop = min(target, start + batch)
                rows, keys = [], []
                for i in range(start, stop):  # keys first: the matcher may query, which a COPY in flight forbids
                    c = company(i)
                    gid = uuid.UUID(int=random.getrandbits(128), version=4)
                    at = base + dt.timedelta(milliseconds=i)
                    rows.append((gid, "approved", 1, "{}", True, at, at, at, c["legal_name"], "", c["tax_id"], "",
                                 "", "", c["website"], "", "", "", c["city"], c["postcode"], c["country"],
                                 c["currency"], c["payment_terms"], "", "", c["status"]))
                    keys += [(gid, key) for key in blocking_keys("customer", {**c, "trading_name": ""})]
                with raw.copy(f"COPY mdm_customer ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                with raw.copy("COPY mdm_blockingkey (entity_type, key, golden_id) FROM STDIN") as copy:
                    for gid, key in keys:
                        copy.write_row(("customer", key, gid))
                self.stdout.write(f"  … {stop:,} customers")
            cursor.execute("ANALYZE mdm_customer")
            cursor.execute("ANALYZE mdm_blockingkey")
        return target - have

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

    def _erp_record(self, source_id: str, c: dict) -> dict:
        return {"entity_type": "customer", "source_id": source_id, "data": {
            "customer_name": c["legal_name"], "vat_id": c["tax_id"], "country_code": c["country"],
            "currency": c["currency"], "city": c["city"], "zip": c["postcode"], "payment_terms": "NET30",
            "status": "active"}}

    def _bulk(self, client, total, customers) -> dict:
        limit = settings.MDM_BULK_LIMIT
        run = uuid.uuid4().hex[:6]
        # new companies (indexes past the goldens) so each record goes through matching and a new golden
        offset = customers + 10_000_000 + random.randrange(10_000_000)
        records = [self._erp_record(f"B{run}-{i}", company(offset + i)) for i in range(total)]
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

    def _singles(self, client, n, customers) -> dict:
        run = uuid.uuid4().hex[:6]
        rng = random.Random(7)
        times, decisions = [], {}
        for k in range(n):
            c = company(rng.randrange(customers))
            body = json.dumps(self._erp_record(f"S{run}-{k}", c))
            t0 = time.perf_counter()
            response = client.post("/api/v1/source-records/", body, content_type="application/json")
            times.append((time.perf_counter() - t0) * 1000)
            if response.status_code not in (200, 201):
                raise CommandError(f"single: {response.status_code} {response.content[:300]!r}")
            decision = json.loads(response.content).get("decision") or "?"
            decisions[decision] = decisions.get(decision, 0) + 1
        self.stdout.write(f"single POST matched in real time: p50 {pct(times, 50):.1f} ms, "
                          f"p95 {pct(times, 95):.1f} ms over {n} {decisions}")
        return {"single_p50_ms": round(pct(times, 50), 1), "single_p95_ms": round(pct(times, 95), 1),
                "single_decisions": decisions, "singles": n, "single_mean_ms": round(statistics.mean(times), 1)}
