"""Persisted matching state: blocking keys for real-time candidate search,
review tasks, remembered "not a duplicate" decisions, merges, the learned
matching parameters and validation issues (the exception queue)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mdm.choices import EntityType, TaskStatus
from mdm.models.base import audited


class BlockingKey(models.Model):
    """An indexed blocking key of a golden record (``tax:GB123…``,
    ``dom:acme.com``): real-time matching looks candidates up here instead of
    rescanning.  Derived data, rebuilt whenever the golden changes."""

    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    key = models.CharField(max_length=160)
    golden_id = models.UUIDField(db_index=True)

    class Meta:
        ordering = ("entity_type", "key")
        # golden_id is carried in the index (PostgreSQL; other databases ignore INCLUDE), so a block's
        # members are read from the index alone: the short-list query of real-time matching reads
        # dozens of members per key, and fetching each from the table was most of its time.
        indexes = [models.Index(fields=("entity_type", "key"), include=("golden_id",), name="blocking_key_cover_idx")]

    def __str__(self) -> str:
        return f"{self.entity_type}:{self.key}"


class MatchParams(models.Model):
    """Learned Fellegi–Sunter parameters for an entity type (m/u per level,
    term frequencies, thresholds).  The newest active row is used."""

    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    params = models.JSONField()
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited()

    class Meta:
        ordering = ("entity_type", "-created_at")

    def __str__(self) -> str:
        return f"{self.entity_type} params {self.created_at:%Y-%m-%d %H:%M}"


class MatchTask(models.Model):
    """A suspected duplicate pair of golden records waiting for a steward."""

    entity_type = models.CharField(max_length=16, choices=EntityType.choices, db_index=True)
    golden_a = models.UUIDField(db_index=True)
    golden_b = models.UUIDField(db_index=True)
    score = models.FloatField(db_index=True)
    explanation = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN, db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="match_tasks"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    history = audited()

    class Meta:
        ordering = ("-score", "created_at")
        constraints = [
            models.UniqueConstraint(
                fields=("entity_type", "golden_a", "golden_b"),
                name="uniq_match_task_pair",
                violation_error_message="This pair is already on the review queue.",
            )
        ]
        indexes = [
            models.Index(fields=("status", "-score", "created_at", "id"), name="match_task_queue_idx"),
            models.Index(fields=("status", "created_at", "id"), name="match_task_age_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type} {str(self.golden_a)[:8]} ~ {str(self.golden_b)[:8]} ({self.score:.2f})"


class NotDuplicate(models.Model):
    """A steward's "these are different things", remembered for good.
    Stored with ``golden_a < golden_b``."""

    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    golden_a = models.UUIDField()
    golden_b = models.UUIDField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited()

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=("entity_type", "golden_a", "golden_b"),
                name="uniq_not_duplicate_pair",
                violation_error_message="This pair is already marked as not a duplicate.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity_type} {str(self.golden_a)[:8]} ≠ {str(self.golden_b)[:8]}"


class MergeEvent(models.Model):
    """The full story of one merge: the survivor, the merged records, the
    steward's per-field picks, the cross-references moved and the values
    before, so an unmerge can restore them exactly."""

    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    survivor_id = models.UUIDField(db_index=True)
    merged_ids = models.JSONField()
    picks = models.JSONField(default=dict, blank=True)
    moved_xrefs = models.JSONField(default=list, blank=True, help_text="[{xref id, from golden}]")
    before = models.JSONField(default=dict, blank=True, help_text="Golden values of every record before.")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField()
    correlation_id = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_reason = models.TextField(blank=True)

    history = audited()

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"merge of {len(self.merged_ids)} into {str(self.survivor_id)[:8]}"


class ValidationIssue(models.Model):
    """One failed validation rule on a golden record (the exception queue).
    Rebuilt whenever the record is rebuilt; fixing the data clears it."""

    entity_type = models.CharField(max_length=16, choices=EntityType.choices, db_index=True)
    golden_id = models.UUIDField(db_index=True)
    rule = models.CharField(max_length=64, db_index=True)
    field = models.CharField(max_length=64, blank=True)
    message = models.TextField()
    hint = models.TextField(blank=True, help_text="What would fix it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("rule", "created_at")

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"
