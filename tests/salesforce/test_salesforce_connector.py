"""The Salesforce connector against a local fake that checks every request
against the documented shapes: token, single upsert, composite upsert,
token refresh, and the error format sorted into business and technical."""

from __future__ import annotations

import json

import pytest

from mdm.audit import audit_context
from mdm.choices import Origin
from sync.connectors.base import Envelope, PermanentError, Result, TransientError
from sync.connectors.salesforce.client import SalesforceClient, SalesforceTransientError, classify
from sync.connectors.salesforce.connector import Connector
from tests.salesforce.fake import FakeSalesforce

GID = "0b4f6c1e-0000-4000-8000-000000000001"


@pytest.fixture
def fake():
    sf = FakeSalesforce().start()
    yield sf
    assert sf.violations == [], sf.violations
    sf.stop()


@pytest.fixture
def connector(db, fake):
    from sync.services import upsert_subscription

    with audit_context(origin=Origin.SYSTEM, reason="test"):
        sub, _ = upsert_subscription(system="sfdc", connector="salesforce", secret=fake.client_secret,
                                     entity_types=["customer"],
                                     config={"login_url": fake.url, "client_id": fake.client_id,
                                             "api_version": "v62.0"})
    return Connector(sub)


def envelope(gid=GID, event="approved", **data) -> Envelope:
    base = {"legal_name": "Acme Consulting Ltd", "city": "London", "country": "GB", "tax_id": "GB980780684",
            "payment_terms": "NET30", "parent": None}
    return Envelope(delivery_id="d-1", event=event, entity_type="customer", golden_id=gid, version=1,
                    state="approved", occurred_at="2026-01-01T00:00:00Z", data={**base, **data})


def test_check_config_names_the_missing_settings():
    assert Connector.check_config({}) == [
        "config.login_url must be the org's https URL (My Domain or login.salesforce.com)",
        "config.client_id is the connected app's consumer key"]


def test_an_upsert_gets_a_token_then_patches_the_account_by_external_id(connector, fake):
    result = connector.send(envelope())
    assert isinstance(result, Result) and result.status == 201 and result.target_id.startswith("001")
    token, patch = fake.requests
    assert token["path"] == "/services/oauth2/token" and "grant_type=client_credentials" in token["body"]
    assert patch["path"] == f"/services/data/v62.0/sobjects/Account/MDM_Id__c/{GID}"
    assert json.loads(patch["body"]) == {"Name": "Acme Consulting Ltd", "BillingCity": "London",
                                         "BillingCountryCode": "GB", "MDM_Tax_Id__c": "GB980780684",
                                         "MDM_Status__c": "active"}
    again = connector.send(envelope(city="Leeds"))
    assert again.status == 200 and again.target_id == result.target_id
    assert fake.records["Account"][GID]["BillingCity"] == "Leeds" and len(fake.records["Account"]) == 1
    assert fake.tokens_issued == 1  # the token is reused


def test_an_expired_session_gets_a_new_token_and_the_request_is_sent_once_more(connector, fake):
    connector.send(envelope())
    fake.expire_tokens()
    assert connector.send(envelope(city="Bath")).status == 200
    assert fake.tokens_issued == 2
    assert [r["method"] for r in fake.requests] == ["POST", "PATCH", "PATCH", "POST", "PATCH"]


def test_a_missing_required_field_is_a_business_error(connector, fake):
    with pytest.raises(PermanentError) as exc:
        connector.send(envelope(legal_name=None))
    assert exc.value.category == "business" and "REQUIRED_FIELD_MISSING" in exc.value.message
    assert "Name" in exc.value.message and exc.value.status == 400


@pytest.mark.parametrize("status,body,kind,category", [
    (400, [{"message": "VAT id must be set", "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": []}],
     PermanentError, "business"),
    (400, [{"message": "duplicate value found: MDM_Tax_Id__c", "errorCode": "DUPLICATE_VALUE", "fields": []}],
     PermanentError, "business"),
    (403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
     TransientError, "technical"),
    (503, [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}], TransientError, "technical"),
    (500, [{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}], TransientError,
     "technical"),
    (300, ["/services/data/v62.0/sobjects/Account/001A", "/services/data/v62.0/sobjects/Account/001B"],
     PermanentError, "business"),
])
def test_salesforce_errors_are_business_or_technical(connector, fake, status, body, kind, category):
    connector.send(envelope())  # get a token first
    fake.fail_next.append((status, body))
    with pytest.raises(kind) as exc:
        connector.send(envelope(city="York"))
    assert exc.value.category == category and exc.value.status == status


def test_wrong_client_credentials_are_retried_not_blamed_on_the_data(db, fake):
    client = SalesforceClient(fake.url, fake.client_id, "wrong", api_version="v62.0")
    with pytest.raises(Exception) as exc:
        client.upsert("Account", "MDM_Id__c", GID, {"Name": "x"})
    assert "invalid client credentials" in str(exc.value)
    assert not getattr(exc.value, "business", False)


def test_a_batch_goes_out_in_one_composite_call_with_per_record_results(connector, fake):
    envs = [envelope(gid=f"0b4f6c1e-0000-4000-8000-{i:012d}", legal_name=f"Firm {i}") for i in range(1, 251)]
    envs[3] = envelope(gid=envs[3].golden_id, legal_name=None)
    results = connector.send_batch(envs)
    patches = [r for r in fake.requests if r["method"] == "PATCH"]
    assert [p["path"] for p in patches] == ["/services/data/v62.0/composite/sobjects/Account/MDM_Id__c"] * 2
    first = json.loads(patches[0]["body"])
    assert first["allOrNone"] is False and len(first["records"]) == 200
    assert first["records"][0]["attributes"] == {"type": "Account"}
    assert first["records"][0]["MDM_Id__c"] == envs[0].golden_id
    assert isinstance(results[3], PermanentError) and "REQUIRED_FIELD_MISSING" in results[3].message
    assert sum(isinstance(r, Result) for r in results) == 249
    assert len(fake.records["Account"]) == 249


def test_a_merge_marks_the_loser_with_its_survivor(connector, fake):
    connector.send(envelope())
    survivor = "0b4f6c1e-0000-4000-8000-000000000099"
    merged = Envelope(delivery_id="d-2", event="merged", entity_type="customer", golden_id=GID, version=2,
                      state="merged", occurred_at="2026-01-02T00:00:00Z", data={}, survivor_id=survivor)
    connector.send(merged)
    assert fake.records["Account"][GID]["MDM_Status__c"] == "merged"
    assert fake.records["Account"][GID]["MDM_Survivor_Id__c"] == survivor


def test_classify_reads_both_error_shapes():
    assert classify(400, [{"statusCode": "DUPLICATE_VALUE", "message": "dup", "fields": ["X"]}]).business
    err = classify(400, [{"errorCode": "UNABLE_TO_LOCK_ROW", "message": "locked"}])
    assert isinstance(err, SalesforceTransientError)
