"""Built-in specs for the hub's own entity types (field names from
``mdm.canonical``)."""

from __future__ import annotations

from mdm.matching.spec import Spec, parse_spec

CUSTOMER = {
    "entity_type": "customer",
    "fields": [
        {"name": "legal_name", "type": "org_name", "alternatives": ["trading_name"], "given": "contact"},
        {"name": "tax_id", "type": "tax_id"},
        {"name": "registration_number", "type": "exact"},
        {"name": "lei", "type": "exact"},
        {"name": "duns", "type": "exact"},
        # Website, billing e-mail domain, phone and address are shared within a
        # corporate group: one piece of evidence, and the name is read in its light.
        {"name": "website", "type": "domain", "alternatives": ["email"], "combine": "contact"},
        {"name": "phone", "type": "phone", "combine": "contact"},
        {"name": "address_line", "type": "address", "postcode": "postcode", "city": "city", "combine": "contact"},
        {"name": "country", "type": "exact", "role": "country"},
    ],
    # In bits of evidence from the fields (see spec.py), so that a pair is
    # decided alike among 100,000 records or a million; measured with
    # bench_matching on the demo generator's customers.
    "thresholds": {"match_bits": 18, "review_bits": 6, "sole_match_bits": 9},
}

LEGAL_ENTITY = {
    "entity_type": "legal_entity",
    "fields": [
        {"name": "code", "type": "exact"},
        {"name": "name", "type": "org_name"},
        {"name": "tax_registration", "type": "tax_id"},
        {"name": "country", "type": "exact", "role": "country"},
    ],
    "thresholds": {"match": 0.9, "review": 0.3},
}

CONTRACT = {
    "entity_type": "contract",
    "fields": [
        {"name": "number", "type": "exact"},
        {"name": "opportunity_id", "type": "exact"},
        {"name": "customer", "type": "exact"},
        {"name": "legal_entity", "type": "exact"},
        {"name": "title", "type": "text"},
        {"name": "value", "type": "number"},
        {"name": "start_date", "type": "date"},
        {"name": "end_date", "type": "date"},
    ],
    "thresholds": {"match": 0.9, "review": 0.3},
}

PROJECT = {
    "entity_type": "project",
    "fields": [
        {"name": "code", "type": "exact"},
        {"name": "name", "type": "text"},
        {"name": "customer", "type": "exact"},
        {"name": "contract", "type": "exact"},
        {"name": "manager", "type": "person_name"},
        {"name": "start_date", "type": "date"},
        {"name": "budget", "type": "number"},
    ],
    "thresholds": {"match": 0.9, "review": 0.3},
}

BUILTIN = {"customer": CUSTOMER, "legal_entity": LEGAL_ENTITY, "contract": CONTRACT, "project": PROJECT}


def builtin_spec(entity_type: str) -> Spec:
    """The spec the hub matches ``entity_type`` records with."""
    try:
        return parse_spec(BUILTIN[str(entity_type)])
    except KeyError:
        raise KeyError(f"no built-in match spec for {entity_type!r}; known: {', '.join(BUILTIN)}") from None
