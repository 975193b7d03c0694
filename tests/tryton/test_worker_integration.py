"""End to end: a real Celery worker (subprocess) on real Redis delivering to a
real Tryton server: approval → party with code, VAT and address, Tryton's id
back as a cross-reference; an update; a project after its party and company;
a merge; drift and the re-send; the value trace."""

from __future__ import annotations

import os
import uuid

import pytest
from django.db import connection

from mdm.audit import audit_context
from mdm.choices import Origin, XrefRole
from mdm.models import CrossReference
from mdm.services import stewardship
from sync import harness
from sync.connectors.reconcile import drift_report, resend
from sync.connectors.trace import value_trace
from sync.models import Delivery
from tests.conftest import require_service
from tests.tryton.data import de_vat
from tests.tryton.hub import approve, customer, edit_and_approve, legal_entity, project, subscribe_tryton

pytestmark = [pytest.mark.tryton, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("MDM_TRYTON_TEST_REDIS", "redis://127.0.0.1:6379/6")
FAST = {"MDM_SYNC_SWEEP_SECONDS": 1, "MDM_SYNC_BACKOFF_BASE": 0.2, "MDM_SYNC_BACKOFF_CAP": 2,
        "MDM_SYNC_REENQUEUE_AFTER": 3, "MDM_SYNC_LEASE_MARGIN": 5}
WAIT = 45


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    require_service("PostgreSQL", connection.vendor == "postgresql", "a worker process needs a shared database")
    require_service("Redis", harness.port_open("127.0.0.1", 6379), REDIS_URL)
    queue = f"tryton-it-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        env = harness.worker_env(broker=REDIS_URL, queue=queue, **FAST)
    w = harness.Worker(env, queue, concurrency=2).start()
    with harness.use_broker(REDIS_URL, queue):
        yield w
    w.stop()
    harness.purge(REDIS_URL, queue)


def target(record) -> str | None:
    return CrossReference.objects.filter(system__code="tryton", entity_type=record.entity_type,
                                         golden_id=record.pk, role=XrefRole.TARGET) \
        .values_list("external_id", flat=True).first()


def delivered(record, version=None) -> bool:
    return Delivery.objects.filter(golden_id=record.pk, version=version or record.version,
                                   status="delivered").exists()


def wait_delivered(worker, *records):
    ok = harness.wait_for(lambda: all(delivered(r) for r in records), WAIT)
    if not ok:
        rows = list(Delivery.objects.values_list("entity_type", "version", "status", "last_error"))
        pytest.fail(f"not delivered: {rows}\n{worker.log_text()[-3000:]}")


def test_the_whole_round_trip_through_a_real_worker(worker, seeded, shared_tryton, shared_client):
    tryton = shared_client
    subscribe_tryton(shared_tryton)
    with audit_context(origin=Origin.IMPORT, reason="test data"):
        le = approve(legal_entity())
        c = approve(customer(21))
    wait_delivered(worker, le, c)

    # a customer approved in the hub appears in Tryton; its Tryton id comes back
    pid = target(c)
    assert pid, "no cross-reference written back"
    [party] = tryton.read("party.party", [int(pid)], ["name", "code", "identifiers.code", "addresses.street",
                                                       "addresses.postal_code", "addresses.city"])
    assert (party["name"], party["code"]) == ("Kunde 21 GmbH", str(c.pk))
    assert [i["code"] for i in party["identifiers."]] == [de_vat(21)]
    assert (party["addresses."][0]["street"], party["addresses."][0]["city"]) == ("Hauptstrasse 21", "Berlin")

    # an update updates, not duplicates
    with audit_context(origin=Origin.WEB, reason="test"):
        c = edit_and_approve(c, legal_name="Kunde Einundzwanzig GmbH")
    wait_delivered(worker, c)
    assert tryton.search_count("party.party", [["code", "=", str(c.pk)]]) == 1 and target(c) == pid
    assert tryton.read("party.party", [int(pid)], ["name"])[0]["name"] == "Kunde Einundzwanzig GmbH"

    # a project arrives linked to its party and company
    with audit_context(origin=Origin.IMPORT, reason="test data"):
        p = approve(project("P-300", c.pk))
    wait_delivered(worker, p)
    [work] = tryton.read("project.work", [int(target(p))], ["party", "company", "name"])
    assert (str(work["party"]), str(work["company"]), work["name"]) == (pid, target(le), "ERP rollout")

    # a record changed directly in Tryton shows as drift; a re-send fixes it
    tryton.write("party.party", [int(pid)], {"name": "Typo GmbH"})
    [drift] = [d for d in drift_report("tryton").drift if d.golden_id == str(c.pk)]
    assert drift.kinds == ["differs"] and drift.differences[0]["target"] == "Typo GmbH"
    with audit_context(origin=Origin.WEB, reason="re-send from reconciliation"):
        resend(system_code="tryton", entity_type="customer", golden_id=c.pk)
    assert harness.wait_for(lambda: tryton.read("party.party", [int(pid)], ["name"])[0]["name"]
                            == "Kunde Einundzwanzig GmbH", WAIT), worker.log_text()[-3000:]
    assert harness.wait_for(lambda: not [d for d in drift_report("tryton").drift if d.golden_id == str(c.pk)], 10)

    # the value trace of the Tryton field names the delivery, the rule and the source record
    trace = value_trace("tryton", pid, "name", entity_type="party.party")
    assert trace.golden_version == c.version and trace.delivery["status"] == "delivered"
    assert trace.rule["type"] == "manual"  # a steward's edit: the chain ends at the manual value
    vat = value_trace("tryton", pid, "vat", entity_type="customer")
    assert (vat.source["system"], vat.source["source_id"], vat.source["field"]) == ("erp", "K21", "vat_id")

    # a merge deactivates the loser in Tryton and points it at the survivor
    with audit_context(origin=Origin.IMPORT, reason="test data"):
        other = approve(customer(22))
    wait_delivered(worker, other)
    loser_pid = target(other)
    with audit_context(origin=Origin.WEB, reason="merge"):
        stewardship.merge(survivor=c, others=[other], reason="same company")
    assert harness.wait_for(lambda: not tryton.read("party.party", [int(loser_pid)], ["active"],
                                                    context={"active_test": False})[0]["active"], WAIT), \
        worker.log_text()[-3000:]
    [loser] = tryton.read("party.party", [int(loser_pid)], ["replaced_by"], context={"active_test": False})
    assert str(loser["replaced_by"]) == pid
