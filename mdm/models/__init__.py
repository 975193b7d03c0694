"""The hub's data model.  Every model with history uses ``audited()`` so each
history row records who, why, where from and the correlation id."""

from mdm.models.audit import AuditEntry, AuditErasure, AuditPending
from mdm.models.base import AuditHistoryBase, GoldenRecord, audited
from mdm.models.changes import ChangeEvent
from mdm.models.jobs import Job, JobStatus
from mdm.models.golden import GOLDEN_MODELS, Contract, Customer, LegalEntity, Project, golden_model
from mdm.models.matching import BlockingKey, MatchParams, MatchTask, MergeEvent, NotDuplicate, ValidationIssue
from mdm.models.survivorship import ManualOverride, SurvivorshipRule
from mdm.models.systems import FieldMapping, FieldTransform, ServiceAccount, SourceRecord, SourceSystem
from mdm.models.xref import CrossReference

__all__ = [
    "AuditEntry",
    "AuditErasure",
    "AuditPending",
    "AuditHistoryBase",
    "BlockingKey",
    "ChangeEvent",
    "Contract",
    "CrossReference",
    "Customer",
    "FieldMapping",
    "FieldTransform",
    "GOLDEN_MODELS",
    "GoldenRecord",
    "Job",
    "JobStatus",
    "LegalEntity",
    "ManualOverride",
    "MatchParams",
    "MatchTask",
    "MergeEvent",
    "NotDuplicate",
    "Project",
    "ServiceAccount",
    "SourceRecord",
    "SourceSystem",
    "SurvivorshipRule",
    "ValidationIssue",
    "audited",
    "golden_model",
]
