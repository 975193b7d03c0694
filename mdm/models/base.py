"""Abstract bases: the audit columns of every history table and the golden
record base (UUID id, lifecycle state, version for optimistic locking,
lineage, history)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from mdm.choices import LifecycleState, Origin
from mdm.models.audit import ChainedHistoryManager


class AuditHistoryBase(models.Model):
    """Extra columns on every ``Historical*`` table: where the change came
    from, who made it (a user or a service account) and the correlation id
    shared by everything one action changed."""

    history_origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.SYSTEM, db_index=True)
    history_actor = models.CharField(max_length=150, blank=True, default="", db_index=True)
    history_correlation_id = models.CharField(max_length=64, blank=True, default="", db_index=True)

    class Meta:
        abstract = True


def audited(**kwargs) -> HistoricalRecords:
    """The one way models declare history, so every table gets the audit columns."""
    return HistoricalRecords(bases=[AuditHistoryBase], history_manager=ChainedHistoryManager, **kwargs)


#: Fields the golden tables index that their history tables need not: history is read by record id and
#: date (a record's history, as of a date, the audit chain) or by its audit columns (recent activity), never
#: by these, and every index costs each history row written (a customer's history table had 24).
HISTORY_UNINDEXED = ["state", "is_valid", "updated_at", "approved_by", "last_edited_by", "merged_into",
                     "legal_name", "tax_id", "country", "code", "number", "parent", "customer", "contract",
                     "legal_entity"]


class GoldenRecord(models.Model):
    """A master: the hub's one version of a real-world thing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state = models.CharField(
        max_length=16, choices=LifecycleState.choices, default=LifecycleState.PENDING, db_index=True
    )
    version = models.PositiveIntegerField(default=1, help_text="Raised on every change; the API's ETag.")
    lineage = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per field: the source record, system, rule and time that gave the value.",
    )
    is_valid = models.BooleanField(default=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Last person who changed the record by hand (four-eyes approval refuses them).",
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    match_form = models.JSONField(
        null=True, blank=True, editable=False,
        help_text="Derived: the record's compared values as matching normalises them, with what they were "
                  "normalised from (``mdm.services.matching.stored_form``); not part of history.",
    )

    history = audited(inherit=True, excluded_fields=["match_form"], no_db_index=HISTORY_UNINDEXED)

    entity_type: str = ""  # set by each concrete model

    class Meta:
        abstract = True
        ordering = ("-updated_at", "id")
        indexes = [models.Index(fields=("updated_at", "id"), name="%(class)s_updated_id_idx")]

    @property
    def display_name(self) -> str:
        return str(self)

    @property
    def short_id(self) -> str:
        return str(self.id)[:8]
