"""Source systems, their field mappings, source records and service accounts."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mdm.choices import EntityType, SystemKind
from mdm.models.base import audited


class SourceSystem(models.Model):
    """A CRM, PSA, ERP or billing system registered in the hub.  Credentials
    are never stored here: connectors read them from the environment."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=SystemKind.choices, default=SystemKind.OTHER)
    trust_rank = models.PositiveSmallIntegerField(
        default=50, help_text="Lower is more trusted; breaks ties where no survivorship rule decides."
    )
    active = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited()

    class Meta:
        ordering = ("trust_rank", "code")

    def __str__(self) -> str:
        return self.code


class FieldTransform(models.TextChoices):
    STRIP = "", "Trim"
    UPPER = "upper", "Upper case"
    LOWER = "lower", "Lower case"
    DATE = "date", "Date"
    DECIMAL = "decimal", "Decimal"
    DOMAIN = "domain", "Website domain"


class FieldMapping(models.Model):
    """How one of a system's own fields maps onto a canonical field, e.g. the
    CRM's ``AccountName`` → ``trading_name``.  ``value_map`` translates coded
    values (``{"T&M": "time_and_materials"}``)."""

    system = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="mappings")
    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    source_field = models.CharField(max_length=128)
    canonical_field = models.CharField(max_length=64)
    transform = models.CharField(max_length=16, choices=FieldTransform.choices, default="", blank=True)
    value_map = models.JSONField(default=dict, blank=True)

    history = audited()

    class Meta:
        ordering = ("system", "entity_type", "source_field")
        constraints = [
            models.UniqueConstraint(
                fields=("system", "entity_type", "source_field"),
                name="uniq_mapping_source_field",
                violation_error_message="This system already maps that field for this entity type.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.system.code}.{self.entity_type}.{self.source_field} → {self.canonical_field}"


class SourceRecord(models.Model):
    """One system's version of one thing, as received."""

    # No index of its own: the unique (system, entity type, source id) index serves look-ups by system.
    # With both, PostgreSQL picked the system-only index for a look-up by source id whenever its
    # statistics lagged behind a system's growth, and read every record of that system.
    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="records", db_index=False)
    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    source_id = models.CharField(max_length=128)
    payload = models.JSONField(help_text="The record exactly as the system sent it.")
    canonical = models.JSONField(default=dict, help_text="The payload mapped onto canonical field names.")
    content_hash = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    history = audited(no_db_index=["system", "updated_at"])  # (history is read by record id and date)

    class Meta:
        ordering = ("system", "entity_type", "source_id")
        constraints = [
            models.UniqueConstraint(
                fields=("system", "entity_type", "source_id"),
                name="uniq_source_record",
                violation_error_message="This system already sent a record with this id for this entity type.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.system.code}:{self.entity_type}:{self.source_id}"


class ServiceAccount(models.Model):
    """A downstream system's machine identity.  Its tokens (hashed at rest,
    several per account, expiring, revocable) belong to ``user``; it may write
    only its own system's source records, optionally only some entity types."""

    name = models.SlugField(max_length=64, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_account")
    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="service_accounts")
    entity_types = models.JSONField(default=list, blank=True, help_text="Empty means every entity type.")
    can_read_pending = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited()

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def may_write(self, entity_type: str) -> bool:
        return self.active and (not self.entity_types or entity_type in self.entity_types)
