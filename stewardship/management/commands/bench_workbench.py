"""python manage.py bench_workbench — server time and query counts of the
review queue and the compare page with a large queue (default 100,000 open
tasks).  It ADDS synthetic review tasks between existing golden customers,
so run it on a scratch database loaded with ``manage.py demo --no-serve``::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ui_bench \
        python manage.py demo --no-serve --customers 500
    DATABASE_URL=... python manage.py bench_workbench --tasks 100000

Times are measured around Django's request handling in-process (the test
client), i.e. server time without the network."""

from __future__ import annotations

import itertools
import random
import statistics
import time

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from simple_history.utils import bulk_create_with_history

from mdm.audit import audit_context
from mdm.choices import EntityType, LifecycleState, Origin, TaskStatus
from mdm.models import Customer, MatchTask

FIELDS = ("legal_name", "trading_name", "tax_id", "website", "phone", "address_line", "city", "postcode",
          "country")


class Command(BaseCommand):
    help = "Benchmark the review queue and compare pages with a large queue (adds synthetic tasks)."

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, default=100_000, help="open review tasks to have in the queue")
        parser.add_argument("--repeat", type=int, default=20, help="requests per page")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, tasks, repeat, seed, **options):
        rng = random.Random(seed)
        with audit_context(origin=Origin.SYSTEM, reason="benchmark: synthetic review tasks"):
            self.fill(tasks, rng)
        user = User.objects.filter(is_superuser=True).first() or User.objects.filter(groups__name="steward").first()
        if user is None:
            raise CommandError("No steward or admin user: run `manage.py demo --no-serve` first.")
        client = Client()
        client.force_login(user)
        open_count = MatchTask.objects.filter(status=TaskStatus.OPEN).count()
        self.stdout.write(f"database: {connection.vendor}; open review tasks: {open_count:,}; "
                          f"golden customers: {Customer.objects.count():,}")
        pages = [
            ("queue, first page (score order)", lambda: "/review/"),
            ("queue, page 200 = deepest (score order)", lambda: "/review/?page=200"),
            ("queue, oldest first, customers", lambda: "/review/?entity=customer&sort=age"),
            ("queue, score band medium, unassigned", lambda: "/review/?band=medium&assignee=none"),
        ]
        ids = list(MatchTask.objects.filter(status=TaskStatus.OPEN).order_by("?").values_list("pk", flat=True)[:repeat])
        cycle = itertools.cycle(ids)
        pages.append(("compare page (random open task)", lambda: f"/review/{next(cycle)}/"))
        rows = []
        for label, make_url in pages:
            client.get(make_url())  # warm caches (matcher, rules, templates)
            times, queries = [], []
            for _ in range(repeat):
                url = make_url()
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    response = client.get(url)
                    elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    raise CommandError(f"{url} answered {response.status_code}")
                times.append(elapsed)
                queries.append(len(ctx.captured_queries))
            times.sort()
            p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
            rows.append((label, statistics.median(times), p95, max(times), max(queries)))
        self.stdout.write(f"\n{'page':<40} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
        for label, med, p95, mx, q in rows:
            self.stdout.write(f"{label:<40} {med:>10.1f} {p95:>8.1f} {mx:>8.1f} {q:>8}")
        worst = max(r[2] for r in rows)
        verdict = "under" if worst < 300 else "OVER"
        self.stdout.write(f"\nworst p95: {worst:.1f} ms ({verdict} the 300 ms budget)")

    def fill(self, wanted: int, rng: random.Random) -> None:
        have = MatchTask.objects.filter(status=TaskStatus.OPEN).count()
        missing = wanted - have
        if missing <= 0:
            return
        ids = list(Customer.objects.filter(state__in=(LifecycleState.PENDING, LifecycleState.APPROVED))
                   .values_list("id", flat=True))
        if len(ids) * (len(ids) - 1) // 2 < wanted * 1.2:
            raise CommandError(f"{len(ids)} golden customers give too few pairs for {wanted:,} tasks; "
                               "load more with `manage.py demo --no-serve --customers N`.")
        existing = set(MatchTask.objects.values_list("golden_a", "golden_b"))
        self.stdout.write(f"adding {missing:,} synthetic open review tasks…")
        batch, made = [], 0
        start = time.perf_counter()
        while made < missing:
            a, b = sorted(rng.sample(ids, 2), key=str)
            if (a, b) in existing:
                continue
            existing.add((a, b))
            score = round(rng.uniform(0.6, 0.95), 4)
            explanation = [{"field": "(prior)", "value_a": None, "value_b": None, "level": "prior",
                            "weight": -8.0, "tf_adjustment": 0.0}]
            explanation += [{"field": f, "value_a": "x", "value_b": "y", "level": rng.choice(["exact", "fuzzy", "else"]),
                             "weight": round(rng.uniform(-3, 6), 2), "tf_adjustment": 0.0} for f in FIELDS]
            batch.append(MatchTask(entity_type=EntityType.CUSTOMER, golden_a=a, golden_b=b, score=score,
                                   explanation=explanation, status=TaskStatus.OPEN))
            made += 1
            if len(batch) == 5000 or made == missing:
                bulk_create_with_history(batch, MatchTask, batch_size=2500,
                                         default_change_reason="benchmark: synthetic review task")
                batch = []
                self.stdout.write(f"  {made:,} / {missing:,} ({time.perf_counter() - start:.0f} s)")
