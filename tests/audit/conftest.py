"""Fixtures for the audit trail: customers with history, a merge, sealed."""

from __future__ import annotations

import pytest

from mdm import audit_chain
from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer
from mdm.services.ingest import ingest_record

ERP_NORTHWIND = {"customer_name": "Northwind Traders Ltd", "vat_id": "GB980780684", "country_code": "GB",
                 "city": "London", "email": "jane.doe@northwind.example", "phone": "+44 20 7946 0018"}
CRM_CONTOSO = {"AccountName": "Contoso", "LegalName": "Contoso Limited", "Website": "contoso.example",
               "BillingCountry": "GB", "Industry": "Retail", "OwnerName": "Jane Doe"}


def ingest(system, sid, data, *, reason="test import", origin=Origin.IMPORT, user=None):
    with audit_context(origin=origin, reason=reason, user=user):
        result = ingest_record(system=system, entity_type="customer", source_id=sid, data=data)
    return Customer.objects.get(pk=result.golden_id)


@pytest.fixture
def two_customers(seeded):
    a = ingest("erp", "C1", ERP_NORTHWIND)
    b = ingest("crm", "001X", CRM_CONTOSO)
    assert a.pk != b.pk
    audit_chain.seal_pending()
    return a, b


def verify_ok():
    report = audit_chain.verify(max_unsealed_age=__import__("datetime").timedelta(0))
    assert report.ok, [str(p) for p in report.problems]
    return report
