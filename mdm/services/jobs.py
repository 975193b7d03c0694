"""Starting background jobs after the current transaction commits."""

from __future__ import annotations

from django.db import transaction

from mdm.audit import current
from mdm.models import Job


def start_rebuild(entity_type: str, *, reason: str, user=None) -> Job:
    """Queue a rebuild of ``entity_type``'s golden records (one job at a time
    per entity type: a queued one absorbs later rule edits)."""
    from mdm.tasks import run_rebuild_job

    queued = Job.objects.filter(kind="rebuild", status="queued", params__entity_type=entity_type).first()
    if queued is not None:
        return queued
    ctx = current()
    job = Job.objects.create(kind="rebuild", title=f"Rebuild {entity_type.replace('_', ' ')} golden records",
                             params={"entity_type": entity_type, "reason": reason},
                             created_by=user if getattr(user, "is_authenticated", False) else None,
                             correlation_id=ctx.correlation_id if ctx else "")
    transaction.on_commit(lambda: run_rebuild_job.delay(str(job.pk)))
    return job
