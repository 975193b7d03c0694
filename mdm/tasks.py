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

    def work(job, progress):
        return rebuild_entity_type(job.params["entity_type"], reason=job.params.get("reason", job.title),
                                   user=job.created_by, progress=progress)

    _run(job_id, work)


def _run(job_id: str, work) -> None:
    """Run ``work(job, progress)`` for a queued job, recording progress and outcome on the row."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())

    def progress(done: int, total: int) -> None:
        Job.objects.filter(pk=job.pk).update(done=done, total=total)

    try:
        result = work(job, progress)
    except Exception as exc:  # noqa: BLE001 - recorded on the job, then re-raised for the worker log
        Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=str(exc)[:2000],
                                             finished_at=timezone.now())
        raise
    done = Job.objects.filter(pk=job.pk).values_list("total", flat=True).first() or 0
    Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE, result=result, done=done,
                                         finished_at=timezone.now())


@shared_task(acks_late=True, max_retries=0)
def run_rematch_job(job_id: str) -> None:
    """Re-match every live golden record of an entity type, with progress."""
    from mdm.services.rematch import rematch_entity_type

    _run(job_id, lambda job, progress: rematch_entity_type(job.params["entity_type"], progress=progress,
                                                           reason=job.title))


@shared_task(acks_late=True, max_retries=0)
def run_import_job(job_id: str) -> None:
    """Import an uploaded CSV through the ingest path, with progress and a row-numbered report."""
    import csv
    import io

    from mdm.services.importer import import_rows

    def work(job, progress):
        text = job.params["content"]
        total = max(text.count("\n") - 1, 0) + (0 if text.endswith("\n") else 1)
        progress(0, total)
        done = [0]

        def on_rows(n):
            done[0] += n
            progress(done[0], total)

        reader = csv.DictReader(io.StringIO(text))
        report = import_rows(job.params["system"], job.params["entity_type"], reader,
                             id_column=job.params["id_column"], user=job.created_by, reason=job.title,
                             on_rows=on_rows)
        Job.objects.filter(pk=job.pk).update(params={**job.params, "content": ""})  # the file is not kept
        return {"counts": report.counts, "errors": [list(e) for e in report.errors[:500]],
                "more_errors": max(len(report.errors) - 500, 0)}

    _run(job_id, work)
