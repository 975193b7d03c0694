"""Hub-wide re-matching through the persisted blocking keys."""

from __future__ import annotations

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import MatchTask, NotDuplicate
from mdm.services import stewardship as stw
from mdm.services.ingest import ingest_record
from mdm.services.rematch import rematch_entity_type

NORTHWIND_ERP = {"customer_name": "Northwind Traders Ltd", "vat_id": "GB980780684", "country_code": "GB",
                 "city": "London", "phone": "+44 20 7946 0000"}
NORTHWIND_PSA = {"client_name": "Northwind Traders", "country": "GB", "city": "Manchester"}  # review band


def test_rematch_finds_a_pair_and_a_not_duplicate_never_comes_back(seeded, people):
    with audit_context(origin=Origin.IMPORT, reason="feed"):
        a = ingest_record(system="erp", entity_type="customer", source_id="C1", data=NORTHWIND_ERP).golden_id
        b = ingest_record(system="psa", entity_type="customer", source_id="CL1", data=NORTHWIND_PSA).golden_id
    assert a != b
    MatchTask.objects.all().delete()  # as if the pair had never been queued
    result = rematch_entity_type("customer")
    assert result["records"] == 2 and result["tasks_opened"] == 1
    task = MatchTask.objects.get()
    assert {str(task.golden_a), str(task.golden_b)} == {a, b} and task.explanation
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="r"):
        stw.not_duplicate(task=task, actor=people["alice"], reason="different firms")
    assert NotDuplicate.objects.count() == 1
    again = rematch_entity_type("customer")
    assert again["tasks_opened"] == 0
    assert not MatchTask.objects.filter(status="open").exists()


def test_rematch_does_not_requeue_an_open_pair(seeded, ctx):
    ingest_record(system="erp", entity_type="customer", source_id="C1", data=NORTHWIND_ERP)
    ingest_record(system="psa", entity_type="customer", source_id="CL1", data=NORTHWIND_PSA)
    before = MatchTask.objects.count()
    assert rematch_entity_type("customer")["tasks_opened"] == 0
    assert MatchTask.objects.count() == before
