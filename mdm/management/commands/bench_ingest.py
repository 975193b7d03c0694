"""python manage.py bench_ingest [--records 100000] [--databases sqlite,postgres]

Ingests generated source records through the real ingest path (mapping,
matching, survivorship, validation, history, lineage) into a fresh database
of each kind and prints records/s and peak memory.  Each database runs in a
child process so the figures do not mix."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


class FreshDatabaseBenchmark(BaseCommand):
    """A benchmark run once per database kind, each in a child process on a
    fresh database (``database_name``), so the figures do not mix."""

    database_name = ""
    default_databases = "sqlite,postgres"
    records_help = "generated source records"

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=100_000, help=self.records_help)
        parser.add_argument("--databases", default=self.default_databases)
        parser.add_argument("--pg-url", default=os.environ.get("MDM_BENCH_PG_URL", PG_ADMIN_URL),
                            help=f"a PostgreSQL server URL; a fresh database {self.database_name} is created on it")
        parser.add_argument("--chunk", type=int, default=500)
        parser.add_argument("--child", action="store_true", help=argparse_hidden())
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, records, databases, pg_url, chunk, child, no_progress, **options):
        if child:
            return self.run_child(records, chunk, no_progress)
        rows = []
        name = self.__module__.rsplit(".", 1)[-1]
        for kind in [d.strip() for d in databases.split(",") if d.strip()]:
            url = fresh_database(kind, pg_url, self.database_name)
            env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": ""}
            cmd = [sys.executable, "manage.py", name, "--child", "--records", str(records),
                   "--chunk", str(chunk)] + (["--no-progress"] if no_progress else [])
            proc = subprocess.run(cmd, env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, text=True)
            if proc.returncode:
                raise CommandError(f"{kind} run failed")
            rows.append((kind, json.loads(proc.stdout.strip().splitlines()[-1])))
        self.report(rows, records, chunk)

    def run_child(self, records: int, chunk: int, no_progress: bool) -> None:
        raise NotImplementedError

    def report(self, rows: list, records: int, chunk: int) -> None:
        raise NotImplementedError


class Command(FreshDatabaseBenchmark):
    help = "Benchmark the ingest path on SQLite and PostgreSQL: records/s and peak memory."
    database_name = "mdm_bench_ingest"

    def report(self, rows: list, records: int, chunk: int) -> None:
        self.stdout.write(f"\ningest benchmark: {records:,} generated source records, chunks of {chunk}")
        self.stdout.write(f"{'database':<10} {'records':>9} {'seconds':>8} {'records/s':>10} {'peak MB':>8} "
                          f"{'goldens':>8} {'history rows':>13}")
        for kind, r in rows:
            self.stdout.write(f"{kind:<10} {r['records']:>9,} {r['seconds']:>8.1f} {r['rate']:>10,.0f} "
                              f"{r['peak_mb']:>8.0f} {r['goldens']:>8,} {r['history_rows']:>13,}")

    def run_child(self, records: int, chunk: int, no_progress: bool) -> None:
        from mdm.audit import audit_context
        from mdm.choices import Origin
        from mdm.demo.generator import DemoGenerator
        from mdm.models import GOLDEN_MODELS, SourceRecord
        from mdm.services.ingest import ingest_many
        from mdm.services.setup import seed_defaults

        settings.DEBUG = False  # no query log: it would grow without bound
        call_command("migrate", interactive=False, verbosity=0)
        seed_defaults()
        gen = DemoGenerator(n_customers=max(records * 10 // 23, 10), seed=7)
        buffers: dict = {}
        done = 0
        bar = tqdm(total=records, unit="rec", desc=settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                   disable=no_progress, file=sys.stderr)

        def flush(key):
            nonlocal done
            part = buffers.pop(key, [])
            if part:
                ingest_many(system=key[0], entity_type=key[1], items=part)
                done += len(part)
                bar.update(len(part))

        start = time.perf_counter()
        with audit_context(origin=Origin.IMPORT, reason="ingest benchmark"):
            current = None
            for row in gen.source_rows():
                if done + sum(len(b) for b in buffers.values()) >= records:
                    break
                if row.entity_type != current:
                    for key in list(buffers):
                        flush(key)
                    current = row.entity_type
                key = (row.system, row.entity_type)
                buffers.setdefault(key, []).append((row.source_id, row.data))
                if len(buffers[key]) >= chunk:
                    flush(key)
            for key in list(buffers):
                flush(key)
        seconds = time.perf_counter() - start
        bar.close()
        history = sum(m.history.count() for m in GOLDEN_MODELS.values()) + SourceRecord.history.count()
        print(json.dumps({
            "records": done, "seconds": seconds, "rate": done / seconds,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "goldens": sum(m.objects.count() for m in GOLDEN_MODELS.values()), "history_rows": history,
        }))


def fresh_database(kind: str, pg_url: str, name: str) -> str:
    """A URL to a new, empty database of ``kind`` (a temporary SQLite file, or
    database ``name`` dropped and created on the PostgreSQL server)."""
    if kind == "sqlite":
        path = os.path.join(tempfile.mkdtemp(prefix="mdm-bench-"), "bench.sqlite3")
        return f"sqlite:///{path}"
    if kind in ("postgres", "postgresql"):
        import psycopg

        base = pg_url.rsplit("/", 1)[0]
        with psycopg.connect(pg_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return f"{base}/{name}"
    raise CommandError(f"unknown database kind {kind!r} (sqlite or postgres)")


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS
