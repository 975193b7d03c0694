"""python manage.py rebuild_goldens [--entity customer ...] [--bench]

Recomputes golden records from their source records under the current
survivorship rules, with a progress bar.  ``--bench`` times it and prints
records/s (run it after a rule change, or on purpose: an unchanged rebuild
still reads and recomputes every record)."""

from __future__ import annotations

import resource
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from mdm.choices import EntityType
from mdm.services.rebuild import rebuild_entity_type


class Command(BaseCommand):
    help = "Recompute golden records under the current survivorship rules (with progress)."

    def add_arguments(self, parser):
        parser.add_argument("--entity", action="append", choices=EntityType.values,
                            help="entity type (repeatable; default all)")
        parser.add_argument("--reason", default="rebuild requested from the command line")
        parser.add_argument("--chunk", type=int, default=500)
        parser.add_argument("--rule", metavar="FIELD=SYS,SYS",
                            help="first set the source-priority rule of FIELD (for each --entity), e.g. "
                                 "legal_name=crm,erp — the way to benchmark a rebuild after a rule change")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, entity, reason, chunk, rule, no_progress, **options):
        settings.DEBUG = False
        if rule:
            self.set_rule(entity or EntityType.values, rule)
        for entity_type in entity or EntityType.values:
            bar = tqdm(desc=f"rebuild {entity_type}", unit="rec", disable=no_progress, file=sys.stderr)

            def progress(done, total, bar=bar):
                bar.total = total
                bar.n = done
                bar.refresh()

            start = time.perf_counter()
            result = rebuild_entity_type(entity_type, reason=reason, progress=progress, chunk=chunk)
            seconds = time.perf_counter() - start
            bar.close()
            rate = result["total"] / seconds if seconds else 0
            self.stdout.write(f"{entity_type}: {result['total']:,} records in {seconds:.1f} s = {rate:,.0f} "
                              f"records/s; {result['changed']:,} changed; peak "
                              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

    def set_rule(self, entity_types, spec: str) -> None:
        from django.core.management.base import CommandError

        from mdm import canonical, survivorship
        from mdm.audit import audit_context
        from mdm.choices import Origin
        from mdm.models import SurvivorshipRule

        field, _, systems = spec.partition("=")
        order = [s.strip() for s in systems.split(",") if s.strip()]
        if not field or not order:
            raise CommandError("--rule takes FIELD=SYS1,SYS2")
        from mdm.services.jobs import manual_rebuild

        with audit_context(origin=Origin.SYSTEM, reason=f"rule set from the command line: {spec}"), manual_rebuild():
            for entity_type in entity_types:
                if field not in canonical.field_names(entity_type):
                    raise CommandError(f"{entity_type} has no field {field!r}")
                SurvivorshipRule.objects.update_or_create(
                    entity_type=entity_type, field=field,
                    defaults={"rule_type": "source_priority", "systems": order})
        survivorship.invalidate_cache()
