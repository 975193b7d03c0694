"""Seeding the shipped configuration (idempotent)."""

from __future__ import annotations

from django.db import transaction

from mdm import defaults
from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import FieldMapping, SourceSystem, SurvivorshipRule


@transaction.atomic
def seed_defaults(*, systems=True, mappings=True, rules=True) -> dict:
    """Create the demo systems (crm, erp, psa), their field mappings and the
    default survivorship rules where they do not exist yet.  Existing rows
    (an admin's edits) are left alone."""
    from mdm.services.jobs import manual_rebuild

    counts = {"systems": 0, "mappings": 0, "rules": 0}
    with audit_context(origin=Origin.SYSTEM, reason="seed shipped defaults"), manual_rebuild():
        if systems:
            for code, (name, kind, rank) in defaults.SYSTEMS.items():
                _, created = SourceSystem.objects.get_or_create(
                    code=code, defaults={"name": name, "kind": kind, "trust_rank": rank}
                )
                counts["systems"] += created
        if mappings:
            for code, per_entity in defaults.MAPPINGS.items():
                system = SourceSystem.objects.filter(code=code).first()
                if system is None:
                    continue
                for entity_type, fields in per_entity.items():
                    for source_field, (target, transform) in fields.items():
                        value_map = defaults.VALUE_MAPS.get(code, {}).get(entity_type, {}).get(source_field, {})
                        _, created = FieldMapping.objects.get_or_create(
                            system=system, entity_type=entity_type, source_field=source_field,
                            defaults={"canonical_field": target, "transform": transform, "value_map": value_map},
                        )
                        counts["mappings"] += created
        if rules:
            for entity_type, per_field in defaults.RULES.items():
                for field, (rule_type, order) in per_field.items():
                    _, created = SurvivorshipRule.objects.get_or_create(
                        entity_type=entity_type, field=field,
                        defaults={"rule_type": rule_type, "systems": list(order)},
                    )
                    counts["rules"] += created
    from mdm.services import mapping
    from mdm import survivorship

    mapping.invalidate_cache()
    survivorship.invalidate_cache()
    return counts
