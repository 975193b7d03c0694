"""The outbound connector against a real Tryton server, driven through the
sync engine's own ``process`` (claim → envelope → send → write-back), with
no worker: the worker path is in ``test_worker_integration``."""

from __future__ import annotations

import pytest

from mdm.choices import XrefRole
from mdm.models import CrossReference
from sync import services
from sync.connectors.tryton.connector import tax_identifier
from sync.models import Delivery
from tests.tryton.data import de_vat
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


# One server for the module: every test works on its own golden records (their
# ids are the look-up keys in Tryton), so they do not see each other's data.
@pytest.fixture
def tryton_server(shared_tryton):
    return shared_tryton


@pytest.fixture
def tryton(shared_client):
    return shared_client


def party(tryton, pid):
    [row] = tryton.read("party.party", [int(pid)], [
        "name", "code", "active", "replaced_by", "identifiers.type", "identifiers.code", "addresses.street",
        "addresses.postal_code", "addresses.city", "addresses.country.code"], context={"active_test": False})
    return row


@pytest.mark.parametrize("tax_id,country,expected", [
    ("DE136695976", "DE", ("eu_vat", "DE136695976")),
    ("136695976", "DE", ("eu_vat", "DE136695976")),
    ("GB980780684", "GB", ("gb_vat", "980780684")),
    ("", "DE", (None, None)),
])
def test_tax_ids_become_the_identifier_tryton_validates(tax_id, country, expected):
    assert tax_identifier(tax_id, country) == expected


def test_an_approved_customer_arrives_with_code_vat_and_address_and_its_id_comes_back(seeded, ctx, tryton_server,
                                                                                      tryton):
    subscribe_tryton(tryton_server)
    le = approve(legal_entity())
    c = approve(customer(1))
    outcomes = deliver_all()
    assert [o.status for o in outcomes] == ["delivered", "delivered"], [o.reason for o in outcomes]
    pid = target_id(c)
    assert pid and target_id(le)
    row = party(tryton, pid)
    assert (row["name"], row["code"], bool(row["active"])) == ("Kunde 1 GmbH", str(c.pk), True)
    assert [(i["type"], i["code"]) for i in row["identifiers."]] == [("eu_vat", de_vat(1))]
    [address] = row["addresses."]
    assert (address["street"], address["postal_code"], address["city"], address["country."]["code"]) == \
        ("Hauptstrasse 1", "10101", "Berlin", "DE")
    [company] = tryton.search_read("company.company", [["party.code", "=", str(le.pk)]], ["party.name",
                                                                                         "currency.code"])
    assert company["party."]["name"] == "Hub Consulting GmbH" and company["currency."]["code"] == "EUR"
    assert str(company["id"]) == target_id(le)


def test_an_update_updates_the_party_and_a_retry_never_duplicates(seeded, ctx, tryton_server, tryton):
    subscribe_tryton(tryton_server)
    approve(legal_entity())
    c = approve(customer(2))
    deliver_all()
    pid = target_id(c)
    c = edit_and_approve(c, legal_name="Kunde Zwei GmbH", city="Hamburg", postcode="20095")
    assert [o.status for o in deliver_all()] == ["delivered"]
    assert target_id(c) == pid
    assert tryton.search_count("party.party", [["code", "=", str(c.pk)]]) == 1
    row = party(tryton, pid)
    assert row["name"] == "Kunde Zwei GmbH"
    assert (row["addresses."][0]["city"], row["addresses."][0]["postal_code"]) == ("Hamburg", "20095")
    # the write-back is lost (say the worker died after Tryton answered): the code finds the party again
    CrossReference.objects.filter(golden_id=c.pk, role=XrefRole.TARGET).delete()
    d = Delivery.objects.get(golden_id=c.pk, version=c.version)
    Delivery.objects.filter(pk=d.pk).update(status="pending")  # the engine's replay, in short
    assert services.process(d.pk, force=True).status == "delivered"
    assert tryton.search_count("party.party", [["code", "=", str(c.pk)]]) == 1 and target_id(c) == pid


