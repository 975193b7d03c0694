"""API fixtures: a small approved world built through the real ingest path,
service accounts with real knox tokens, and clients for tokens and sessions."""

from __future__ import annotations

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Contract, Customer, LegalEntity, Project
from mdm.services import golden as golden_svc
from mdm.services.accounts import create_service_account
from mdm.services.ingest import ingest_record
from tests.api.harness import token_client


def ingest(system, entity_type, source_id, data):
    with audit_context(origin=Origin.IMPORT, reason="test data"):
        return ingest_record(system=system, entity_type=entity_type, source_id=source_id, data=data)


def approve(model, golden_id):
    with audit_context(origin=Origin.WEB, reason="test approval"):
        return golden_svc.approve(model.objects.get(pk=golden_id), actor=None)


@pytest.fixture(scope="class")
def _class_world(django_db_setup, django_db_blocker):
    """The world, built once per test class inside a transaction that is
    rolled back afterwards; each test runs in a savepoint inside it (the
    ``db`` fixture), so tests stay isolated but the slow build happens once."""
    from mdm.services.setup import seed_defaults

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            seed_defaults()
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(_class_world, db, seeded):
    """Fresh instances of the class's world for one test."""
    return {key: type(obj).objects.get(pk=obj.pk) for key, obj in _class_world.items()}


def build_world():
    """Two legal entities, four customers (one pending), contracts and
    projects; everything but ``pending_customer`` approved.  Values are
    chosen so every filter separates them."""
    w = {}
    for code, name, country, cur in (("UK01", "Firm UK Ltd", "GB", "GBP"), ("FR01", "Firm France SAS", "FR", "EUR")):
        r = ingest("erp", "legal_entity", code, {"company_code": code, "company_name": name, "country_code": country,
                                                 "base_currency": cur})
        w[f"le_{code.lower()}"] = approve(LegalEntity, r.golden_id)
    customers = {
        "acme": ("CRM-1", {"AccountName": "Acme", "LegalName": "Acme Consulting Limited", "BillingCountry": "GB",
                           "BillingCity": "London", "CurrencyIsoCode": "GBP", "Website": "https://www.acme.co.uk",
                           "Industry": "Consulting", "OwnerName": "Olivia", "AccountStatus": "Active",
                           "VATNumber": "GB980780684"}),
        "globex": ("CRM-2", {"AccountName": "Globex", "LegalName": "Globex Conseil SA", "BillingCountry": "FR",
                             "BillingCity": "Paris", "CurrencyIsoCode": "EUR", "Website": "globex.fr",
                             "Industry": "Energy", "OwnerName": "Pierre", "AccountStatus": "Prospect"}),
        "acme_de": ("CRM-3", {"AccountName": "Acme Deutschland", "LegalName": "Acme Deutschland GmbH",
                              "BillingCountry": "DE", "BillingCity": "Berlin", "CurrencyIsoCode": "EUR",
                              "ParentId": "CRM-1", "Industry": "Consulting", "AccountStatus": "Active"}),
    }
    for key, (sid, data) in customers.items():
        r = ingest("crm", "customer", sid, data)
        w[key] = approve(Customer, r.golden_id)
    r = ingest("crm", "customer", "CRM-9", {"AccountName": "Umbrella Pending", "LegalName": "Umbrella Holdings plc",
                                            "BillingCountry": "GB", "CurrencyIsoCode": "GBP"})
    w["pending_customer"] = Customer.objects.get(pk=r.golden_id)
    contracts = {
        "k_acme": ("K-1", {"ContractNumber": "C-2026-001", "AccountId": "CRM-1", "LegalEntityCode": "UK01",
                           "Name": "Audit support", "BillingModel": "fixed_fee", "Amount": "120000",
                           "CurrencyIsoCode": "GBP", "StartDate": "2026-01-01", "EndDate": "2026-12-31",
                           "Status": "Active", "OpportunityId": "OPP-1"}),
        "k_globex": ("K-2", {"ContractNumber": "C-2026-002", "AccountId": "CRM-2", "LegalEntityCode": "FR01",
                             "Name": "Energy audit", "BillingModel": "time_and_materials", "Amount": "50000",
                             "CurrencyIsoCode": "EUR", "StartDate": "2025-03-01", "EndDate": "2025-09-30",
                             "Status": "Closed", "OpportunityId": "OPP-2"}),
    }
    for key, (sid, data) in contracts.items():
        r = ingest("crm", "contract", sid, data)
        w[key] = approve(Contract, r.golden_id)
    projects = {
        "p_acme": ("P-1", {"project_code": "PRJ-ACME", "project_name": "Acme audit", "client_id": str(w["acme"].pk),
                           "contract_ref": "C-2026-001", "entity_code": "UK01", "manager": "Maria Lopez",
                           "billing_type": "fixed_fee", "budget": "90000", "currency": "GBP",
                           "start": "2026-01-15", "end": "2026-06-30", "status": "active"}),
        "p_globex": ("P-2", {"project_code": "PRJ-GLOBEX", "project_name": "Globex energy review",
                             "client_id": str(w["globex"].pk), "contract_ref": "C-2026-002", "entity_code": "FR01",
                             "manager": "Jean Martin", "billing_type": "time_and_materials", "budget": "40000",
                             "currency": "EUR", "start": "2025-03-01", "end": "2025-09-30", "status": "closed"}),
    }
    for key, (sid, data) in projects.items():
        r = ingest("psa", "project", sid, data)
        w[key] = approve(Project, r.golden_id)
    pending = (
        ("pending_le", LegalEntity, "erp", "legal_entity", "DE01",
         {"company_code": "DE01", "company_name": "Firm Deutschland GmbH", "country_code": "DE",
          "base_currency": "EUR"}),
        ("pending_contract", Contract, "crm", "contract", "K-9",
         {"ContractNumber": "C-2026-009", "AccountId": "CRM-2", "LegalEntityCode": "FR01", "Name": "Pending deal",
          "CurrencyIsoCode": "EUR"}),
        ("pending_project", Project, "psa", "project", "P-9",
         {"project_code": "PRJ-PENDING", "project_name": "Not yet approved", "client_id": str(w["globex"].pk),
          "entity_code": "FR01", "currency": "EUR"}),
    )
    for key, model, system, entity_type, sid, data in pending:
        w[key] = model.objects.get(pk=ingest(system, entity_type, sid, data).golden_id)
        assert w[key].state == "pending"
    return w


@pytest.fixture
def make_token(seeded):
    """``make_token("crm", entity_types=("customer",), read_pending=False, name=None, expires_days=None)``."""
    counter = {"n": 0}

    def make(system="crm", *, entity_types=(), read_pending=False, name=None, expires_days=None):
        counter["n"] += 1
        account, token = create_service_account(
            name=name or f"{system}-test-{counter['n']}", system_code=system, entity_types=entity_types,
            expires_days=expires_days, can_read_pending=read_pending,
        )
        return account, token

    return make


@pytest.fixture
def crm_client(make_token):
    return token_client(make_token("crm")[1])


@pytest.fixture
def reader(make_token):
    """A CRM token that may also read pending records."""
    return token_client(make_token("crm", read_pending=True)[1])


@pytest.fixture
def session_client(people):
    """``session_client("alice")``: a logged-in person's client that enforces CSRF like a browser."""

    def make(name: str) -> APIClient:
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(people[name])
        return client

    return make


@pytest.fixture(autouse=True)
def _tokens_checked_afresh():
    """Each test starts with no token trusted from an earlier test's requests."""
    from mdm.api.auth import forget_checked_tokens

    forget_checked_tokens()
    yield
    forget_checked_tokens()
