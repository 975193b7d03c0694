"""POST /api/v1/source-records/: one record or a bulk list, per-record answers."""

from __future__ import annotations

import pytest

from mdm.models import Customer, SourceRecord
from tests.api.harness import token_client

URL = "/api/v1/source-records/"

ACME_ERP = {"customer_name": "Acme Consulting Limited", "vat_id": "GB980780684", "country_code": "GB",
            "currency": "GBP", "payment_terms": "NET30", "city": "London", "zip": "EC1A 1BB"}


@pytest.fixture
def erp(make_token):
    account, token = make_token("erp", name="erp-prod")
    return token_client(token)


def record(source_id="E-1", data=None, **extra):
    return {"entity_type": "customer", "source_id": source_id, "data": data or dict(ACME_ERP), **extra}


def test_created_then_unchanged_then_updated(seeded, erp):
    first = erp.post(URL, record(), format="json")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["outcome"] == "created" and body["index"] == 0 and body["golden_id"]
    assert body["decision"] in {"new", "matched", "review"}

    again = erp.post(URL, record(), format="json")
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    assert again.json()["golden_id"] == body["golden_id"]

    changed = erp.post(URL, record(data={**ACME_ERP, "city": "Manchester"}), format="json")
    assert changed.status_code == 200 and changed.json()["outcome"] == "updated"
    assert Customer.objects.get(pk=body["golden_id"]).city == "Manchester"
    assert SourceRecord.objects.filter(system__code="erp", source_id="E-1").count() == 1


def test_history_of_an_api_write_names_the_service_account_and_origin(seeded, erp):
    golden_id = erp.post(URL, record(), format="json", HTTP_X_CORRELATION_ID="corr-123").json()["golden_id"]
    row = Customer.history.filter(id=golden_id).order_by("history_id").first()
    assert row.history_origin == "api"
    assert row.history_actor == "svc:erp-prod"
    assert row.history_correlation_id == "corr-123"
    assert row.history_user.username == "svc-erp-prod"


def test_bulk_answers_each_record_with_field_errors_by_index(seeded, erp):
    body = [
        record("E-1"),
        record("E-2", {"customer_name": "Bad Data Ltd", "country_code": "XX", "currency": "EURO"}),
        {"entity_type": "customer", "data": {"customer_name": "No Id Ltd"}},
        record("E-4", {**ACME_ERP, "customer_name": "Initech Limited", "vat_id": ""}),
        "not an object",
    ]
    response = erp.post(URL, body, format="json")
    assert response.status_code == 207
    data = response.json()
    results = data["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert results[0]["outcome"] == "created" and results[3]["outcome"] == "created"
    assert results[1]["outcome"] == "rejected" and set(results[1]["errors"]) == {"country_code", "currency"}
    assert results[2]["outcome"] == "rejected" and "source_id" in results[2]["errors"]
    assert results[4]["outcome"] == "rejected" and results[4]["errors"]
    assert data["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 3}
    assert not SourceRecord.objects.filter(source_id="E-2").exists()


def test_bulk_retry_is_harmless(seeded, erp):
    body = [record("E-1"), record("E-5", {**ACME_ERP, "customer_name": "Other Co Ltd", "vat_id": ""})]
    erp.post(URL, body, format="json")
    counts = (SourceRecord.objects.count(), Customer.objects.count(), Customer.history.count())
    again = erp.post(URL, body, format="json").json()
    assert again["summary"]["unchanged"] == 2
    assert (SourceRecord.objects.count(), Customer.objects.count(), Customer.history.count()) == counts


def test_a_single_invalid_record_is_a_400_with_field_errors(seeded, erp):
    response = erp.post(URL, record(data={"customer_name": "X", "country_code": "XX"}), format="json")
    assert response.status_code == 400
    assert response.json()["outcome"] == "rejected" and "country_code" in response.json()["errors"]
    response = erp.post(URL, {"entity_type": "planet", "source_id": "1", "data": {}}, format="json")
    assert response.status_code == 400 and "entity_type" in response.json()["errors"]


def test_more_records_than_the_bulk_limit_is_a_413(seeded, erp, settings):
    settings.MDM_BULK_LIMIT = 3
    response = erp.post(URL, [record(f"E-{i}") for i in range(4)], format="json")
    assert response.status_code == 413
    assert SourceRecord.objects.count() == 0


def test_a_body_over_the_byte_limit_is_a_413(seeded, erp, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = erp.post(URL, record(data={**ACME_ERP, "street": "x" * 2000}), format="json")
    assert response.status_code == 413


def test_naming_another_system_is_a_403_and_writes_nothing(seeded, crm_client):
    response = crm_client.post(URL, [record("C-1", {"AccountName": "Fine"}), record(system="erp")], format="json")
    assert response.status_code == 403
    assert "erp" in response.json()["detail"]
    assert SourceRecord.objects.count() == 0


def test_naming_its_own_system_is_allowed(seeded, crm_client):
    response = crm_client.post(URL, record("C-1", {"AccountName": "Fine Ltd"}, system="crm"), format="json")
    assert response.status_code == 201


def test_entity_types_outside_the_accounts_scope_are_a_403(seeded, make_token):
    _, token = make_token("crm", entity_types=("contract",))
    response = token_client(token).post(URL, record("C-1", {"AccountName": "Fine Ltd"}), format="json")
    assert response.status_code == 403
    assert SourceRecord.objects.count() == 0


def test_a_persons_session_cannot_send_source_records(seeded, people):
    from rest_framework.test import APIClient

    client = APIClient()  # CSRF not enforced here, so the refusal is the role check
    client.force_login(people["dave"])  # even an admin: source records come from systems
    response = client.post(URL, record(), format="json")
    assert response.status_code == 403 and "service account" in response.json()["detail"]


def test_empty_list_and_wrong_shapes_are_400(seeded, erp):
    assert erp.post(URL, [], format="json").status_code == 400
    assert erp.post(URL, "42", content_type="application/json").status_code == 400
    assert erp.post(URL, "{not json", content_type="application/json").status_code == 400