def test_a_project_arrives_linked_to_its_party_and_company_which_go_first(seeded, ctx, tryton_server, tryton):
    subscribe_tryton(tryton_server, entities=("project",))  # only projects: the connector sends what they need
    le = approve(legal_entity())
    c = approve(customer(3))
    p = approve(project("P-100", c.pk))
    assert [o.status for o in deliver_all()] == ["delivered"]
    wid = target_id(p)
    [work] = tryton.read("project.work", [int(wid)], ["name", "type", "party", "company", "comment",
                                                      "project_invoice_method"])
    assert (work["name"], work["type"], work["project_invoice_method"]) == ("ERP rollout", "project", "timesheet")
    assert str(work["party"]) == target_id(c) and str(work["company"]) == target_id(le)
    assert str(p.pk) in work["comment"]


def test_a_project_waits_while_its_customer_is_not_approved(seeded, ctx, tryton_server, tryton):
    subscribe_tryton(tryton_server, entities=("project",))
    approve(legal_entity())
    c = customer(4)  # pending
    p = approve(project("P-101", c.pk))
    [outcome] = deliver_all()
    assert outcome.status == "retrying" and "approved" in outcome.reason
    assert tryton.search_count("project.work", [["comment", "like", f"mdm:{p.pk}%"]]) == 0
    assert tryton.search_count("party.party", [["code", "=", str(c.pk)]]) == 0


def test_a_value_tryton_refuses_is_a_business_error_on_the_exception_queue(seeded, ctx, tryton_server, tryton):
    subscribe_tryton(tryton_server, entities=("legal_entity", "customer"))
    approve(legal_entity())
    c = approve(customer(5))
    # the hub's own validation refuses a bad VAT; put one in the outgoing event as if the rules differed
    d = Delivery.objects.get(golden_id=c.pk)
    d.event.payload = {**d.event.payload, "tax_id": "DE000"}
    d.event.save()
    outcomes = deliver_all()
    d.refresh_from_db()
    assert d.status == "failed" and d.error_category == "business" and d.attempts == 1, outcomes
    assert "not valid" in d.last_error
    assert tryton.search_count("party.party", [["code", "=", str(c.pk)]]) == 0


def test_a_merge_deactivates_the_loser_and_points_it_at_the_survivor(seeded, ctx, tryton_server, tryton):
    from mdm.audit import audit_context
    from mdm.choices import Origin
    from mdm.services import stewardship

    subscribe_tryton(tryton_server, entities=("customer",))
    approve(legal_entity())
    a, b = approve(customer(6)), approve(customer(7))
    deliver_all()
    pa, pb = target_id(a), target_id(b)
    with audit_context(origin=Origin.WEB, reason="test merge"):
        stewardship.merge(survivor=a, others=[b], reason="same company")
    outcomes = deliver_all()
    assert {o.status for o in outcomes} == {"delivered"}
    loser = party(tryton, pb)
    assert not loser["active"] and str(loser["replaced_by"]) == pa
    assert party(tryton, pa)["active"]


def test_an_unmerge_brings_the_loser_back_in_tryton(seeded, ctx, tryton_server, tryton):
    from mdm.audit import audit_context
    from mdm.choices import Origin
    from mdm.services import stewardship

    subscribe_tryton(tryton_server, entities=("customer",))
    approve(legal_entity())
    a, b = approve(customer(8)), approve(customer(9))
    deliver_all()
    with audit_context(origin=Origin.WEB, reason="test merge"):
        event = stewardship.merge(survivor=a, others=[b], reason="looked the same")
    deliver_all()
    [pb] = tryton.search("party.party", [["code", "=", str(b.pk)]], context={"active_test": False})
    assert not party(tryton, pb)["active"]
    with audit_context(origin=Origin.WEB, reason="test unmerge"):
        stewardship.unmerge(event=event, reason="two companies after all")
    outcomes = deliver_all()
    assert "delivered" in {o.status for o in outcomes}, [o.reason for o in outcomes]
    # Tryton locks a replaced party, so the split gets a party of its own, and the hub points at it
    back = party(tryton, target_id(b))
    assert back["active"] and back["name"] == "Kunde 9 GmbH" and back["code"] == f"{b.pk}~1"
    assert [(i["type"], i["code"]) for i in back["identifiers."]] == [("eu_vat", de_vat(9))]
    assert not party(tryton, pb)["active"] and str(party(tryton, pb)["replaced_by"]) == target_id(a)
    assert party(tryton, target_id(a))["active"]
    deliver_all()  # delivering b again finds the new party: no third one
    assert tryton.search_count("party.party", [["code", "like", f"{b.pk}%"]],
                               context={"active_test": False}) == 2
