"""Inbound: parties, companies and projects read from a real Tryton server
become source records and golden records through the ingest path."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.management import call_command

from mdm.models import Customer, FieldMapping, LegalEntity, Project, SourceRecord, SourceSystem
from sync.connectors.tryton.inbound import pull
from sync.connectors.tryton.setup import ensure_tryton_system
from tests.tryton.data import de_vat, party_values, seed_company, seed_country_currency

pytestmark = pytest.mark.tryton


def test_the_tryton_system_and_its_mappings_are_created_once(db):
    first = ensure_tryton_system()
    count = FieldMapping.objects.filter(system=first).count()
    assert first.kind == "erp" and count >= 15
    again = ensure_tryton_system()
    assert again.pk == first.pk and FieldMapping.objects.filter(system=first).count() == count
    assert SourceSystem.history.filter(code="tryton").count() == 1


def test_pull_creates_source_and_golden_records_with_resolved_references(db, tryton):
    de, eur = seed_country_currency(tryton)
    company = seed_company(tryton, de, eur)
    [p1, p2] = tryton.create("party.party", [party_values(1, de), party_values(2, de)])
    [work] = tryton.create("project.work", {"name": "ERP rollout", "type": "project", "company": company,
                                            "party": p1, "project_invoice_method": "effort"},
                           context={"company": company, "companies": [company]})

    report = pull(tryton)

    assert report.counts == {"legal_entity:created": 1, "customer:created": 2, "project:created": 1}
    assert not report.errors
    sr = SourceRecord.objects.get(system__code="tryton", entity_type="customer", source_id=str(p1))
    golden = Customer.objects.get(pk=sr.xref.golden_id)
    assert golden.legal_name == "Tryton Customer 0001 GmbH"
    assert golden.tax_id == de_vat(1)
    assert (golden.address_line, golden.postcode, golden.city, golden.country) == ("Hauptstrasse 2", "10001",
                                                                                 "Berlin", "DE")
    assert golden.email == "billing1@customer1.de"
    assert golden.lineage["tax_id"]["system"] == "tryton"
    history = Customer.history.filter(id=golden.pk).first()
    assert history.history_origin == "sync" and "sync:tryton pull" in history.history_change_reason
    entity = LegalEntity.objects.get()
    assert (entity.code, entity.name, entity.base_currency) == ("HUBDE", "Hub Consulting GmbH", "EUR")
    project = Project.objects.get(pk=SourceRecord.objects.get(entity_type="project").xref.golden_id)
    assert project.name == "ERP rollout" and project.customer_id == golden.pk
    assert project.legal_entity_id == entity.pk
    assert not Customer.objects.filter(legal_name="Hub Consulting GmbH").exists()  # the firm is not a customer


def test_a_second_pull_is_unchanged_and_since_reads_only_what_changed(db, tryton):
    de, _ = seed_country_currency(tryton)
    [p1, p2] = tryton.create("party.party", [party_values(1, de), party_values(2, de)])
    pull(tryton)
    again = pull(tryton)
    assert again.counts == {"customer:unchanged": 2}

    time.sleep(1.1)  # Tryton's timestamps and this clock are the same machine's
    mark = dt.datetime.now(dt.timezone.utc)
    tryton.write("party.party", [p2], {"name": "Renamed Customer GmbH"})
    later = pull(tryton, since=mark)
    assert later.counts == {"customer:updated": 1}
    golden = Customer.objects.get(pk=SourceRecord.objects.get(source_id=str(p2), system__code="tryton")
                                  .xref.golden_id)
    assert golden.legal_name == "Renamed Customer GmbH" and golden.version == 2


def test_the_command_reports_counts_and_refusals(db, tryton_server, monkeypatch, capsys):
    client = tryton_server.client()
    de, _ = seed_country_currency(client)
    client.create("party.party", [party_values(i, de) for i in range(1, 4)])
    monkeypatch.setenv("MDM_TRYTON_PASSWORD", tryton_server.password)
    call_command("tryton_pull", "--url", tryton_server.url, "--database", tryton_server.database, "--no-progress")
    out = capsys.readouterr().out
    assert "3 records" in out and "customer:created 3" in out
    assert SourceRecord.objects.filter(system__code="tryton").count() == 3


def test_the_periodic_pull_resumes_after_what_it_already_has(db, tryton_server, monkeypatch):
    from sync.connectors.tasks import pull_tryton

    client = tryton_server.client()
    de, _ = seed_country_currency(client)
    [p1] = client.create("party.party", [party_values(1, de)])
    monkeypatch.setenv("MDM_TRYTON_URL", tryton_server.url)
    monkeypatch.setenv("MDM_TRYTON_DATABASE", tryton_server.database)
    monkeypatch.setenv("MDM_TRYTON_PASSWORD", tryton_server.password)
    assert pull_tryton() == {"customer:created": 1}
    client.create("party.party", [party_values(2, de)])
    assert pull_tryton() == {"customer:created": 1, "customer:unchanged": 1}  # only the overlap is re-read
    assert SourceRecord.objects.filter(system__code="tryton").count() == 2
