"""Fixtures for the sync engine: a local signed-webhook receiver, a
subscription pointing at it, and approved customers."""

from __future__ import annotations

import pytest

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer
from mdm.services import golden as golden_svc
from mdm.services.ingest import ingest_record
from sync.connectors.webhook.receiver import Receiver

SECRET = "whsec-test-0123456789"


@pytest.fixture
def receiver():
    rx = Receiver(SECRET).start()
    yield rx
    rx.stop()


def subscribe(url: str, *, system: str = "hooks", entities=("customer",), timeout: float = 2.0, **kw):
    from sync.services import upsert_subscription

    with audit_context(origin=Origin.SYSTEM, reason="test subscription"):
        sub, _ = upsert_subscription(system=system, config={"url": url, "timeout": timeout}, secret=SECRET,
                                     entity_types=list(entities), **kw)
    return sub


@pytest.fixture
def subscription(seeded, receiver):
    return subscribe(receiver.url)


def new_customer(n: int, *, system: str = "crm", **extra) -> Customer:
    """A valid pending customer, ingested through the normal service."""
    data = {"AccountName": f"Acme {n}", "LegalName": f"Acme Number {n} Ltd", "BillingCountry": "GB",
            "BillingCity": "London", **extra}
    with audit_context(origin=Origin.IMPORT, reason="test data"):
        result = ingest_record(system=system, entity_type="customer", source_id=f"S{n}", data=data)
    return Customer.objects.get(pk=result.golden_id)


def approve(record) -> Customer:
    with audit_context(origin=Origin.WEB, reason="test approval"):
        return golden_svc.approve(record, actor=None, auto=True)


def change_and_approve(record, **changes) -> Customer:
    """A steward edit (raises the version, back to pending) then approval."""
    with audit_context(origin=Origin.WEB, reason="test edit"):
        golden_svc.edit(record, actor=None, changes=changes, reason="test edit")
    record.refresh_from_db()
    return approve(record)
