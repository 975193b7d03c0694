"""python manage.py bench_rebuild [--records 100000] [--databases postgres,sqlite]

Rebuilds golden customers after a survivorship rule change and prints
records/s and peak memory, on a fresh database of each kind (each in a child
process, so the figures do not mix).

Setup (not measured): ``--records`` generated companies as the CRM, ERP and
PSA hold them (about 1.9 source records each, mapped through the real field
mappings), written straight into the tables with their cross-references,
one golden customer per real-world company, as matching would have linked
them.  Ingest has its own benchmark (``bench_ingest``); this one isolates
the rebuild.

Measured, through the same path a rule edit takes (``rebuild_entity_type``,
chunks of 500, one transaction each, history rows with reason and origin,
lineage, validation, blocking keys):

1. the first build of every golden from its source records;
2. a rebuild after ``legal_name`` is switched from ERP-first to CRM-first."""

from __future__ import annotations

import json
import resource
import sys
import time
import uuid

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from tqdm import tqdm

from mdm.management.commands.bench_ingest import FreshDatabaseBenchmark

SETUP_CHUNK = 5000


class Command(FreshDatabaseBenchmark):
    help = "Benchmark rebuilding golden customers after a rule change: records/s and peak memory."
    database_name = "mdm_bench_rebuild"
    default_databases = "postgres"
    records_help = "golden customers to rebuild"

    def report(self, rows: list, records: int, chunk: int) -> None:
        self.stdout.write(f"\nrebuild benchmark: {records:,} golden customers, chunks of {chunk}")
        self.stdout.write(f"{'database':<10} {'step':<34} {'records':>9} {'seconds':>8} {'records/s':>10} "
                          f"{'changed':>8} {'peak MB':>8}")
        for kind, r in rows:
            for step in r["steps"]:
                self.stdout.write(f"{kind:<10} {step['step']:<34} {step['total']:>9,} {step['seconds']:>8.1f} "
                                  f"{step['rate']:>10,.0f} {step['changed']:>8,} {r['peak_mb']:>8.0f}")

    def run_child(self, records: int, chunk: int, no_progress: bool) -> None:
        settings.DEBUG = False  # no query log: it would grow without bound
        call_command("migrate", interactive=False, verbosity=0)
        from mdm.services.setup import seed_defaults

        seed_defaults()
        self.setup(records, no_progress)
        steps = [self.measure("first build", chunk, no_progress)]
        from mdm.management.commands.rebuild_goldens import Command as Rebuild

        Rebuild().set_rule(["customer"], "legal_name=crm,erp")
        steps.append(self.measure("rebuild after legal_name=crm,erp", chunk, no_progress))
        print(json.dumps({"steps": steps, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))

    def measure(self, step: str, chunk: int, no_progress: bool) -> dict:
        from mdm.services.rebuild import rebuild_entity_type

        bar = tqdm(desc=step, unit="rec", disable=no_progress, file=sys.stderr)

        def progress(done, total):
            bar.total = total
            bar.n = done
            bar.refresh()

        start = time.perf_counter()
        result = rebuild_entity_type("customer", reason=f"benchmark: {step}", progress=progress, chunk=chunk)
        seconds = time.perf_counter() - start
        bar.close()
        return {"step": step, "total": result["total"], "changed": result["changed"], "seconds": seconds,
                "rate": result["total"] / seconds if seconds else 0.0}

    def setup(self, records: int, no_progress: bool) -> None:
        """Source records, cross-references and one (not yet built) golden per
        generated company, written in bulk without history: setup only."""
        from django.db import transaction

        from mdm.audit import audit_context
        from mdm.bulkwrite import insert
        from mdm.choices import Origin, XrefRole
        from mdm.demo.generator import DemoGenerator
        from mdm.models import CrossReference, Customer, SourceRecord, SourceSystem
        from mdm.services.ingest import content_hash, ingest_many, prepare

        gen = DemoGenerator(n_customers=records, seed=11)
        with audit_context(origin=Origin.IMPORT, reason="rebuild benchmark setup"):
            ingest_many(system="erp", entity_type="legal_entity",
                        items=[(r.source_id, r.data) for r in gen.legal_entity_rows()])
        systems = {s.code: s for s in SourceSystem.objects.all()}
        golden_of: dict[str, uuid.UUID] = {}  # real-world company -> its golden
        now = timezone.now()
        bar = tqdm(total=records, desc="setup", unit="golden", disable=no_progress, file=sys.stderr)
        buffer: list = []  # (row, golden id, whether the golden is new)

        def flush():
            srs, goldens = [], []
            for row, gid, new in buffer:
                system, sid, canonical = prepare(systems[row.system], "customer", row.source_id, row.data)
                srs.append(SourceRecord(system=system, entity_type="customer", source_id=sid, payload=row.data,
                                        canonical=canonical, content_hash=content_hash(row.data),
                                        received_at=now, updated_at=now))
                if new:
                    goldens.append(Customer(id=gid, created_at=now, updated_at=now))
            with transaction.atomic():
                insert(Customer, goldens)
                insert(SourceRecord, srs)
                insert(CrossReference, [
                    CrossReference(entity_type="customer", golden_id=gid, system=sr.system, external_id=sr.source_id,
                                   role=XrefRole.SOURCE, source_record=sr, created_at=now, updated_at=now)
                    for (_, gid, _), sr in zip(buffer, srs)])
            bar.update(len(goldens))
            buffer.clear()

        for row in gen.customer_rows():
            gid = golden_of.get(row.truth_id)
            if gid is None:
                if len(golden_of) >= records:
                    continue
                gid = golden_of[row.truth_id] = uuid.uuid4()
                buffer.append((row, gid, True))
            else:
                buffer.append((row, gid, False))
            if len(buffer) >= SETUP_CHUNK:
                flush()
        if buffer:
            flush()
        bar.close()
