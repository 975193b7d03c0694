"""Starting background jobs after the current transaction commits."""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

from django.db import transaction

from mdm.audit import current
from mdm.models import Job


_manual = contextvars.ContextVar("mdm_manual_rebuild", default=False)


@contextmanager
def manual_rebuild():
    """Rule edits inside this block do not queue a rebuild job: the caller
    rebuilds itself (seeding, the rebuild command)."""
    token = _manual.set(True)
    try:
        yield
    finally:
        _manual.reset(token)


def rebuild_is_manual() -> bool:
    return _manual.get()


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


def _create(kind: str, title: str, params: dict, user) -> Job:
    ctx = current()
    return Job.objects.create(kind=kind, title=title, params=params,
                              created_by=user if getattr(user, "is_authenticated", False) else None,
                              correlation_id=ctx.correlation_id if ctx else "")


def start_rematch(entity_type: str, *, user=None) -> Job:
    """Queue a hub-wide re-match of ``entity_type`` (one at a time)."""
    from mdm.tasks import run_rematch_job

    running = Job.objects.filter(kind="rematch", status__in=("queued", "running"),
                                 params__entity_type=entity_type).first()
    if running is not None:
        return running
    job = _create("rematch", f"Re-match {entity_type.replace('_', ' ')} records", {"entity_type": entity_type},
                  user)
    transaction.on_commit(lambda: run_rematch_job.delay(str(job.pk)))
    return job


MAX_IMPORT_BYTES = 20 * 1024 * 1024


def start_import(*, system: str, entity_type: str, content: str, id_column: str, filename: str, user=None) -> Job:
    """Queue the import of an uploaded CSV (kept on the job row until it has run)."""
    from mdm.tasks import run_import_job

    job = _create("import", f"Import {filename} as {system} {entity_type.replace('_', ' ')}",
                  {"system": system, "entity_type": entity_type, "id_column": id_column, "filename": filename,
                   "content": content}, user)
    transaction.on_commit(lambda: run_import_job.delay(str(job.pk)))
    return job
