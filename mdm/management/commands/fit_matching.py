"""python manage.py fit_matching [--entity customer ...] [--from-demo N] [--ship]

Estimates the matching parameters (Fellegi–Sunter m/u by EM, term
frequencies, thresholds) for the hub's entity types and stores them as a new
active ``MatchParams`` row (with history), so real-time matching uses them.
By default it learns from the hub's own golden records; ``--from-demo N``
learns from N generated companies instead, and ``--ship`` writes the result
to ``mdm/matching/params/<entity>.json``, the defaults a fresh hub starts with."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mdm.choices import EntityType

PARAMS_DIR = Path(__file__).resolve().parents[2] / "matching" / "params"
MIN_RECORDS = 200


class Command(BaseCommand):
    help = "Estimate matching parameters from the hub's records (or generated ones) and switch them on."

    def add_arguments(self, parser):
        parser.add_argument("--entity", action="append", choices=EntityType.values)
        parser.add_argument("--from-demo", type=int, metavar="N", help="learn from N generated companies")
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument("--ship", action="store_true", help="write the shipped defaults instead of storing")
        parser.add_argument("--note", default="")

    def handle(self, *args, entity, from_demo, seed, ship, note, **options):
        from mdm.matching import Matcher, builtin_spec

        for entity_type in entity or EntityType.values:
            rows = demo_rows(entity_type, from_demo, seed) if from_demo else hub_rows(entity_type)
            if len(rows) < MIN_RECORDS:
                raise CommandError(f"{entity_type}: {len(rows)} records is too few to learn from "
                                   f"(at least {MIN_RECORDS}); use --from-demo")
            start = time.perf_counter()
            matcher = Matcher(builtin_spec(entity_type)).fit(rows)
            params = matcher.to_dict()
            seconds = time.perf_counter() - start
            if ship:
                PARAMS_DIR.mkdir(parents=True, exist_ok=True)
                path = PARAMS_DIR / f"{entity_type}.json"
                path.write_text(json.dumps(params, sort_keys=True, separators=(",", ":")))
                where = str(path)
            else:
                where = store(entity_type, params, note or f"fitted on {len(rows):,} records")
            self.stdout.write(f"{entity_type}: fitted on {len(rows):,} records in {seconds:.1f} s, "
                              f"thresholds {params['thresholds']} → {where}")


def store(entity_type: str, params: dict, note: str) -> str:
    from django.db import transaction

    from mdm.audit import audit_context
    from mdm.choices import Origin
    from mdm.models import MatchParams

    with transaction.atomic(), audit_context(origin=Origin.MATCH, reason=f"matching parameters: {note}"):
        for old in MatchParams.objects.filter(entity_type=entity_type, active=True):
            old.active = False
            old.save()
        row = MatchParams.objects.create(entity_type=entity_type, params=params, note=note[:255])
    return f"MatchParams #{row.pk}"


def hub_rows(entity_type: str) -> list[dict]:
    from mdm.models import golden_model
    from mdm.services.golden import LIVE_STATES, golden_values
    from mdm.services.matching import _as_strings

    model = golden_model(entity_type)
    return [_as_strings(golden_values(g)) for g in model.objects.filter(state__in=LIVE_STATES).iterator()]


def demo_rows(entity_type: str, companies: int, seed: int) -> list[dict]:
    """Generated records of ``entity_type`` in canonical field names (each
    system's fields renamed through the shipped mappings)."""
    from mdm import defaults
    from mdm.demo.generator import DemoGenerator, customer_benchmark_rows

    if entity_type == EntityType.CUSTOMER:
        return list(customer_benchmark_rows(companies, seed))
    out = []
    for row in DemoGenerator(n_customers=companies, seed=seed).source_rows():
        if row.entity_type != entity_type:
            continue
        mapping = defaults.MAPPINGS.get(row.system, {}).get(entity_type, {})
        values_map = defaults.VALUE_MAPS.get(row.system, {}).get(entity_type, {})
        rec = {}
        for field, value in row.data.items():
            if field in mapping and value not in (None, ""):
                value = values_map.get(field, {}).get(value, value)
                rec[mapping[field][0]] = str(value)
        out.append(rec)
    print(f"{entity_type}: {len(out):,} generated records", file=sys.stderr)
    return out
