"""Choice constants shared by models, services, filters and the UI."""

from django.db import models


class EntityType(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    LEGAL_ENTITY = "legal_entity", "Legal entity"
    CONTRACT = "contract", "Contract"
    PROJECT = "project", "Project"


class LifecycleState(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    MERGED = "merged", "Merged"
    RETIRED = "retired", "Retired"


class SystemKind(models.TextChoices):
    CRM = "crm", "CRM"
    PSA = "psa", "PSA"
    ERP = "erp", "ERP"
    BILLING = "billing", "Billing"
    OTHER = "other", "Other"


class Origin(models.TextChoices):
    """Where a change came from; stored on every history row."""

    WEB = "web", "Web UI"
    API = "api", "REST API"
    IMPORT = "import", "Import"
    SYNC = "sync", "Sync"
    MATCH = "match", "Matching"
    MERGE = "merge", "Merge"
    SYSTEM = "system", "System"


class XrefRole(models.TextChoices):
    SOURCE = "source", "Source record"
    TARGET = "target", "Downstream id"


class SurvivorshipRuleType(models.TextChoices):
    SOURCE_PRIORITY = "source_priority", "Source priority"
    MOST_RECENT = "most_recent", "Most recent"
    MOST_COMPLETE = "most_complete", "Most complete"
    MOST_FREQUENT = "most_frequent", "Most frequent"


class BillingModel(models.TextChoices):
    TIME_AND_MATERIALS = "time_and_materials", "Time and materials"
    FIXED_FEE = "fixed_fee", "Fixed fee"
    RETAINER = "retainer", "Retainer"
    MILESTONE = "milestone", "Milestone"


class IngestOutcome(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    REJECTED = "rejected", "Rejected"


class MatchDecision(models.TextChoices):
    MATCH = "match", "Match"
    REVIEW = "review", "Review"
    NEW = "new", "New"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DEFERRED = "deferred", "Deferred"
    MERGED = "merged", "Merged"
    NOT_DUPLICATE = "not_duplicate", "Not a duplicate"
    CLOSED = "closed", "Closed"
