"""A change to an approved master waits for approval; meanwhile readers of
approved records keep getting its last approved version, never a 404 or a
gap in a full pull."""

from __future__ import annotations

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer
from mdm.services import golden as golden_svc
from tests.api.conftest import ingest

GLOBEX = {"AccountName": "Globex", "LegalName": "Globex Conseil SA", "BillingCountry": "FR", "BillingCity": "Paris",
          "CurrencyIsoCode": "EUR", "Website": "globex.fr", "Industry": "Energy", "OwnerName": "Pierre",
          "AccountStatus": "Prospect"}


def _change_globex(world) -> Customer:
    """The CRM renames Globex: the approved golden goes back to pending."""
    ingest("crm", "customer", "CRM-2", {**GLOBEX, "AccountName": "Globex Energy"})
    record = Customer.objects.get(pk=world["globex"].pk)
    assert record.state == "pending" and record.trading_name == "Globex Energy"
    assert record.version == world["globex"].version + 1
    return record


def test_detail_serves_the_last_approved_version_while_a_change_awaits_approval(world, crm_client):
    before = world["globex"]
    changed = _change_globex(world)
    response = crm_client.get(f"/api/v1/customers/{before.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["version"], body["trading_name"]) == ("approved", before.version, "Globex")
    assert response["ETag"] == f'"{before.version}"'
    assert response["X-Awaiting-Approval"] == str(changed.version)
    assert {x["system"] for x in body["xrefs"]} == {"crm"}
    # a consumer holding the approved version is told nothing changed for it
    again = crm_client.get(f"/api/v1/customers/{before.pk}/", HTTP_IF_NONE_MATCH=f'"{before.version}"')
    assert again.status_code == 304 and again["ETag"] == f'"{before.version}"'


def test_a_reader_of_pending_records_sees_the_change_itself(world, reader):
    changed = _change_globex(world)
    body = reader.get(f"/api/v1/customers/{changed.pk}/").json()
    assert (body["state"], body["version"], body["trading_name"]) == ("pending", changed.version, "Globex Energy")


def test_lists_keep_the_record_at_its_approved_version_in_full_and_brief_form(world, crm_client, reader):
    before = world["globex"]
    _change_globex(world)
    listed = {}
    url, params = "/api/v1/customers/", {"page_size": 1}
    while url:  # a full pull, one record a page, crosses the changed record once
        page = crm_client.get(url, params).json()
        for r in page["results"]:
            assert r["id"] not in listed
            listed[r["id"]] = r
        url, params = page["next"], None
    assert set(listed) == {str(world[k].pk) for k in ("acme", "globex", "acme_de")}
    row = listed[str(before.pk)]
    assert (row["state"], row["version"], row["trading_name"]) == ("approved", before.version, "Globex")
    brief = {r["id"]: r for r in crm_client.get("/api/v1/customers/", {"brief": "1"}).json()["results"]}
    assert (brief[str(before.pk)]["version"], brief[str(before.pk)]["display"]) == (before.version, row["display"])
    # asking for pending records gives the change; a never-approved record is still in no approved list
    pending = {r["id"]: r for r in reader.get("/api/v1/customers/", {"state": "pending"}).json()["results"]}
    assert pending[str(before.pk)]["trading_name"] == "Globex Energy"
    assert str(world["pending_customer"].pk) not in listed


def test_approval_publishes_the_change(world, crm_client):
    changed = _change_globex(world)
    with audit_context(origin=Origin.WEB, reason="test approval"):
        golden_svc.approve(changed, actor=None)
    response = crm_client.get(f"/api/v1/customers/{changed.pk}/")
    body = response.json()
    assert (body["state"], body["version"], body["trading_name"]) == ("approved", changed.version, "Globex Energy")
    assert "X-Awaiting-Approval" not in response
    row = next(r for r in crm_client.get("/api/v1/customers/").json()["results"] if r["id"] == str(changed.pk))
    assert row["trading_name"] == "Globex Energy"


def test_a_record_never_approved_is_still_not_found(world, crm_client):
    assert crm_client.get(f"/api/v1/customers/{world['pending_customer'].pk}/").status_code == 404
