"""Batch claiming on PostgreSQL row locks: a task never waits on, and never
takes, a record another claimer is deciding on (``SKIP LOCKED``)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from sync import services
from sync.models import Delivery
from tests.conftest import require_service
from tests.sync.conftest import approve, new_customer, subscribe

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_batch_leaves_alone_a_record_whose_rows_another_claimer_holds(seeded, receiver, monkeypatch):
    require_service("PostgreSQL", connection.vendor == "postgresql", "row locks")
    monkeypatch.setattr(services, "enqueue", lambda *a, **k: 0)  # no broker here: claims are made by hand
    subscribe(receiver.url)
    a, b, c = (approve(new_customer(n)) for n in (1, 2, 3))
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def other_claimer():  # holds b's rows, as a claimer deciding on b does
        try:
            with transaction.atomic():
                list(Delivery.objects.select_for_update().filter(golden_id=b.pk))
                held.set()
                release.wait(10)
        finally:
            connection.close()
            done.set()

    threading.Thread(target=other_claimer, daemon=True).start()
    assert held.wait(10)
    try:
        taken, why = services.claim_batch(Delivery.objects.get(golden_id=a.pk).pk, limit=10)
    finally:
        release.set()
        done.wait(10)
    assert why == "claimed"
    assert {d.golden_id for d in taken} == {a.pk, c.pk}
    assert Delivery.objects.get(golden_id=b.pk).status == "pending"
