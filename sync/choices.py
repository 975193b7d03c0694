"""Choice constants of the sync engine."""

from django.db import models


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    RETRYING = "retrying", "Failed, retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (exception queue)"
    DEAD = "dead", "Dead"
    SUPERSEDED = "superseded", "Superseded by a newer version"


# Statuses a worker may still pick up.
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
# Statuses that need a person: the exception queue.
PROBLEM_STATUSES = (DeliveryStatus.FAILED, DeliveryStatus.DEAD)


class ErrorCategory(models.TextChoices):
    NONE = "", "—"
    BUSINESS = "business", "Business rule"
    TECHNICAL = "technical", "Technical"


# Master changes that go out to subscribers ("updated" with needs_approval is
# a pending change and stays inside the hub until approved).
OUTBOUND_CHANGES = ("approved", "retired", "merged", "unmerged", "repointed")
