"""A division names its head company as parent and shares its name, domain,
phone and address: the pair belongs in the hierarchy, so matching never
links it and never proposes it for review, whichever arrives first."""

from __future__ import annotations

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer, MatchTask
from mdm.services.ingest import ingest_many, ingest_record
from mdm.services.rematch import rematch_entity_type

HEAD = {"AccountName": "Corriera Gestión", "Website": "https://www.corriera-gestion.nl", "Phone": "+31 30 977 1790",
        "BillingStreet": "Oudegracht 15", "BillingCity": "Utrecht", "BillingPostalCode": "3534 EM",
        "BillingCountry": "NL", "CurrencyIsoCode": "EUR"}
DIVISION = {**HEAD, "AccountName": "Corriera Gestión Operations", "Website": "corriera-gestion.nl",
            "Phone": "030 977 1790", "ParentId": "001HEAD"}


def _pair_tasks(a, b) -> int:
    return MatchTask.objects.filter(golden_a__in=[a, b], golden_b__in=[a, b]).count()


def test_without_the_parent_link_the_division_would_join_the_head_company(seeded, ctx):
    head = ingest_record(system="crm", entity_type="customer", source_id="001HEAD", data=HEAD)
    twin = ingest_record(system="crm", entity_type="customer", source_id="001DIV",
                         data={k: v for k, v in DIVISION.items() if k != "ParentId"})
    assert twin.golden_id == head.golden_id or _pair_tasks(head.golden_id, twin.golden_id)


def test_a_division_arriving_after_its_parent_is_neither_linked_nor_proposed(seeded, ctx):
    head = ingest_record(system="crm", entity_type="customer", source_id="001HEAD", data=HEAD)
    division = ingest_record(system="crm", entity_type="customer", source_id="001DIV", data=DIVISION)
    assert division.golden_id != head.golden_id
    assert str(Customer.objects.get(pk=division.golden_id).parent_id) == head.golden_id
    assert _pair_tasks(head.golden_id, division.golden_id) == 0


def test_a_parent_sent_with_its_division_in_one_batch_stays_apart(seeded, ctx):
    head, division = ingest_many(system="crm", entity_type="customer",
                                 items=[("001HEAD", HEAD), ("001DIV", DIVISION)])
    assert division.golden_id != head.golden_id
    assert str(Customer.objects.get(pk=division.golden_id).parent_id) == head.golden_id
    assert _pair_tasks(head.golden_id, division.golden_id) == 0


def test_rematch_does_not_propose_a_record_and_its_parent(seeded, people):
    with audit_context(origin=Origin.IMPORT, reason="feed"):
        head = ingest_record(system="crm", entity_type="customer", source_id="001HEAD", data=HEAD).golden_id
        division = ingest_record(system="crm", entity_type="customer", source_id="001DIV", data=DIVISION).golden_id
    MatchTask.objects.all().delete()
    assert rematch_entity_type("customer")["tasks_opened"] == 0
    assert _pair_tasks(head, division) == 0
