"""Domain events other apps subscribe to (sync writes its outbox from these,
inside the same transaction as the change)."""

from django.dispatch import Signal

# sender=golden model class; kwargs: record, change ("approved", "updated", "retired", "merged", "unmerged"),
# extra (dict, e.g. {"survivor": id} for a merge)
master_changed = Signal()
