"""python manage.py import_records <system> <entity> FILE.csv"""

from __future__ import annotations

import csv
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mdm.choices import EntityType
from mdm.models import SourceSystem
from mdm.services.importer import id_column_for, import_rows


class Command(BaseCommand):
    help = ("Import a CSV of one system's records (its own column names) through the ingest path, with a "
            "progress bar and a row-numbered error report. Bad rows never stop good rows.")

    def add_arguments(self, parser):
        parser.add_argument("system", help="source system code, e.g. crm")
        parser.add_argument("entity", choices=EntityType.values)
        parser.add_argument("file")
        parser.add_argument("--id-column", help="column holding the system's own id (default per system)")
        parser.add_argument("--errors", help="also write the error report to this CSV file")
        parser.add_argument("--reason", default="", help="why this import is run (kept in history)")
        parser.add_argument("--strict", action="store_true", help="exit with status 2 if any row was rejected")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, system, entity, file, id_column, errors, reason, strict, no_progress, **options):
        if not SourceSystem.objects.filter(code=system).exists():
            known = ", ".join(SourceSystem.objects.values_list("code", flat=True)) or "none (run seed_defaults)"
            raise CommandError(f"unknown system '{system}'; known systems: {known}")
        id_column = id_column or id_column_for(system, entity)
        try:
            handle = open(file, newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        with handle:
            total = max(sum(1 for _ in handle) - 1, 0)
            handle.seek(0)
            reader = csv.DictReader(handle)
            if not reader.fieldnames or id_column not in reader.fieldnames:
                raise CommandError(f"{file} has no '{id_column}' column (the {system} id); use --id-column")
            bar = tqdm(total=total, unit="rec", desc=f"{system} {entity}", disable=no_progress, file=sys.stderr)
            report = import_rows(system, entity, reader, id_column=id_column, reason=reason, on_rows=bar.update)
            bar.close()
        from mdm.audit_chain import seal_pending

        seal_pending()  # large imports are not sealed inline; seal them now rather than at the next sweep
        counts = report.counts
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))
        for line in report.lines()[:200]:
            self.stdout.write(self.style.WARNING(line))
        if len(report.errors) > 200:
            self.stdout.write(f"… and {len(report.errors) - 200} more errors")
        if errors:
            with open(errors, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(["row", "field", "message"])
                writer.writerows(report.errors)
            self.stdout.write(f"error report written to {errors}")
        if strict and counts["rejected"]:
            sys.exit(2)
