"""Cross-references: golden record ↔ each system's id for it."""

from __future__ import annotations

from django.db import models

from mdm.choices import EntityType, XrefRole
from mdm.models.base import audited
from mdm.models.systems import SourceRecord, SourceSystem


class CrossReference(models.Model):
    """Links a golden record to a system's id for it.  ``role=source``: the
    system sent us that record (``source_record`` is set).  ``role=target``:
    the id a downstream system gave the golden when we delivered it."""

    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    golden_id = models.UUIDField(db_index=True)
    # no index of its own: the unique (system, entity type, role, external id) index serves look-ups by system
    system = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="xrefs", db_index=False)
    external_id = models.CharField(max_length=128)
    role = models.CharField(max_length=8, choices=XrefRole.choices, default=XrefRole.SOURCE)
    source_record = models.OneToOneField(
        SourceRecord, null=True, blank=True, on_delete=models.CASCADE, related_name="xref"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited(no_db_index=["system", "source_record"])  # (read by record or golden id and date)

    class Meta:
        ordering = ("entity_type", "system", "external_id")
        constraints = [
            models.UniqueConstraint(
                fields=("system", "entity_type", "role", "external_id"),
                name="uniq_xref_external_id",
                violation_error_message="This system id is already linked to a golden record.",
            )
        ]
        # (no (entity type, golden id) index: golden ids are unique across entity types, and the golden id's
        # own index serves every look-up)

    def __str__(self) -> str:
        return f"{self.system.code}:{self.external_id} → {self.entity_type}/{self.golden_id}"
