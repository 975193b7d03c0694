"""The ``tryton`` source system and its field mappings (idempotent).

Records pulled from Tryton are flattened (see ``inbound.flatten_party``) into
plain fields, then mapped onto canonical names by ordinary ``FieldMapping``
rows, so an admin can change them like any other system's mapping."""

from __future__ import annotations

from django.db import transaction

from mdm.audit import audit_context
from mdm.choices import EntityType, Origin, SystemKind
from mdm.models import FieldMapping, SourceSystem

SYSTEM_CODE = "tryton"
SYSTEM_NAME = "Tryton ERP"
TRUST_RANK = 15  # between the demo ERP (10) and CRM (20)

C, LE, P = EntityType.CUSTOMER, EntityType.LEGAL_ENTITY, EntityType.PROJECT

# entity type -> {flattened Tryton field: (canonical field, transform)}
MAPPINGS: dict[str, dict[str, tuple[str, str]]] = {
    C: {
        "name": ("legal_name", ""),
        "vat": ("tax_id", "upper"),
        "street": ("address_line", ""),
        "postal_code": ("postcode", "upper"),
        "city": ("city", ""),
        "country": ("country", "upper"),
        "email": ("email", "lower"),
        "phone": ("phone", ""),
        "website": ("website", "domain"),
    },
    LE: {
        "code": ("code", "upper"),
        "name": ("name", ""),
        "country": ("country", "upper"),
        "currency": ("base_currency", "upper"),
        "vat": ("tax_registration", "upper"),
    },
    P: {
        "number": ("code", "upper"),
        "name": ("name", ""),
        "party": ("customer", ""),
        "company": ("legal_entity", ""),
        "currency": ("currency", "upper"),
        "status": ("status", "lower"),
    },
}


@transaction.atomic
def ensure_tryton_system(code: str = SYSTEM_CODE, *, name: str = SYSTEM_NAME) -> SourceSystem:
    """Create the source system and the mappings that are missing; leave an
    admin's edits alone.  Safe to call on every pull."""
    with audit_context(origin=Origin.SYSTEM, reason=f"sync:{code} setup"):
        system, _ = SourceSystem.objects.get_or_create(
            code=code, defaults={"name": name, "kind": SystemKind.ERP, "trust_rank": TRUST_RANK,
                                 "description": "Tryton 8.2: parties, companies, projects, subscriptions."})
        existing = set(FieldMapping.objects.filter(system=system).values_list("entity_type", "source_field"))
        for entity_type, fields in MAPPINGS.items():
            for source_field, (target, transform) in fields.items():
                if (entity_type, source_field) not in existing:
                    FieldMapping.objects.create(system=system, entity_type=entity_type, source_field=source_field,
                                                canonical_field=target, transform=transform)
    return system
