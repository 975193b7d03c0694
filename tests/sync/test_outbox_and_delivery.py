"""Unit tests of the outbox, claiming, delivery outcomes, ordering and
replay: services and task functions called directly, a real local receiver."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from mdm.audit import audit_context
from mdm.choices import Origin, XrefRole
from mdm.models import CrossReference
from sync import services, tasks
from sync.choices import DeliveryStatus
from sync.connectors.webhook import sign, verify
from sync.models import Delivery, OutboxEvent
from tests.sync.conftest import SECRET, approve, change_and_approve, new_customer, subscribe

pytestmark = pytest.mark.django_db


def only_delivery(record) -> Delivery:
    return Delivery.objects.get(golden_id=record.pk)


def test_approval_writes_outbox_event_and_delivery_in_the_same_transaction(subscription,
                                                                          django_capture_on_commit_callbacks):
    c = new_customer(1)
    assert not Delivery.objects.exists()  # pending records stay inside the hub
    with django_capture_on_commit_callbacks() as callbacks:
        approve(c)
    event = OutboxEvent.objects.get()
    d = only_delivery(c)
    assert (event.change, event.version, event.payload["legal_name"]) == ("approved", 1, "Acme Number 1 Ltd")
    assert (d.status, d.version, d.system.code, d.event_id) == ("pending", 1, "hooks", event.pk)
    assert d.correlation_id and d.correlation_id == event.correlation_id
    assert len(callbacks) == 1  # the enqueue runs only after commit


def test_failed_approval_leaves_no_outbox_row(subscription):
    c = new_customer(2)
    approve(c)
    with pytest.raises(Exception):
        approve(c)  # no longer pending: refused, transaction rolled back
    assert Delivery.objects.count() == 1


def test_pending_update_is_not_sent_until_approved(subscription):
    c = approve(new_customer(3))
    with audit_context(origin=Origin.WEB, reason="edit"):
        from mdm.services import golden

        golden.edit(c, actor=None, changes={"city": "Leeds"}, reason="moved")
    assert Delivery.objects.filter(golden_id=c.pk).count() == 1  # only v1's


def test_unsubscribed_entity_types_write_nothing(seeded, receiver):
    subscribe(receiver.url, entities=("project",))
    approve(new_customer(4))
    assert not Delivery.objects.exists() and not OutboxEvent.objects.exists()


def test_delivery_is_signed_and_carries_idempotency_key_and_correlation_id(subscription, receiver):
    c = approve(new_customer(5))
    d = only_delivery(c)
    assert tasks.deliver(str(d.pk)) == "delivered"
    d.refresh_from_db()
    assert d.status == "delivered" and d.attempts == 1 and d.response_status == 200
    assert d.latency_ms is not None and d.delivered_at is not None
    assert receiver.bad_signatures == 0 and list(receiver.applied) == [str(d.pk)]
    assert receiver.applied[str(d.pk)]["event"] == "approved"


def test_target_id_is_written_back_with_history_and_sent_on_the_next_version(subscription, receiver):
    c = approve(new_customer(6))
    tasks.deliver(str(only_delivery(c).pk))
    xref = CrossReference.objects.get(golden_id=c.pk, role=XrefRole.TARGET)
    assert xref.system.code == "hooks" and xref.external_id == "T000001"
    h = xref.history.get()
    assert h.history_origin == "sync" and h.history_change_reason.startswith("sync:hooks")
    c = change_and_approve(c, city="Leeds")
    d2 = Delivery.objects.get(golden_id=c.pk, version=2)
    tasks.deliver(str(d2.pk))
    assert receiver.applied[str(d2.pk)]["target_id_sent"] == "T000001"
    assert receiver.applied_versions(c.pk) == [1, 2]


def test_business_rejection_goes_to_the_exception_queue_without_retry(subscription, receiver):
    receiver.reject = lambda msg: "tax code missing" if not msg["data"].get("tax_id") else None
    c = approve(new_customer(7))
    d = only_delivery(c)
    assert tasks.deliver(str(d.pk)) == "failed"
    d.refresh_from_db()
    assert (d.status, d.error_category, d.attempts, d.response_status) == ("failed", "business", 1, 422)
    assert "tax code missing" in d.last_error
    assert services.due_for_sweep(now=timezone.now() + timedelta(days=1)) == []  # never retried


def test_transient_errors_retry_with_backoff_then_die_then_replay(subscription, receiver):
    subscription.max_attempts = 3
    subscription.save()
    receiver.mode = "fail500"
    c = approve(new_customer(8))
    d = only_delivery(c)
    for expected in ("retrying", "retrying", "dead"):
        Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
        assert tasks.deliver(str(d.pk)) == expected
    d.refresh_from_db()
    assert d.status == "dead" and d.attempts == 3 and d.error_category == "technical"
    assert "HTTP 500" in d.last_error
    receiver.mode = "ok"
    with audit_context(origin=Origin.WEB, reason="replay"):
        services.replay(d)
    assert tasks.deliver(str(d.pk)) == "delivered"
    d.refresh_from_db()
    assert d.status == "delivered" and d.replay_count == 1 and len(receiver.applied) == 1


def test_retry_is_not_attempted_before_it_is_due(subscription, receiver):
    receiver.mode = "fail500"
    c = approve(new_customer(9))
    d = only_delivery(c)
    tasks.deliver(str(d.pk))
    receiver.mode = "ok"
    assert tasks.deliver(str(d.pk)) == "skipped"  # a duplicate task message changes nothing
    d.refresh_from_db()
    assert d.status == "retrying" and d.next_attempt_at > timezone.now()


def test_timeout_is_transient(subscription, receiver):
    subscription.config["timeout"] = 0.3
    subscription.save()
    receiver.mode, receiver.hang_seconds = "timeout", 1.0
    c = approve(new_customer(10))
    d = only_delivery(c)
    assert tasks.deliver(str(d.pk)) == "retrying"
    d.refresh_from_db()
    assert "timed out" in d.last_error and d.error_category == "technical"


def test_refused_connection_is_transient(subscription, receiver):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    subscription.config["url"] = f"http://127.0.0.1:{closed}/hook"
    subscription.save()
    c = approve(new_customer(23))
    d = only_delivery(c)
    assert tasks.deliver(str(d.pk)) == "retrying"
    d.refresh_from_db()
    assert d.last_error.startswith("connection failed") and d.error_category == "technical"


def test_429_honours_retry_after_within_the_cap(subscription, receiver):
    receiver.mode = "429"
    c = approve(new_customer(11))
    d = only_delivery(c)
    tasks.deliver(str(d.pk))
    d.refresh_from_db()
    assert d.status == "retrying" and d.next_attempt_at >= timezone.now() + timedelta(seconds=0.5)


def test_backoff_is_capped_and_jittered(settings):
    settings.SYNC_BACKOFF_BASE, settings.SYNC_BACKOFF_CAP = 2, 60
    first = [services.backoff(1) for _ in range(50)]
    assert all(1 <= x <= 2 for x in first) and len(set(first)) > 1
    assert all(30 <= services.backoff(20) <= 60 for _ in range(50))
    assert services.backoff(1, retry_after=10) >= 10
    assert services.backoff(1, retry_after=10_000) <= 60


def test_older_version_is_never_sent_after_a_newer_one(subscription, receiver):
    c = approve(new_customer(12))
    d1 = only_delivery(c)
    c = change_and_approve(c, city="Leeds")
    d2 = Delivery.objects.get(golden_id=c.pk, version=2)
    assert tasks.deliver(str(d2.pk)) == "delivered"  # v2 first (v1's task was slow)
    assert tasks.deliver(str(d1.pk)) == "skipped"
    d1.refresh_from_db()
    assert d1.status == "superseded"
    assert receiver.applied_versions(c.pk) == [2]


def test_newer_version_waits_while_an_older_one_is_in_flight(subscription, receiver):
    c = approve(new_customer(13))
    d1 = only_delivery(c)
    claimed, why = services.claim(d1.pk)
    assert claimed is not None
    c = change_and_approve(c, city="Leeds")
    d2 = Delivery.objects.get(golden_id=c.pk, version=2)
    out = services.process(d2.pk)
    assert out.status == "skipped" and "older version in flight" in out.reason
    finished = services.finish(claimed, claimed.subscription, result=services.Result(status=200, body="{}"))
    assert finished.follow_up == [str(d2.pk)]  # the next version goes out right after
    assert tasks.deliver(str(d2.pk)) == "delivered"


def test_replaying_an_old_version_after_a_newer_one_was_delivered_is_refused(subscription, receiver):
    receiver.reject = lambda msg: "no" if msg["version"] == 1 else None
    c = approve(new_customer(14))
    d1 = only_delivery(c)
    tasks.deliver(str(d1.pk))
    c = change_and_approve(c, city="Leeds")
    tasks.deliver(str(Delivery.objects.get(golden_id=c.pk, version=2).pk))
    d1.refresh_from_db()
    assert d1.status == "superseded"  # the newer delivery cleared the older failure
    Delivery.objects.filter(pk=d1.pk).update(status="dead")
    with audit_context(origin=Origin.WEB, reason="replay"), pytest.raises(services.SyncError, match="older version"):
        services.replay(d1)


def test_sweeper_finds_lost_tasks_and_expired_leases_but_not_fresh_ones(subscription, settings):
    settings.SYNC_REENQUEUE_AFTER = 30
    a, b, c = (approve(new_customer(n)) for n in (15, 16, 17))
    now = timezone.now()
    assert services.due_for_sweep(now=now) == []  # just enqueued
    da, db_, dc = (only_delivery(x) for x in (a, b, c))
    Delivery.objects.filter(pk=da.pk).update(enqueued_at=None)  # crash between commit and publish
    Delivery.objects.filter(pk=db_.pk).update(status="in_flight", lease_until=now - timedelta(seconds=1),
                                          enqueued_at=now - timedelta(seconds=50))  # its worker died
    assert set(services.due_for_sweep(now=now)) == {str(da.pk), str(db_.pk)}
    assert services.due_for_sweep(now=now) == []  # marked enqueued
    later = services.due_for_sweep(now=now + timedelta(seconds=31))  # nobody took them: again, with the rest
    assert set(later) == {str(da.pk), str(db_.pk), str(dc.pk)}


def test_in_flight_delivery_whose_worker_died_is_taken_over_after_its_lease(subscription, receiver):
    c = approve(new_customer(18))
    d = only_delivery(c)
    assert services.claim(d.pk)[0] is not None
    assert tasks.deliver(str(d.pk)) == "skipped"  # the lease is still running
    Delivery.objects.filter(pk=d.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert tasks.deliver(str(d.pk)) == "delivered"
    d.refresh_from_db()
    assert d.attempts == 2


def test_merge_event_carries_the_survivor(subscription, receiver, people):
    from mdm.services import stewardship

    a = approve(new_customer(19))
    b = approve(new_customer(20))
    for d in Delivery.objects.all():
        tasks.deliver(str(d.pk))
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="dup"):
        stewardship.merge(survivor=a, others=[b], actor=people["alice"], reason="dup")
    d = Delivery.objects.get(golden_id=b.pk, change="merged")
    tasks.deliver(str(d.pk))
    body = receiver.applied[str(d.pk)]
    assert body["event"] == "merged"
    env = services.build_envelope(d, d.subscription)
    survivor_ids = set(CrossReference.objects.filter(golden_id=a.pk, role=XrefRole.TARGET)
                       .values_list("external_id", flat=True))  # the merge moved b's target id onto a too
    assert env.survivor_id == str(a.pk) and env.survivor_target_id in survivor_ids


def test_mapping_renames_fields_and_translates_values(seeded, receiver):
    sub = subscribe(receiver.url, mapping={"customer": {"fields": {"legal_name": "name"},
                                                        "values": {"country": {"GB": "UK"}}}})
    assert services.map_data(sub, "customer", {"legal_name": "X", "country": "GB", "city": None}) == {
        "name": "X", "country": "UK", "city": None}


def test_signature_verifies_and_rejects_tampering_and_old_timestamps():
    body = json.dumps({"a": 1}).encode()
    header = sign(SECRET, body)
    assert verify(SECRET, body, header)
    assert not verify(SECRET, body + b" ", header)
    assert not verify("other", body, header)
    assert not verify(SECRET, body, sign(SECRET, body, timestamp=1_000_000))
    assert not verify(SECRET, body, "garbage")


def test_redirects_are_not_followed(subscription, receiver):
    from sync.connectors.base import Envelope, PermanentError
    from sync.connectors.webhook import Connector

    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(302)
            self.send_header("Location", receiver.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=srv.handle_request, daemon=True).start()
    subscription.config["url"] = f"http://127.0.0.1:{srv.server_address[1]}/x"
    env = Envelope(delivery_id="k", event="approved", entity_type="customer", golden_id="g", version=1,
                   state="approved", occurred_at="now", data={})
    with pytest.raises(PermanentError, match="redirect"):
        Connector(subscription).send(env)
    srv.server_close()
    assert receiver.requests == 0


@pytest.fixture
def eager():
    from mdm.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


def test_sync_sweep_command_retries_due_deliveries_in_process_without_a_broker(subscription, receiver, eager):
    from django.core.management import call_command

    receiver.mode = "fail500"
    c = approve(new_customer(21))
    d = only_delivery(c)
    assert tasks.deliver(str(d.pk)) == "retrying"
    receiver.mode = "ok"
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    call_command("sync_sweep")
    d.refresh_from_db()
    assert d.status == "delivered" and d.attempts == 2


def test_worker_dying_after_the_target_applied_the_change_causes_no_second_side_effect(subscription, receiver):
    from sync.connectors.webhook import Connector

    c = approve(new_customer(22))
    d = only_delivery(c)
    claimed, _ = services.claim(d.pk)
    Connector(claimed.subscription).send(services.build_envelope(claimed, claimed.subscription))
    # ... and the worker is killed here, before recording the result.
    Delivery.objects.filter(pk=d.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert tasks.deliver(str(d.pk)) == "delivered"
    assert receiver.requests == 2 and receiver.duplicates == 1  # same Idempotency-Key, answered from the store
    assert receiver.applied_versions(c.pk) == [1]  # applied once
    assert CrossReference.objects.filter(golden_id=c.pk, role=XrefRole.TARGET).count() == 1


def test_a_body_cut_off_by_a_dying_sender_is_not_taken_for_a_bad_signature(receiver):
    """A worker killed mid-send leaves the receiver a body shorter than its
    Content-Length: nothing to verify or apply, and no signature failure."""
    import socket

    body = json.dumps({"golden_id": "x", "version": 1}).encode()
    with socket.create_connection(("127.0.0.1", receiver.port)) as conn:
        conn.sendall(b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"X-Signature: sha256=0\r\nContent-Length: " + str(len(body) + 100).encode() + b"\r\n\r\n" + body)
        conn.shutdown(socket.SHUT_WR)  # the sender is gone
        assert conn.recv(1024) == b""  # no answer, the connection closed
    assert receiver.truncated == 1 and receiver.bad_signatures == 0 and receiver.requests == 0
