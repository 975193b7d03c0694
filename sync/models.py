"""Subscriptions (who receives what), the outbox (what changed) and
deliveries (one per target system, record and version)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models

from mdm.choices import EntityType
from mdm.models import SourceSystem, audited
from sync.choices import OPEN_STATUSES, DeliveryStatus, ErrorCategory


class Subscription(models.Model):
    """A downstream system receiving some entity types through a connector.

    ``config`` holds the connector's settings (for the webhook: ``url``,
    ``timeout``); never a credential in clear: the signing secret is kept
    encrypted (``secret_encrypted``, a Fernet token under a key derived from
    ``SECRET_KEY``) or as the name of an environment variable
    (``secret_env``).

    ``mapping`` translates canonical field names and values per entity type::

        {"customer": {"fields": {"legal_name": "name", "tax_id": "vat"},
                      "values": {"country": {"GB": "UK"}},
                      "only_mapped": false}}
    """

    system = models.OneToOneField(SourceSystem, on_delete=models.PROTECT, related_name="subscription")
    entity_types = models.JSONField(default=list, help_text="Entity types this system receives.")
    connector = models.CharField(max_length=32, default="webhook",
                                 help_text="Package name under sync/connectors/.")
    config = models.JSONField(default=dict, blank=True, help_text="Connector settings (no secrets).")
    secret_encrypted = models.TextField(blank=True, default="", editable=False)
    secret_env = models.CharField(max_length=128, blank=True, default="",
                                  help_text="Environment variable holding the signing secret (wins over the stored one).")
    mapping = models.JSONField(default=dict, blank=True,
                               help_text='Per entity type: {"fields": {canonical: target}, "values": {canonical: {value: target value}}}.')
    max_attempts = models.PositiveSmallIntegerField(default=15, help_text="Tries before a delivery is dead.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited()

    class Meta:
        ordering = ("system__code",)

    def __str__(self) -> str:
        return f"{self.system.code} ← {', '.join(self.entity_types) or 'nothing'} via {self.connector}"

    def clean(self) -> None:
        errors = {}
        valid = set(EntityType.values)
        if not isinstance(self.entity_types, list) or not self.entity_types:
            errors["entity_types"] = "List at least one entity type."
        elif set(self.entity_types) - valid:
            errors["entity_types"] = f"Unknown entity type(s): {', '.join(sorted(set(self.entity_types) - valid))}."
        from sync.connectors import ConnectorNotFound, get_connector_class

        try:
            problems = get_connector_class(self.connector).check_config(self.config or {})
            if problems:
                errors["config"] = "; ".join(problems)
        except ConnectorNotFound as exc:
            errors["connector"] = str(exc)
        if not isinstance(self.mapping, dict):
            errors["mapping"] = "A JSON object keyed by entity type."
        else:
            for et, spec in self.mapping.items():
                if et not in valid or not isinstance(spec, dict) or set(spec) - {"fields", "values", "only_mapped"}:
                    errors["mapping"] = (f"'{et}': expected an entity type with "
                                         '{"fields": {...}, "values": {...}, "only_mapped": bool}.')
                    break
                if not all(isinstance(v, dict) for v in spec.get("values", {}).values()):
                    errors["mapping"] = f"'{et}': each value map is an object {{value: target value}}."
                    break
        if errors:
            raise ValidationError(errors)

    def wants(self, entity_type: str) -> bool:
        return self.active and entity_type in (self.entity_types or [])


class OutboxEvent(models.Model):
    """One change to a master, written in the same transaction as the change
    (Debezium's outbox shape: id, aggregate type and id, type, payload).
    ``payload`` is the record's canonical values at that version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    golden_id = models.UUIDField()
    version = models.PositiveIntegerField()
    change = models.CharField(max_length=16)
    state = models.CharField(max_length=16)
    payload = models.JSONField(default=dict)
    extra = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("created_at",)
        indexes = [models.Index(fields=("entity_type", "golden_id", "version"), name="outbox_record_idx")]

    def __str__(self) -> str:
        return f"{self.entity_type}/{self.golden_id} v{self.version} {self.change}"


class Delivery(models.Model):
    """One event to one subscribed system: the unit of work, retry and
    replay.  ``id`` is the Idempotency-Key the target sees on every try."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="deliveries")
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="deliveries")
    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="deliveries")
    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    golden_id = models.UUIDField()
    version = models.PositiveIntegerField()
    change = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True,
                                       help_text="An in-flight try older than this is presumed lost.")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    error_category = models.CharField(max_length=16, choices=ErrorCategory.choices, blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    target_id = models.CharField(max_length=128, blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Last try's round trip.")
    latency_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Change committed → delivered.")
    correlation_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    replay_count = models.PositiveIntegerField(default=0)
    replayed_by = models.CharField(max_length=150, blank=True, default="")
    replayed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=("subscription", "entity_type", "golden_id", "version"),
                name="uniq_delivery_per_version",
                violation_error_message="This version of the record is already queued for this system.",
            )
        ]
        indexes = [
            models.Index(fields=("status", "next_attempt_at"), name="delivery_due_idx"),
            # a worker taking a batch: one system's due deliveries, oldest first, without a sort
            models.Index(fields=("subscription", "next_attempt_at"), name="delivery_open_due_idx",
                         condition=models.Q(status__in=OPEN_STATUSES)),
            models.Index(fields=("subscription", "entity_type", "golden_id", "version"), name="delivery_record_idx"),
            models.Index(fields=("system", "status"), name="delivery_system_status_idx"),
            models.Index(fields=("delivered_at",), name="delivery_delivered_idx"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.system.code}: {self.entity_type}/{self.golden_id} v{self.version} ({self.status})"

    @property
    def is_problem(self) -> bool:
        return self.status in (DeliveryStatus.FAILED, DeliveryStatus.DEAD)
