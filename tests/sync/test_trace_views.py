"""The value-trace page and API answer clearly when the chain cannot start."""

from __future__ import annotations


def test_trace_page_without_a_delivered_record_says_where_the_chain_stops(seeded, client, people):
    client.force_login(people["carol"])
    response = client.get("/sync/trace/", {"system": "erp", "external_id": "nope", "field": "name"})
    assert response.status_code == 400 and "did not deliver" in response.content.decode()
    assert client.get("/sync/trace/").status_code == 200


def test_trace_api_needs_its_parameters_and_refuses_other_systems_accounts(seeded, client, people):
    from mdm.services.accounts import create_service_account

    client.force_login(people["carol"])
    response = client.get("/api/v1/sync/trace/", {"system": "erp"})
    assert response.status_code == 400 and set(response.json()) == {"external_id", "field"}
    client.logout()
    _, token = create_service_account(name="crm-svc", system_code="crm")
    response = client.get("/api/v1/sync/trace/", {"system": "erp", "external_id": "1", "field": "name"},
                          HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 403


def test_reconcile_page_before_a_check_and_for_an_unknown_system(seeded, client, people):
    client.force_login(people["alice"])
    assert "Not checked yet" in client.get("/sync/systems/erp/reconcile/").content.decode()
    assert client.get("/sync/systems/nope/reconcile/", {"run": 1}).status_code == 400
