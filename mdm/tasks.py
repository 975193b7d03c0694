"""Celery tasks of the golden-record domain.  Tasks take ids, load rows and
call a service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from mdm.models import Job, JobStatus


@shared_task(acks_late=True, max_retries=0)
def run_rebuild_job(job_id: str) -> None:
    """Recompute an entity type's golden records after a rule change, with progress on the Job row."""
    from mdm.services.rebuild import rebuild_entity_type

    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())

    def progress(done: int, total: int) -> None:
        Job.objects.filter(pk=job.pk).update(done=done, total=total)

    try:
        result = rebuild_entity_type(job.params["entity_type"], reason=job.params.get("reason", job.title),
                                     user=job.created_by, progress=progress)
    except Exception as exc:  # noqa: BLE001 - recorded on the job, then re-raised for the worker log
        Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=str(exc)[:2000],
                                             finished_at=timezone.now())
        raise
    Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE, result=result, done=result["total"],
                                         total=result["total"], finished_at=timezone.now())
