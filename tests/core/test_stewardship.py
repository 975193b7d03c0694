"""Merge, unmerge, split and review decisions."""

from __future__ import annotations

import pytest

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import CrossReference, Customer, MatchTask, MergeEvent, NotDuplicate
from mdm.services import golden as golden_svc
from mdm.services import stewardship as stw
from mdm.services.golden import ServiceError, golden_values
from mdm.services.ingest import ingest_record, open_review_task


def make(system, sid, data):
    return Customer.objects.get(pk=ingest_record(system=system, entity_type="customer", source_id=sid,
                                                 data=data).golden_id)


@pytest.fixture
def pair_of_goldens(seeded, ctx):
    a = make("erp", "C1", {"customer_name": "Northwind Traders Ltd", "vat_id": "GB980780684", "country_code": "GB",
                           "city": "London"})
    b = make("crm", "001X", {"AccountName": "Northwind", "LegalName": "Northwind Limited", "Website": "northwind.example", "BillingCountry": "GB",
                             "Industry": "Retail"})
    assert a.pk != b.pk
    return a, b


def xref_map():
    return {x.external_id: x.golden_id for x in CrossReference.objects.all()}


def test_merge_moves_xrefs_marks_others_merged_and_rebuilds_survivor(pair_of_goldens, people):
    a, b = pair_of_goldens
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="same company"):
        event = stw.merge(survivor=a, others=[b], actor=people["alice"], reason="same company")
    a.refresh_from_db(), b.refresh_from_db()
    assert b.state == "merged" and b.merged_into_id == a.pk
    assert set(xref_map().values()) == {a.pk}
    assert a.trading_name == "Northwind" and a.legal_name == "Northwind Traders Ltd" and a.industry == "Retail"
    assert event.merged_ids == [str(b.pk)] and event.actor == people["alice"]


def test_merge_then_unmerge_restores_every_field_and_xref(pair_of_goldens, people):
    a, b = pair_of_goldens
    before = {r.pk: golden_values(r) for r in (a, b)}
    xrefs_before = xref_map()
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="r"):
        event = stw.merge(survivor=a, others=[b], picks={"legal_name": b.pk}, actor=people["alice"], reason="dup")
        stw.unmerge(event=event, actor=people["alice"], reason="not the same after all")
    a.refresh_from_db(), b.refresh_from_db()
    assert {r.pk: golden_values(r) for r in (a, b)} == before
    assert xref_map() == xrefs_before
    assert b.state == "pending" and b.merged_into_id is None
    assert MergeEvent.objects.get().undone_at is not None


def test_merge_pick_wins_over_rules(pair_of_goldens, people):
    a, b = pair_of_goldens
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="r"):
        stw.merge(survivor=a, others=[b], picks={"legal_name": b.pk}, actor=people["alice"], reason="dup")
    a.refresh_from_db()
    assert a.legal_name == "Northwind Limited" and a.lineage["legal_name"]["rule"] == "manual"


def test_not_duplicate_is_remembered_and_blocks_new_tasks_and_merges(pair_of_goldens, people):
    a, b = pair_of_goldens
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="r"):
        task = open_review_task("customer", a.pk, b.pk, 0.7, [])
        stw.not_duplicate(task=task, actor=people["alice"], reason="different companies")
        assert NotDuplicate.objects.count() == 1
        assert open_review_task("customer", b.pk, a.pk, 0.8, []) is None
        with pytest.raises(ServiceError, match="not a duplicate"):
            stw.merge(survivor=a, others=[b], actor=people["alice"], reason="x")


def test_split_takes_a_source_record_out_into_a_new_golden(pair_of_goldens, people):
    a, b = pair_of_goldens
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="r"):
        stw.merge(survivor=a, others=[b], actor=people["alice"], reason="dup")
        crm = CrossReference.objects.get(external_id="001X").source_record
        new = stw.split(source_record=crm, actor=people["alice"], reason="wrongly merged")
    a.refresh_from_db()
    assert new.pk not in (a.pk, b.pk) and new.trading_name == "Northwind"
    assert a.trading_name == "" and a.legal_name == "Northwind Traders Ltd" and new.legal_name == "Northwind Limited"


def test_a_decision_needs_a_reason(pair_of_goldens, people):
    a, b = pair_of_goldens
    with audit_context(origin=Origin.WEB, user=people["alice"]):
        task = open_review_task("customer", a.pk, b.pk, 0.7, [])
        with pytest.raises(ServiceError, match="reason"):
            stw.not_duplicate(task=task, actor=people["alice"], reason=" ")
    assert MatchTask.objects.get().status == "open"


def test_four_eyes_refuses_approval_by_the_last_editor(pair_of_goldens, people, settings):
    settings.MDM_FOUR_EYES = True
    _, a = pair_of_goldens  # the CRM-only customer: not bound for the ERP
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="fix"):
        golden_svc.edit(a, actor=people["alice"], changes={"currency": "GBP", "payment_terms": "NET30"},
                        reason="from the signed contract")
        with pytest.raises(ServiceError, match="Four eyes"):
            golden_svc.approve(a, actor=people["alice"])
    with audit_context(origin=Origin.WEB, user=people["bob"], reason="ok"):
        approved = golden_svc.approve(a, actor=people["bob"])
    assert approved.state == "approved" and approved.approved_by == people["bob"]
