"""The canonical vocabulary: every golden field of every entity type.

Source systems speak their own field names; a per-system ``FieldMapping``
(stored as data) translates them into the names below.  Survivorship,
validation, matching and the API all read this one registry, so adding a
field is a change here plus a column on the golden model.
"""

from __future__ import annotations

from dataclasses import dataclass

from mdm.choices import EntityType


@dataclass(frozen=True)
class CanonicalField:
    """One golden field: its canonical name, value kind and matching type."""

    name: str
    kind: str = "str"  # str | date | decimal | country | currency | ref | domain | tax_id | email | phone
    label: str = ""
    ref: str | None = None  # entity type a ``ref`` field points at
    match_type: str | None = None  # type name for the matching engine spec, if the field is compared
    max_length: int = 255

    @property
    def verbose(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


F = CanonicalField

CUSTOMER_FIELDS = (
    F("legal_name", label="Legal name", match_type="org_name"),
    F("trading_name", label="Trading name", match_type="org_name"),
    F("parent", kind="ref", ref=EntityType.CUSTOMER, label="Parent customer"),
    F("legal_entity", kind="ref", ref=EntityType.LEGAL_ENTITY, label="Billing legal entity"),
    F("tax_id", kind="tax_id", label="Tax / VAT id", match_type="tax_id", max_length=32),
    F("registration_number", label="Company registration no.", match_type="exact", max_length=64),
    F("lei", label="LEI", match_type="exact", max_length=20),
    F("duns", label="DUNS", match_type="exact", max_length=16),
    F("website", kind="domain", label="Website domain", match_type="domain"),
    F("phone", kind="phone", label="Phone", match_type="phone", max_length=32),
    F("email", kind="email", label="Billing e-mail", match_type="email"),
    F("address_line", label="Billing street", match_type="address"),
    F("city", label="Billing city", match_type="text", max_length=128),
    F("postcode", label="Billing postcode", match_type="postcode", max_length=16),
    F("country", kind="country", label="Country", match_type="exact", max_length=2),
    F("currency", kind="currency", label="Currency", max_length=3),
    F("payment_terms", label="Payment terms", max_length=32),
    F("industry", label="Industry", max_length=128),
    F("account_owner", label="Account owner", max_length=128),
    F("status", label="Customer status", max_length=32),
)

LEGAL_ENTITY_FIELDS = (
    F("code", label="Code", match_type="exact", max_length=32),
    F("name", label="Name", match_type="org_name"),
    F("country", kind="country", label="Country", match_type="exact", max_length=2),
    F("base_currency", kind="currency", label="Base currency", max_length=3),
    F("tax_registration", kind="tax_id", label="Tax registration", match_type="tax_id", max_length=32),
)

CONTRACT_FIELDS = (
    F("number", label="Contract number", match_type="exact", max_length=64),
    F("customer", kind="ref", ref=EntityType.CUSTOMER, label="Customer"),
    F("legal_entity", kind="ref", ref=EntityType.LEGAL_ENTITY, label="Legal entity"),
    F("title", label="Title", match_type="text"),
    F("billing_model", label="Billing model", max_length=32),
    F("value", kind="decimal", label="Contract value"),
    F("currency", kind="currency", label="Currency", max_length=3),
    F("payment_terms", label="Payment terms", max_length=32),
    F("start_date", kind="date", label="Start date", match_type="date"),
    F("end_date", kind="date", label="End date"),
    F("status", label="Status", max_length=32),
    F("opportunity_id", label="Opportunity id", match_type="exact", max_length=64),
)

PROJECT_FIELDS = (
    F("code", label="Project code", match_type="exact", max_length=64),
    F("name", label="Name", match_type="text"),
    F("customer", kind="ref", ref=EntityType.CUSTOMER, label="Customer"),
    F("contract", kind="ref", ref=EntityType.CONTRACT, label="Contract"),
    F("legal_entity", kind="ref", ref=EntityType.LEGAL_ENTITY, label="Legal entity"),
    F("manager", label="Project manager", max_length=128),
    F("billing_model", label="Billing model", max_length=32),
    F("budget", kind="decimal", label="Budget"),
    F("currency", kind="currency", label="Currency", max_length=3),
    F("start_date", kind="date", label="Start date", match_type="date"),
    F("end_date", kind="date", label="End date"),
    F("status", label="Status", max_length=32),
)

FIELDS: dict[str, tuple[CanonicalField, ...]] = {
    EntityType.CUSTOMER: CUSTOMER_FIELDS,
    EntityType.LEGAL_ENTITY: LEGAL_ENTITY_FIELDS,
    EntityType.CONTRACT: CONTRACT_FIELDS,
    EntityType.PROJECT: PROJECT_FIELDS,
}

# A record is matched on its "display name": the first non-empty of these.
NAME_FIELDS = {
    EntityType.CUSTOMER: ("legal_name", "trading_name"),
    EntityType.LEGAL_ENTITY: ("name", "code"),
    EntityType.CONTRACT: ("title", "number"),
    EntityType.PROJECT: ("name", "code"),
}


def fields_for(entity_type: str) -> tuple[CanonicalField, ...]:
    return FIELDS[entity_type]


def parent_fields(entity_type: str) -> list[str]:
    """The fields naming another record of the same type (a customer's parent)."""
    return [f.name for f in FIELDS[entity_type] if f.kind == "ref" and f.ref == entity_type]


def field_names(entity_type: str) -> list[str]:
    return [f.name for f in FIELDS[entity_type]]


def get_field(entity_type: str, name: str) -> CanonicalField:
    for f in FIELDS[entity_type]:
        if f.name == name:
            return f
    raise KeyError(f"{entity_type} has no field {name!r}")
