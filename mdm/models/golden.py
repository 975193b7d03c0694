"""The four golden entity types."""

from __future__ import annotations

from django.db import models

from mdm.choices import EntityType
from mdm.models.base import GoldenRecord


class Customer(GoldenRecord):
    """A client account.  Group members (a sister company abroad, a division
    at home) are separate customers linked through ``parent``."""

    entity_type = EntityType.CUSTOMER

    legal_name = models.CharField(max_length=255, blank=True, db_index=True)
    trading_name = models.CharField(max_length=255, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    legal_entity = models.ForeignKey(
        "LegalEntity", null=True, blank=True, on_delete=models.PROTECT, related_name="customers",
        help_text="The firm's legal entity that bills this customer (ERP's mapping).",
    )
    tax_id = models.CharField("tax / VAT id", max_length=32, blank=True, db_index=True)
    registration_number = models.CharField(max_length=64, blank=True)
    lei = models.CharField("LEI", max_length=20, blank=True)
    duns = models.CharField("DUNS", max_length=16, blank=True)
    website = models.CharField("website domain", max_length=255, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.CharField("billing e-mail", max_length=255, blank=True)
    address_line = models.CharField("billing street", max_length=255, blank=True)
    city = models.CharField(max_length=128, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True, db_index=True)
    currency = models.CharField(max_length=3, blank=True)
    payment_terms = models.CharField(max_length=32, blank=True)
    industry = models.CharField(max_length=128, blank=True)
    account_owner = models.CharField(max_length=128, blank=True)
    status = models.CharField("customer status", max_length=32, blank=True)

    class Meta(GoldenRecord.Meta):
        verbose_name = "customer"

    def __str__(self) -> str:
        return self.legal_name or self.trading_name or f"Customer {self.short_id}"


class LegalEntity(GoldenRecord):
    """One of the firm's own contracting and billing companies."""

    entity_type = EntityType.LEGAL_ENTITY

    code = models.CharField(max_length=32, blank=True, db_index=True)
    name = models.CharField(max_length=255, blank=True)
    country = models.CharField(max_length=2, blank=True)
    base_currency = models.CharField(max_length=3, blank=True)
    tax_registration = models.CharField(max_length=32, blank=True)

    class Meta(GoldenRecord.Meta):
        verbose_name = "legal entity"
        verbose_name_plural = "legal entities"

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip() or f"Legal entity {self.short_id}"


class Contract(GoldenRecord):
    """A contract between a customer and one of the firm's legal entities."""

    entity_type = EntityType.CONTRACT

    number = models.CharField(max_length=64, blank=True, db_index=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="contracts")
    legal_entity = models.ForeignKey(
        LegalEntity, null=True, blank=True, on_delete=models.PROTECT, related_name="contracts"
    )
    title = models.CharField(max_length=255, blank=True)
    billing_model = models.CharField(max_length=32, blank=True)
    value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    payment_terms = models.CharField(max_length=32, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=32, blank=True)
    opportunity_id = models.CharField(max_length=64, blank=True)

    class Meta(GoldenRecord.Meta):
        verbose_name = "contract"

    def __str__(self) -> str:
        return " ".join(x for x in (self.number, self.title) if x) or f"Contract {self.short_id}"


class Project(GoldenRecord):
    """A delivery project, billed under a contract by a legal entity."""

    entity_type = EntityType.PROJECT

    code = models.CharField(max_length=64, blank=True, db_index=True)
    name = models.CharField(max_length=255, blank=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="projects")
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="projects")
    legal_entity = models.ForeignKey(
        LegalEntity, null=True, blank=True, on_delete=models.PROTECT, related_name="projects"
    )
    manager = models.CharField(max_length=128, blank=True)
    billing_model = models.CharField(max_length=32, blank=True)
    budget = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=32, blank=True)

    class Meta(GoldenRecord.Meta):
        verbose_name = "project"

    def __str__(self) -> str:
        return " ".join(x for x in (self.code, self.name) if x) or f"Project {self.short_id}"


GOLDEN_MODELS: dict[str, type[GoldenRecord]] = {
    EntityType.CUSTOMER: Customer,
    EntityType.LEGAL_ENTITY: LegalEntity,
    EntityType.CONTRACT: Contract,
    EntityType.PROJECT: Project,
}


def golden_model(entity_type: str) -> type[GoldenRecord]:
    return GOLDEN_MODELS[entity_type]
