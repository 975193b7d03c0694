"""Celery tasks: thin wrappers taking ids and calling ``sync.services``.

Every task is idempotent (a delivery is claimed with a conditional update),
acknowledged late and re-queued if its worker dies.  Retries are scheduled
in the database (``Delivery.next_attempt_at``); a broker countdown is used
only for short delays (``SYNC_MAX_COUNTDOWN``, far below Redis's
visibility timeout) and the beat ``sweep`` catches everything else."""

from celery import shared_task

from sync import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(delivery_id: str) -> str:
    outcome = services.process(delivery_id)
    if outcome.retry_in is not None:
        services.enqueue([delivery_id], countdown=outcome.retry_in)
    if outcome.follow_up:
        services.enqueue(outcome.follow_up)
    return outcome.status


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep() -> int:
    """Re-enqueue overdue deliveries (lost between commit and publish, lost
    by a broker restart, or in flight on a worker that died)."""
    ids = services.due_for_sweep()
    services.enqueue(ids)
    return len(ids)
