"""python manage.py refresh_match_forms [--entity customer ...]"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from mdm.choices import EntityType
from mdm.services.matching import refresh_match_forms


class Command(BaseCommand):
    help = ("Store each live golden record's normalised matching form where it is missing or out of date "
            "(after an upgrade or a new matcher), so real-time matching reads its candidates' forms "
            "instead of normalising them again. Matching is the same without; only slower.")

    def add_arguments(self, parser):
        parser.add_argument("--entity", action="append", choices=EntityType.values,
                            help="Entity type (repeatable; default: all).")
        parser.add_argument("--chunk", type=int, default=2000)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, entity, chunk, no_progress, **options):
        for entity_type in entity or EntityType.values:
            bar = tqdm(desc=f"match forms {entity_type}", unit="rec", disable=no_progress, file=sys.stderr)

            def progress(done, total, bar=bar):
                bar.total, bar.n = total, done
                bar.refresh()

            start = time.perf_counter()
            result = refresh_match_forms(entity_type, chunk=chunk, progress=progress)
            bar.close()
            self.stdout.write(f"{entity_type}: {result['records']:,} live records, {result['written']:,} forms "
                              f"written in {time.perf_counter() - start:.1f} s")
