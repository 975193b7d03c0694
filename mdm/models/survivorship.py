"""Survivorship rules and steward overrides."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mdm.choices import EntityType, SurvivorshipRuleType
from mdm.models.base import audited


class SurvivorshipRule(models.Model):
    """Which source wins one golden field: an ordered list of systems (first
    non-empty wins), the most recent, the most complete or the most frequent
    value.  Systems not listed rank after the listed ones by trust."""

    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    field = models.CharField(max_length=64)
    rule_type = models.CharField(
        max_length=16, choices=SurvivorshipRuleType.choices, default=SurvivorshipRuleType.SOURCE_PRIORITY
    )
    systems = models.JSONField(default=list, blank=True, help_text="System codes, most trusted first.")
    updated_at = models.DateTimeField(auto_now=True)

    history = audited()

    class Meta:
        ordering = ("entity_type", "field")
        constraints = [
            models.UniqueConstraint(
                fields=("entity_type", "field"),
                name="uniq_rule_field",
                violation_error_message="There is already a rule for this field.",
            )
        ]

    def __str__(self) -> str:
        order = " > ".join(self.systems) if self.systems else ""
        return f"{self.entity_type}.{self.field}: {self.get_rule_type_display()} {order}".strip()


class ManualOverride(models.Model):
    """A steward's value for one golden field; it wins over every rule until
    a steward clears it.  If the value the rule would pick changes while the
    override stands, the override is ``flagged`` for review with the old and
    new source values, so a manual fix never silently hides fresher data."""

    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    golden_id = models.UUIDField(db_index=True)
    field = models.CharField(max_length=64)
    value = models.JSONField(null=True)
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    source_value = models.JSONField(null=True, blank=True, help_text="What the rule gave when the override was made.")
    flagged = models.BooleanField(default=False, db_index=True)
    flagged_new_value = models.JSONField(null=True, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)

    history = audited()

    class Meta:
        ordering = ("entity_type", "golden_id", "field")
        constraints = [
            models.UniqueConstraint(
                fields=("entity_type", "golden_id", "field"),
                name="uniq_override_field",
                violation_error_message="This field already has a manual value.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity_type}/{self.golden_id}.{self.field} = {self.value!r}"
