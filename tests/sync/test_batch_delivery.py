"""One ``deliver`` task takes several due deliveries to the same system:
still one POST and one Idempotency-Key per delivery, per-record version
order, per-delivery outcomes, and write-back with history per record."""

from __future__ import annotations

import pytest

from mdm.choices import XrefRole
from mdm.models import AuditPending, CrossReference
from sync import services, tasks
from sync.models import Delivery
from tests.sync.conftest import approve, change_and_approve, new_customer, subscribe

pytestmark = pytest.mark.django_db


def delivery_of(record, version: int = 1) -> Delivery:
    return Delivery.objects.get(golden_id=record.pk, version=version)


def test_one_task_delivers_every_due_delivery_of_the_system_each_with_its_own_key(subscription, receiver):
    records = [approve(new_customer(n)) for n in range(1, 5)]
    ids = [str(delivery_of(r).pk) for r in records]
    assert tasks.deliver(ids[2]) == "delivered"
    assert sorted(receiver.applied) == sorted(ids)  # one POST per delivery, keyed by its own id
    assert receiver.requests == 4 and receiver.duplicates == 0 and receiver.bad_signatures == 0
    assert set(Delivery.objects.values_list("status", "attempts")) == {("delivered", 1)}
    assert tasks.deliver(ids[0]) == "skipped"  # its delivery went out in that batch: nothing sent again
    assert receiver.requests == 4


def test_batch_size_caps_what_one_task_takes(subscription, receiver, settings):
    settings.SYNC_BATCH_SIZE = 2
    records = [approve(new_customer(n)) for n in range(1, 5)]
    tasks.deliver(str(delivery_of(records[0]).pk))
    assert receiver.requests == 2
    assert Delivery.objects.filter(status="pending").count() == 2


def test_other_systems_deliveries_are_not_taken(subscription, receiver):
    subscribe(receiver.url, system="other")
    c = approve(new_customer(1))
    mine = Delivery.objects.get(golden_id=c.pk, system__code="hooks")
    tasks.deliver(str(mine.pk))
    assert list(receiver.applied) == [str(mine.pk)]
    assert Delivery.objects.get(golden_id=c.pk, system__code="other").status == "pending"


def test_each_delivery_in_a_batch_gets_its_own_outcome(subscription, receiver):
    records = [approve(new_customer(n)) for n in range(1, 4)]
    refused = str(records[1].pk)
    receiver.reject = lambda msg: "VAT number is required" if msg["golden_id"] == refused else None
    tasks.deliver(str(delivery_of(records[0]).pk))
    statuses = {str(d.golden_id): (d.status, d.error_category) for d in Delivery.objects.all()}
    assert statuses == {str(records[0].pk): ("delivered", ""), refused: ("failed", "business"),
                        str(records[2].pk): ("delivered", "")}


def test_a_transient_failure_in_a_batch_retries_that_delivery_only(subscription, receiver, monkeypatch):
    from sync.connectors.webhook import Connector

    records = [approve(new_customer(n)) for n in range(1, 4)]
    flaky = str(records[1].pk)
    send = Connector.send

    def sometimes_down(self, envelope):
        if envelope.golden_id == flaky:
            raise services.TransientError("HTTP 503: down")
        return send(self, envelope)

    monkeypatch.setattr(Connector, "send", sometimes_down)
    outcomes = services.process_batch(str(delivery_of(records[0]).pk))
    assert [o.status for o in outcomes] == ["delivered", "retrying", "delivered"]
    d = delivery_of(records[1])
    assert (d.status, d.attempts, d.last_error) == ("retrying", 1, "HTTP 503: down")
    assert len(receiver.applied) == 2


def test_a_batch_sends_only_the_newest_due_version_of_a_record(subscription, receiver):
    c = approve(new_customer(1))
    c = change_and_approve(c, city="Leeds")
    other = approve(new_customer(2))
    tasks.deliver(str(delivery_of(other).pk))
    assert receiver.applied_versions(c.pk) == [2]
    assert delivery_of(c, 1).status == "superseded" and delivery_of(c, 2).status == "delivered"


def test_a_batch_leaves_a_record_alone_while_an_older_version_is_in_flight(subscription, receiver):
    c = approve(new_customer(1))
    claimed, _ = services.claim(delivery_of(c).pk)  # another worker is sending v1
    c = change_and_approve(c, city="Leeds")
    other = approve(new_customer(2))
    tasks.deliver(str(delivery_of(other).pk))
    assert list(receiver.applied) == [str(delivery_of(other).pk)]
    assert delivery_of(c, 2).status == "pending"
    done = services.finish(claimed, claimed.subscription, result=services.Result(status=200, body="{}"))
    assert done.follow_up == [str(delivery_of(c, 2).pk)]


def test_sends_stop_after_the_batch_time_budget_and_the_rest_go_back_untried(subscription, receiver, settings):
    settings.SYNC_BATCH_SECONDS = 0
    records = [approve(new_customer(n)) for n in range(1, 4)]
    first = delivery_of(records[0])
    outcomes = services.process_batch(str(first.pk))
    assert receiver.requests == 1 and list(receiver.applied) == [str(first.pk)]
    rest = Delivery.objects.exclude(pk=first.pk)
    assert set(rest.values_list("status", "attempts", "lease_until")) == {("pending", 0, None)}
    assert outcomes[-1].follow_up and outcomes[-1].follow_up[0] in {str(d.pk) for d in rest}


def test_write_back_keeps_each_target_id_with_its_own_history_row_and_correlation_id(subscription, receiver):
    records = [approve(new_customer(n)) for n in range(1, 4)]
    deliveries = {str(r.pk): delivery_of(r) for r in records}
    queued = AuditPending.objects.count()
    tasks.deliver(str(deliveries[str(records[0].pk)].pk))
    xrefs = CrossReference.objects.filter(role=XrefRole.TARGET, system__code="hooks")
    assert {str(x.golden_id): x.external_id for x in xrefs} == {
        str(gid): receiver.target_ids[str(gid)] for gid in deliveries}
    for x in xrefs:
        (h,) = x.history.all()
        assert (h.history_type, h.history_origin) == ("+", "sync")
        assert h.history_change_reason == "sync:hooks: id given by hooks"
        assert h.history_correlation_id == deliveries[str(x.golden_id)].correlation_id
    assert AuditPending.objects.count() == queued + 3  # queued for the audit chain with the batch


def test_an_unchanged_target_id_writes_no_history(subscription, receiver):
    c = approve(new_customer(1))
    tasks.deliver(str(delivery_of(c).pk))
    c = change_and_approve(c, city="Leeds")
    tasks.deliver(str(delivery_of(c, 2).pk))
    xref = CrossReference.objects.get(golden_id=c.pk, role=XrefRole.TARGET)
    assert xref.history.count() == 1


def test_a_target_id_another_record_already_has_is_not_linked_twice(subscription, receiver):
    a, b = approve(new_customer(1)), approve(new_customer(2))
    receiver.target_ids[str(b.pk)] = "SAME"
    receiver.target_ids[str(a.pk)] = "SAME"
    tasks.deliver(str(delivery_of(a).pk))
    assert CrossReference.objects.filter(role=XrefRole.TARGET, external_id="SAME").count() == 1
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_without_a_broker_a_task_sends_only_its_own_delivery(subscription, receiver):
    """Eager tasks run inside the request that approved: it must not send other records' deliveries."""
    records = [approve(new_customer(n)) for n in range(1, 4)]
    first = delivery_of(records[0])
    tasks.deliver.apply(args=[str(first.pk)])
    assert list(receiver.applied) == [str(first.pk)]
