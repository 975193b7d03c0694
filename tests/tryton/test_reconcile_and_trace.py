"""Reconciliation (drift between the hub and Tryton, and the re-send) and the
value trace from a Tryton field back to its source record."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from mdm.audit import audit_context
from mdm.choices import Origin
from sync.connectors.reconcile import drift_report, resend
from sync.connectors.trace import TraceError, value_trace
from sync.models import Delivery
from tests.tryton.hub import (
    approve,
    customer,
    deliver_all,
    edit_and_approve,
    legal_entity,
    project,
    subscribe_tryton,
    target_id,
)

pytestmark = pytest.mark.tryton


@pytest.fixture
def delivered(seeded, ctx, shared_tryton):
    subscribe_tryton(shared_tryton)
    le = approve(legal_entity())
    c = approve(customer(11))
    p = approve(project("P-200", c.pk))
    assert {o.status for o in deliver_all()} == {"delivered"}
    return le, c, p


def ours(report, golden_ids):
    return [d for d in report.drift if d.golden_id in {str(g) for g in golden_ids}]


def test_records_just_delivered_are_in_sync(delivered):
    report = drift_report("tryton")
    assert ours(report, [r.pk for r in delivered]) == []
    assert report.checked >= 3


def test_a_change_made_in_tryton_shows_as_drift_and_a_resend_fixes_it(delivered, shared_client):
    le, c, p = delivered
    pid = int(target_id(c))
    shared_client.write("party.party", [pid], {"name": "Renamed in Tryton GmbH"})
    [drift] = ours(drift_report("tryton"), [c.pk])
    assert drift.kinds == ["differs"]
    assert drift.differences == [{"field": "legal_name", "hub": "Kunde 11 GmbH", "target": "Renamed in Tryton GmbH"}]

    with audit_context(origin=Origin.WEB, reason="reconcile re-send"):
        d = resend(system_code="tryton", entity_type="customer", golden_id=c.pk)
    assert d.status == "pending" and d.replay_count == 1
    deliver_all()
    [row] = shared_client.read("party.party", [pid], ["name"])
    assert row["name"] == "Kunde 11 GmbH"
    assert ours(drift_report("tryton"), [c.pk]) == []


def test_a_record_deleted_in_tryton_is_missing_and_a_stale_version_is_reported(delivered, shared_client):
    le, c, p = delivered
    shared_client.call("model.project.work.delete", [int(target_id(p))])
    c = edit_and_approve(c, city="Potsdam")  # version 2 approved, not yet delivered …
    Delivery.objects.filter(golden_id=c.pk, version=c.version).update(status="failed")  # … and stuck
    report = drift_report("tryton")
    kinds = {d.golden_id: d.kinds for d in ours(report, [c.pk, p.pk])}
    assert kinds[str(p.pk)] == ["missing"]
    assert "stale" in kinds[str(c.pk)] and "differs" in kinds[str(c.pk)]


def test_the_command_prints_drift_and_resends(delivered, shared_client, capsys):
    le, c, p = delivered
    shared_client.write("project.work", [int(target_id(p))], {"name": "Changed by hand"})
    call_command("reconcile", "tryton", "--entity", "project", "--resend")
    out = capsys.readouterr().out
    assert "differs" in out and "Changed by hand" in out and "re-sent" in out
    deliver_all()
    [row] = shared_client.read("project.work", [int(target_id(p))], ["name"])
    assert row["name"] == "ERP rollout"


def test_the_value_trace_of_a_tryton_field_names_the_source_record(delivered):
    le, c, p = delivered
    trace = value_trace("tryton", target_id(c), "vat", entity_type="party.party")
    assert trace.entity_type == "customer" and trace.canonical_field == "tax_id"
    assert trace.golden_id == str(c.pk) and trace.golden_version == c.version
    assert trace.delivery["value_sent"] == c.tax_id and trace.delivery["status"] == "delivered"
    assert trace.rule["type"] == "source_priority" and trace.rule["systems"][0] == "erp"
    assert trace.source["system"] == "erp" and trace.source["source_id"] == "K11"
    assert trace.source["field"] == "vat_id" and trace.source["value"] == c.tax_id
    assert "erp:K11" in " ".join(trace.steps)
    # the project's name came from the PSA
    ptrace = value_trace("tryton", target_id(p), "name", entity_type="project")
    assert (ptrace.source["system"], ptrace.source["source_id"], ptrace.source["field"]) == \
        ("psa", "P-200", "project_name")


def test_the_value_trace_explains_where_the_chain_stops(delivered):
    le, c, p = delivered
    with pytest.raises(TraceError, match="did not deliver"):
        value_trace("tryton", "999999", "name", entity_type="customer")
    with pytest.raises(TraceError, match="look-up key"):
        value_trace("tryton", target_id(c), "code", entity_type="customer")


def test_the_value_trace_page_and_api_name_the_source_record(delivered, client, people):
    le, c, p = delivered
    client.force_login(people["carol"])  # an auditor may read it
    html = client.get("/sync/trace/", {"system": "tryton", "external_id": target_id(c), "field": "vat",
                                       "entity_type": "customer"}).content.decode()
    main = html.split('id="main"')[1]
    assert "erp:K11" in main and "vat_id" in main and "Source priority" in main, main[:3000]
    data = client.get("/api/v1/sync/trace/", {"system": "tryton", "external_id": target_id(c), "field": "vat",
                                              "entity_type": "customer"}).json()
    assert data["source"]["source_id"] == "K11" and data["delivery"]["status"] == "delivered"
    missing = client.get("/api/v1/sync/trace/", {"system": "tryton", "external_id": "999999", "field": "name"})
    assert missing.status_code == 404 and "did not deliver" in missing.json()["detail"]
    assert client.get("/api/v1/sync/trace/", {"system": "tryton"}).status_code == 400


def test_the_reconcile_page_shows_drift_and_a_button_resends(delivered, shared_client, client, people):
    le, c, p = delivered
    shared_client.write("project.work", [int(target_id(p))], {"name": "Renamed in Tryton"})
    client.force_login(people["carol"])  # auditors see drift but cannot re-send
    html = client.get("/sync/systems/tryton/reconcile/", {"run": 1}).content.decode()
    assert "Renamed in Tryton" in html and "differs" in html and "Re-send" not in html
    assert client.post("/sync/systems/tryton/reconcile/", {}).status_code == 403
    client.force_login(people["alice"])
    response = client.post("/sync/systems/tryton/reconcile/", {"entity_type": "project", "golden_id": str(p.pk)})
    assert response.status_code == 302
    deliver_all()
    [row] = shared_client.read("project.work", [int(target_id(p))], ["name"])
    assert row["name"] == "ERP rollout"
