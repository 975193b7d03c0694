"""Every master endpoint, tested the same way by declaring data (see harness.py)."""

from __future__ import annotations

from tests.api.harness import MasterAPITestCase

CUSTOMER_FIELDS = ("legal_name", "trading_name", "parent", "legal_entity", "tax_id", "registration_number", "lei",
                   "duns", "website", "phone", "email", "address_line", "city", "postcode", "country", "currency",
                   "payment_terms", "industry", "account_owner", "status")


class TestCustomerAPI(MasterAPITestCase):
    route = "customers"
    entity_type = "customer"
    visible = ("acme", "globex", "acme_de")
    pending = "pending_customer"
    fields = CUSTOMER_FIELDS
    other_entity = "project"
    filters = [
        ({"country": "GB"}, {"acme"}),
        ({"country": "GB,FR"}, {"acme", "globex"}),
        ({"currency": "EUR"}, {"globex", "acme_de"}),
        ({"legal_name": "acme"}, {"acme", "acme_de"}),
        ({"trading_name": "globex"}, {"globex"}),
        ({"name": "deutschland"}, {"acme_de"}),
        ({"tax_id": "GB980780684"}, {"acme"}),
        ({"website": "globex.fr"}, {"globex"}),
        ({"city": "berlin"}, {"acme_de"}),
        ({"industry": "consult"}, {"acme", "acme_de"}),
        ({"account_owner": "Pierre"}, {"globex"}),
        ({"status": "active"}, {"acme", "acme_de"}),
        ({"parent": "{acme.pk}"}, {"acme_de"}),
        ({"parent_name": "Acme Consulting"}, {"acme_de"}),
        ({"parent_tax_id": "gb980780684"}, {"acme_de"}),
        ({"has_parent": "true"}, {"acme_de"}),
        ({"has_parent": "false"}, {"acme", "globex"}),
        ({"id": "{acme.pk},{globex.pk}"}, {"acme", "globex"}),
        ({"q": "globex"}, {"globex"}),
        ({"q": "GB980780684"}, {"acme"}),
        ({"q": "{acme_de.pk}"}, {"acme_de"}),
        ({"q": "CRM-2"}, {"globex"}),
        ({"system": "crm"}, {"acme", "globex", "acme_de"}),
        ({"system": "erp"}, set()),
        ({"source_id": "CRM-3"}, {"acme_de"}),
        ({"state": "approved"}, {"acme", "globex", "acme_de"}),
        ({"is_valid": "true"}, {"acme", "globex", "acme_de"}),
        ({"updated_since": "2000-01-01T00:00:00Z"}, {"acme", "globex", "acme_de"}),
        ({"created_before": "2000-01-01T00:00:00Z"}, set()),
        ({"approved_since": "2000-01-01T00:00:00Z"}, {"acme", "globex", "acme_de"}),
    ]


class TestLegalEntityAPI(MasterAPITestCase):
    route = "legal-entities"
    entity_type = "legal_entity"
    visible = ("le_uk01", "le_fr01")
    pending = "pending_le"
    fields = ("code", "name", "country", "base_currency", "tax_registration")
    other_entity = "customer"
    filters = [
        ({"code": "UK01"}, {"le_uk01"}),
        ({"code": "UK01,FR01"}, {"le_uk01", "le_fr01"}),
        ({"name": "france"}, {"le_fr01"}),
        ({"country": "FR"}, {"le_fr01"}),
        ({"base_currency": "GBP"}, {"le_uk01"}),
        ({"q": "uk01"}, {"le_uk01"}),
        ({"system": "erp"}, {"le_uk01", "le_fr01"}),
        ({"source_id": "FR01"}, {"le_fr01"}),
    ]


class TestContractAPI(MasterAPITestCase):
    route = "contracts"
    entity_type = "contract"
    visible = ("k_acme", "k_globex")
    pending = "pending_contract"
    fields = ("number", "customer", "legal_entity", "title", "billing_model", "value", "currency", "payment_terms",
              "start_date", "end_date", "status", "opportunity_id")
    filters = [
        ({"number": "C-2026-001"}, {"k_acme"}),
        ({"title": "energy"}, {"k_globex"}),
        ({"billing_model": "fixed_fee"}, {"k_acme"}),
        ({"currency": "EUR"}, {"k_globex"}),
        ({"status": "closed"}, {"k_globex"}),
        ({"opportunity_id": "OPP-1"}, {"k_acme"}),
        ({"value_min": "100000"}, {"k_acme"}),
        ({"value_max": "100000"}, {"k_globex"}),
        ({"start_date_after": "2026-01-01"}, {"k_acme"}),
        ({"start_date_before": "2025-12-31"}, {"k_globex"}),
        ({"end_date_after": "2026-01-01"}, {"k_acme"}),
        ({"end_date_before": "2025-12-31"}, {"k_globex"}),
        ({"active_on": "2025-06-01"}, {"k_globex"}),
        ({"customer": "{acme.pk}"}, {"k_acme"}),
        ({"customer_name": "globex"}, {"k_globex"}),
        ({"customer_tax_id": "GB980780684"}, {"k_acme"}),
        ({"legal_entity": "{le_fr01.pk}"}, {"k_globex"}),
        ({"legal_entity_code": "uk01"}, {"k_acme"}),
        ({"q": "audit"}, {"k_acme", "k_globex"}),
        ({"q": "C-2026-002"}, {"k_globex"}),
    ]


class TestProjectAPI(MasterAPITestCase):
    route = "projects"
    entity_type = "project"
    visible = ("p_acme", "p_globex")
    pending = "pending_project"
    fields = ("code", "name", "customer", "contract", "legal_entity", "manager", "billing_model", "budget",
              "currency", "start_date", "end_date", "status")
    filters = [
        ({"code": "PRJ-ACME"}, {"p_acme"}),
        ({"name": "energy"}, {"p_globex"}),
        ({"manager": "lopez"}, {"p_acme"}),
        ({"billing_model": "time_and_materials"}, {"p_globex"}),
        ({"budget_min": "50000"}, {"p_acme"}),
        ({"budget_max": "50000"}, {"p_globex"}),
        ({"status": "active"}, {"p_acme"}),
        ({"customer": "{globex.pk}"}, {"p_globex"}),
        ({"contract": "{k_acme.pk}"}, {"p_acme"}),
        ({"contract_number": "C-2026-002"}, {"p_globex"}),
        ({"legal_entity_code": "FR01"}, {"p_globex"}),
        ({"start_date_after": "2026-01-01"}, {"p_acme"}),
        ({"active_on": "2026-03-01"}, {"p_acme"}),
        ({"q": "PRJ-GLOBEX"}, {"p_globex"}),
        ({"q": "martin"}, {"p_globex"}),
    ]
