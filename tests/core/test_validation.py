"""Validation rules keep records out of approved and fill the exception queue."""

from __future__ import annotations

import pytest

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Contract, Customer, LegalEntity, Project, ValidationIssue
from mdm.services import golden as golden_svc
from mdm.services.golden import ServiceError
from mdm.services.ingest import ingest_record


def ingest(system, entity_type, sid, data):
    return ingest_record(system=system, entity_type=entity_type, source_id=sid, data=data)


def issues(record):
    return {(i.rule, i.field) for i in ValidationIssue.objects.filter(golden_id=record.pk)}


@pytest.fixture
def uk01(seeded, ctx):
    gid = ingest("erp", "legal_entity", "UK01", {"company_code": "UK01", "company_name": "Firm UK Ltd",
                                                 "country_code": "GB", "base_currency": "GBP",
                                                 "tax_registration": "GB980780684"}).golden_id
    return LegalEntity.objects.get(pk=gid)


def test_invalid_vat_for_the_country_is_an_exception_and_blocks_approval(uk01, ctx):
    gid = ingest("erp", "customer", "C1", {"customer_name": "Bad Vat Ltd", "vat_id": "GB123456789",
                                           "country_code": "GB", "currency": "GBP", "payment_terms": "NET30",
                                           "company_code": "UK01"}).golden_id
    record = Customer.objects.get(pk=gid)
    assert ("tax_id_invalid", "tax_id") in issues(record) and not record.is_valid
    issue = ValidationIssue.objects.get(golden_id=gid, rule="tax_id_invalid")
    assert "is not a valid GB tax id" in issue.message and issue.hint
    with pytest.raises(ServiceError, match="not a valid GB tax id"):
        golden_svc.approve(record, actor=None)
    record.refresh_from_db()
    assert record.state == "pending"


def test_fixing_the_data_clears_the_exception_and_allows_approval(uk01, ctx):
    base = {"customer_name": "Good Vat Ltd", "vat_id": "GB123456789", "country_code": "GB", "currency": "GBP",
            "payment_terms": "NET30", "company_code": "UK01"}
    gid = ingest("erp", "customer", "C1", base).golden_id
    ingest("erp", "customer", "C1", {**base, "vat_id": "GB980780684"})
    record = Customer.objects.get(pk=gid)
    assert issues(record) == set() and record.is_valid
    assert golden_svc.approve(record, actor=None).state == "approved"


def test_erp_bound_customer_needs_legal_entity_currency_terms_and_vat(seeded, ctx):
    gid = ingest("erp", "customer", "C2", {"customer_name": "Bare Ltd", "country_code": "DE"}).golden_id
    found = issues(Customer.objects.get(pk=gid))
    assert {("erp_required", "legal_entity"), ("erp_required", "currency"), ("erp_required", "payment_terms"),
            ("tax_id_required", "tax_id")} <= found


def test_crm_only_prospect_is_not_held_to_erp_rules(seeded, ctx):
    gid = ingest("crm", "customer", "001", {"AccountName": "Prospect", "BillingCountry": "DE"}).golden_id
    assert issues(Customer.objects.get(pk=gid)) == set()


def test_contract_needs_known_customer_and_legal_entity_and_ordered_dates(uk01, ctx):
    gid = ingest("crm", "contract", "800A", {"ContractNumber": "CT-1", "AccountId": "001-missing",
                                             "Name": "Audit 2026", "StartDate": "2026-05-01",
                                             "EndDate": "2026-01-01", "BillingModel": "barter"}).golden_id
    found = issues(Contract.objects.get(pk=gid))
    assert {("reference_missing", "customer"), ("reference_missing", "legal_entity"), ("dates_inverted", "end_date"),
            ("billing_model_invalid", "billing_model")} <= found
    msg = ValidationIssue.objects.get(golden_id=gid, field="customer").message
    assert "001-missing" in msg


def test_references_resolve_through_the_senders_own_ids(uk01, ctx):
    cust = ingest("psa", "customer", "CL-1", {"client_name": "Globex", "country": "GB"}).golden_id
    proj = ingest("psa", "project", "PRJ-1", {"project_code": "PRJ-1", "project_name": "Cloud move",
                                              "client_id": "CL-1", "entity_code": "UK01"}).golden_id
    project = Project.objects.get(pk=proj)
    assert str(project.customer_id) == cust and project.legal_entity_id == uk01.pk
    assert project.lineage["customer"]["golden"] == cust
    assert issues(project) == set()


def test_a_retired_reference_is_an_exception(uk01, people):
    with audit_context(origin=Origin.IMPORT, reason="feed"):
        ingest("psa", "customer", "CL-1", {"client_name": "Globex", "country": "GB"})
        proj = ingest("psa", "project", "PRJ-1", {"project_code": "PRJ-1", "project_name": "Cloud move",
                                                  "client_id": "CL-1", "entity_code": "UK01"}).golden_id
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="gone"):
        golden_svc.retire(Project.objects.get(pk=proj).customer, actor=people["alice"], reason="customer closed")
        project = Project.objects.get(pk=proj)
        golden_svc.rebuild(project)
        from mdm.validation import validate
        assert any(i.rule == "reference_retired" for i in validate(project))


def test_a_hierarchy_cycle_is_refused_for_approval(seeded, ctx, people):
    a = ingest("erp", "customer", "P1", {"customer_name": "Parent Co", "country_code": "US"}).golden_id
    b = ingest("erp", "customer", "P2", {"customer_name": "Child Co", "country_code": "US",
                                         "parent_customer_no": "P1"}).golden_id
    parent = Customer.objects.get(pk=a)
    assert str(Customer.objects.get(pk=b).parent_id) == a
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="r"):
        golden_svc.edit(parent, actor=people["alice"], changes={"parent": b}, reason="wrong link")
    assert ("hierarchy_cycle", "parent") in issues(parent)


def test_legal_entity_needs_iso_country_and_currency(seeded, ctx):
    gid = ingest("erp", "legal_entity", "XX1", {"company_code": "XX1", "company_name": "Nowhere",
                                                "country_code": "GB"}).golden_id
    assert ("currency_invalid", "base_currency") in issues(LegalEntity.objects.get(pk=gid))


def test_a_reference_that_arrives_later_is_resolved_then(uk01, ctx):
    proj = ingest("psa", "project", "PRJ-9", {"project_code": "PRJ-9", "project_name": "Early bird",
                                              "client_id": "CL-9", "entity_code": "UK01"}).golden_id
    project = Project.objects.get(pk=proj)
    assert project.customer_id is None and ("reference_missing", "customer") in issues(project)
    cust = ingest("psa", "customer", "CL-9", {"client_name": "Late Client", "country": "GB"}).golden_id
    project.refresh_from_db()
    assert str(project.customer_id) == cust and issues(project) == set()


def test_a_parent_sent_in_the_same_batch_as_its_child_resolves(seeded, ctx):
    from mdm.services.ingest import ingest_many

    results = ingest_many(system="erp", entity_type="customer", items=[
        ("C-KID", {"customer_name": "Kid Co", "country_code": "US", "parent_customer_no": "C-MUM"}),
        ("C-MUM", {"customer_name": "Mum Holdings", "country_code": "US"}),
    ])
    kid, mum = (Customer.objects.get(pk=r.golden_id) for r in results)
    assert kid.parent_id == mum.pk and not {i for i in issues(kid) if i[1] == "parent"}
