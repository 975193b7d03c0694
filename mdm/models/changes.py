"""The change feed behind ``/api/v1/changes/``."""

from __future__ import annotations

from django.db import models

from mdm.choices import EntityType


class ChangeEvent(models.Model):
    """One change to an approved master, in commit order.  Writers take a
    transaction-scoped lock before inserting (see ``mdm.services.changes``)
    so ids are handed out in commit order and a consumer resuming after id N
    never misses a change that committed later with a smaller id."""

    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    golden_id = models.UUIDField(db_index=True)
    version = models.PositiveIntegerField()
    change = models.CharField(max_length=16)
    state = models.CharField(max_length=16)
    extra = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        indexes = [models.Index(fields=("entity_type", "id"), name="change_entity_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.entity_type}/{self.golden_id} v{self.version} {self.change}"
