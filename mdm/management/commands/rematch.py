"""python manage.py rematch [--entity customer ...]"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from mdm.choices import EntityType
from mdm.services.rematch import rematch_entity_type


class Command(BaseCommand):
    help = ("Re-match every live golden record against its blocked candidates (persisted keys); new "
            "suspected duplicates go to the review queue, remembered 'not a duplicate' pairs never do.")

    def add_arguments(self, parser):
        parser.add_argument("--entity", action="append", choices=EntityType.values)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, entity, no_progress, **options):
        for entity_type in entity or [EntityType.CUSTOMER]:
            bar = tqdm(desc=f"rematch {entity_type}", unit="rec", disable=no_progress, file=sys.stderr)

            def progress(done, total, bar=bar):
                bar.total, bar.n = total, done
                bar.refresh()

            start = time.perf_counter()
            result = rematch_entity_type(entity_type, progress=progress)
            bar.close()
            self.stdout.write(f"{entity_type}: {result['records']:,} records, {result['pairs_compared']:,} pairs "
                              f"compared, {result['tasks_opened']:,} review tasks opened in "
                              f"{time.perf_counter() - start:.1f} s")
