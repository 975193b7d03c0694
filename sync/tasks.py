"""Celery tasks: thin wrappers taking ids and calling ``sync.services``.

Every task is idempotent (deliveries are claimed under row locks and marked
in flight with a lease), acknowledged late and re-queued if its worker dies.
``deliver`` takes its own delivery and, in the same run, other due
deliveries to the same system (``SYNC_BATCH_SIZE``): a task whose delivery
went out in an earlier batch just helps drain the rest.  Retries are
scheduled in the database (``Delivery.next_attempt_at``); a broker countdown
is used only for short delays (``SYNC_MAX_COUNTDOWN``, far below Redis's
visibility timeout) and the beat ``sweep`` catches everything else."""

from celery import shared_task

from sync import services


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(self, delivery_id: str) -> str:
    """Returns the status of ``delivery_id``'s own try (``skipped`` when it
    was not due or is taken).  Run eagerly (no broker: inside the request
    that approved), it sends only its own delivery."""
    outcomes = services.process_batch(delivery_id, limit=1 if self.request.is_eager else None)
    follow_up = []
    for outcome in outcomes:
        if outcome.retry_in is not None:
            services.enqueue([outcome.delivery_id], countdown=outcome.retry_in)
        follow_up += outcome.follow_up or []
    if follow_up:
        services.enqueue(follow_up)
    return outcomes[0].status


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep() -> int:
    """Re-enqueue overdue deliveries (lost between commit and publish, lost
    by a broker restart, or in flight on a worker that died)."""
    ids = services.due_for_sweep()
    services.enqueue(ids)
    return len(ids)
