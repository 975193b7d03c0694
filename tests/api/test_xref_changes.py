"""Cross-reference lookup, change feed, merged ids, and a full pull that
stays consistent while others write."""

from __future__ import annotations

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import ChangeEvent, CrossReference, Customer, SourceSystem
from mdm.services import stewardship
from tests.api.conftest import approve, ingest


def test_xref_lookup_answers_the_golden_and_every_systems_id(world, crm_client):
    acme = world["acme"]
    with audit_context(origin=Origin.SYNC, reason="erp gave it an id"):
        CrossReference.objects.create(entity_type="customer", golden_id=acme.pk,
                                      system=SourceSystem.objects.get(code="erp"), external_id="100234",
                                      role="target")
    response = crm_client.get("/api/v1/xref/", {"system": "crm", "source_id": "CRM-1"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["golden_id"] == str(acme.pk) and body["entity_type"] == "customer"
    assert {(x["system"], x["external_id"], x["role"]) for x in body["xrefs"]} == {
        ("crm", "CRM-1", "source"), ("erp", "100234", "target")}
    back = crm_client.get("/api/v1/xref/", {"system": "erp", "source_id": "100234", "entity_type": "customer"})
    assert back.json()["golden_id"] == str(acme.pk)


def test_xref_lookup_errors(world, crm_client):
    assert crm_client.get("/api/v1/xref/", {"system": "crm", "source_id": "nope"}).status_code == 404
    missing = crm_client.get("/api/v1/xref/", {"system": "crm"})
    assert missing.status_code == 400 and "source_id" in missing.json()
    assert crm_client.get("/api/v1/xref/", {"system": "crm", "source_id": "CRM-1", "x": "1"}).status_code == 400
    assert crm_client.get("/api/v1/xref/", {"system": "crm", "source_id": "CRM-1",
                                            "entity_type": "planet"}).status_code == 400


def test_change_feed_is_in_order_resumable_and_carries_versions(world, crm_client):
    first = crm_client.get("/api/v1/changes/", {"limit": 3}).json()
    assert len(first["results"]) == 3 and first["next"]
    cursors = [int(e["cursor"]) for e in first["results"]]
    assert cursors == sorted(cursors)
    rest = crm_client.get("/api/v1/changes/", {"after": first["cursor"], "limit": 1000}).json()
    all_events = first["results"] + rest["results"]
    assert len(all_events) == ChangeEvent.objects.count()
    assert {e["change"] for e in all_events} == {"approved"}
    acme_event = next(e for e in all_events if e["golden_id"] == str(world["acme"].pk))
    assert acme_event["version"] == world["acme"].version and acme_event["url"].endswith(f"{world['acme'].pk}/")
    # nothing new: the cursor stays put and a consumer can poll with it
    idle = crm_client.get("/api/v1/changes/", {"after": rest["cursor"]}).json()
    assert idle["results"] == [] and idle["cursor"] == rest["cursor"] and idle["next"] is None
    # a later change shows up after the cursor, with its new version
    ingest("crm", "customer", "CRM-2", {"AccountName": "Globex", "LegalName": "Globex Conseil SA",
                                        "BillingCountry": "FR", "BillingCity": "Lyon", "CurrencyIsoCode": "EUR"})
    approve(Customer, world["globex"].pk)
    later = crm_client.get("/api/v1/changes/", {"after": rest["cursor"]}).json()["results"]
    assert [(e["golden_id"], e["version"]) for e in later] == [(str(world["globex"].pk), world["globex"].version + 1)]


def test_change_feed_parameters_are_checked(world, crm_client):
    assert crm_client.get("/api/v1/changes/", {"after": "abc"}).status_code == 400
    assert crm_client.get("/api/v1/changes/", {"limit": "5000"}).status_code == 400
    assert crm_client.get("/api/v1/changes/", {"since": "1"}).status_code == 400
    only = crm_client.get("/api/v1/changes/", {"entity_type": "contract,project"}).json()["results"]
    assert {e["entity_type"] for e in only} == {"contract", "project"}


def test_a_merged_id_points_at_the_survivor_never_404(world, crm_client):
    acme, acme_de = world["acme"], world["acme_de"]
    globex = world["globex"]
    with audit_context(origin=Origin.WEB, reason="test merge"):
        stewardship.merge(survivor=acme, others=[globex], reason="same company")
    response = crm_client.get(f"/api/v1/customers/{globex.pk}/")
    assert response.status_code == 301
    assert response["Location"].endswith(f"/api/v1/customers/{acme.pk}/")
    assert response.json() == {"id": str(globex.pk), "state": "merged", "merged_into": str(acme.pk),
                               "url": response["Location"]}
    assert acme_de.pk  # unaffected record still readable
    assert crm_client.get(f"/api/v1/customers/{acme_de.pk}/").status_code == 200


def test_full_pull_is_stable_while_others_write(world, crm_client):
    """Page through customers one at a time (default ordering by updated_at)
    while a record already delivered changes and a new one is approved: every
    record that existed is delivered, none twice except the changed one
    (again, with its new version), and the new one arrives too."""
    url = "/api/v1/customers/?page_size=1"
    page = crm_client.get(url).json()
    seen = [(r["id"], r["version"]) for r in page["results"]]
    first_id = seen[0][0]
    # someone changes the first delivered record and a new customer is approved mid-pull
    first = Customer.objects.get(pk=first_id)
    source_id = CrossReference.objects.get(golden_id=first.pk).external_id
    ingest("crm", "customer", source_id, {"AccountName": first.trading_name, "LegalName": first.legal_name,
                                          "BillingCountry": first.country, "BillingCity": "Elsewhere",
                                          "CurrencyIsoCode": first.currency})
    approve(Customer, first.pk)
    new = ingest("crm", "customer", "CRM-77", {"AccountName": "Newco", "LegalName": "Newco Widgets BV",
                                               "BillingCountry": "NL", "CurrencyIsoCode": "EUR"})
    approve(Customer, new.golden_id)
    url = page["next"]
    while url:
        page = crm_client.get(url).json()
        seen += [(r["id"], r["version"]) for r in page["results"]]
        url = page["next"]
    ids = [i for i, _ in seen]
    expected = {str(world[k].pk) for k in ("acme", "globex", "acme_de")} | {new.golden_id}
    assert set(ids) == expected
    assert ids.count(first_id) == 2 and len(ids) == len(expected) + 1
    assert [v for i, v in seen if i == first_id] == [first.version, first.version + 1]
