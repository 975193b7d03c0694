"""python manage.py generate_demo --customers N --seed S --out DIR

Writes deterministic demo/benchmark source data as CSV files, one per
(system, entity type) in the system's own column names (``crm_customer.csv``,
``erp_legal_entity.csv``, ``erp_contract.csv``, ``psa_project.csv``, ...),
plus ``truth_customer.csv`` (system, source_id, truth_id, group_id,
parent_truth_id).  No database is touched.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Generate demo source data (CRM, ERP, PSA) as CSV files, with the customer ground truth."
    requires_system_checks: list[str] = []  # pure file generation: no database, no app checks needed

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=2000,
                            help="real-world companies to invent (about 1.9 customer source records each)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
        parser.add_argument("--out", default="demo_data", help="output directory (created if missing)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, customers=2000, seed=42, out="demo_data", no_progress=False, **options):
        from mdm.demo.export import write_demo_csvs

        if customers < 1:
            raise CommandError("--customers must be at least 1")
        result = write_demo_csvs(out, n_customers=customers, seed=seed, progress=not no_progress)
        for name, count in sorted(result["files"].items()):
            self.stdout.write(f"  {name:<24} {count:>10,}")
        self.stdout.write(self.style.SUCCESS(
            f"Wrote {result['rows']:,} source rows for {customers:,} companies to {result['out_dir']} "
            f"in {result['seconds']:.1f}s ({result['rows_per_second']:,.0f} rows/s)"
        ))
