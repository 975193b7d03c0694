"""A real Celery worker (subprocess) on real Redis — and once on RabbitMQ —
delivering approved customers to a local signed-webhook receiver."""

from __future__ import annotations

import os
import uuid

import pytest
from django.db import connection

from mdm.audit import audit_context
from mdm.choices import Origin
from sync import harness, services
from sync.models import Delivery
from tests.conftest import require_service
from tests.sync.conftest import approve, change_and_approve, new_customer, subscribe

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

_env_broker = os.environ.get("CELERY_BROKER_URL", "")
REDIS_URL = _env_broker if _env_broker.startswith("redis://") else "redis://127.0.0.1:6379/5"
RABBIT_URL = os.environ.get("MDM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
FAST = {  # short timings so retries, sweeps and leases happen within a test
    "MDM_SYNC_SWEEP_SECONDS": 1, "MDM_SYNC_BACKOFF_BASE": 0.2, "MDM_SYNC_BACKOFF_CAP": 2,
    "MDM_SYNC_REENQUEUE_AFTER": 3, "MDM_SYNC_LEASE_MARGIN": 2,
}


def _broker_up(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return harness.port_open(parts.hostname or "127.0.0.1", parts.port or (6379 if url.startswith("redis") else 5672))


@pytest.fixture(scope="module")
def redis_worker(django_db_setup):
    require_service("PostgreSQL", connection.vendor == "postgresql", "a worker process needs a shared database")
    require_service("Redis", _broker_up(REDIS_URL), REDIS_URL)
    queue = f"sync-it-{uuid.uuid4().hex[:8]}"
    env = harness.worker_env(broker=REDIS_URL, queue=queue, **FAST)
    worker = harness.Worker(env, queue).start()
    beat = harness.Beat(env, worker.workdir).start()
    with harness.use_broker(REDIS_URL, queue):
        yield worker
    beat.stop()
    worker.stop()
    harness.purge(REDIS_URL, queue)


def status_of(d) -> str:
    return Delivery.objects.values_list("status", flat=True).get(pk=d.pk)


def test_approval_arrives_once_signed_and_an_update_arrives_as_the_next_version(redis_worker, seeded, receiver):
    subscribe(receiver.url)
    c = approve(new_customer(1))
    d1 = Delivery.objects.get(golden_id=c.pk)
    assert harness.wait_for(lambda: status_of(d1) == "delivered", 20), redis_worker.log_text()[-3000:]
    assert receiver.bad_signatures == 0 and list(receiver.applied) == [str(d1.pk)]
    c = change_and_approve(c, city="Leeds")
    d2 = Delivery.objects.get(golden_id=c.pk, version=2)
    assert harness.wait_for(lambda: status_of(d2) == "delivered", 20), redis_worker.log_text()[-3000:]
    assert receiver.applied_versions(c.pk) == [1, 2]
    assert receiver.applied[str(d2.pk)]["target_id_sent"] == "T000001"  # the id written back from v1
    harness.wait_for(lambda: False, 2.5)  # two sweeps later: nothing sent again
    assert receiver.requests == 2 and receiver.duplicates == 0


def test_business_rejection_lands_on_the_exception_queue_without_retries(redis_worker, seeded, receiver):
    subscribe(receiver.url)
    receiver.reject = lambda msg: "Tax code is required for customers in GB"
    c = approve(new_customer(2))
    d = Delivery.objects.get(golden_id=c.pk)
    assert harness.wait_for(lambda: status_of(d) == "failed", 20), redis_worker.log_text()[-3000:]
    harness.wait_for(lambda: False, 2.5)
    d.refresh_from_db()
    assert (d.error_category, d.attempts, receiver.requests) == ("business", 1, 1)
    assert "Tax code is required" in d.last_error


def test_dead_delivery_replays(redis_worker, seeded, receiver):
    sub = subscribe(receiver.url, max_attempts=3)
    receiver.mode = "fail500"
    c = approve(new_customer(3))
    d = Delivery.objects.get(golden_id=c.pk)
    assert harness.wait_for(lambda: status_of(d) == "dead", 30), redis_worker.log_text()[-3000:]
    assert receiver.requests == 3 and not receiver.applied
    receiver.mode = "ok"
    with audit_context(origin=Origin.WEB, reason="target fixed"):
        services.replay(d)
    assert harness.wait_for(lambda: status_of(d) == "delivered", 20), redis_worker.log_text()[-3000:]
    assert list(receiver.applied) == [str(d.pk)] and sub.pk


def test_rabbitmq_worker_delivers_an_approval_once(django_db_setup, seeded, receiver):
    require_service("PostgreSQL", connection.vendor == "postgresql", "a worker process needs a shared database")
    require_service("RabbitMQ", _broker_up(RABBIT_URL), RABBIT_URL)
    queue = f"sync-it-{uuid.uuid4().hex[:8]}"
    worker = harness.Worker(harness.worker_env(broker=RABBIT_URL, queue=queue, **FAST), queue).start()
    try:
        with harness.use_broker(RABBIT_URL, queue):
            subscribe(receiver.url)
            c = approve(new_customer(4))
            d = Delivery.objects.get(golden_id=c.pk)
            assert harness.wait_for(lambda: status_of(d) == "delivered", 20), worker.log_text()[-3000:]
    finally:
        worker.stop()
        harness.purge(RABBIT_URL, queue)
    assert receiver.requests == 1 and receiver.bad_signatures == 0 and list(receiver.applied) == [str(d.pk)]
