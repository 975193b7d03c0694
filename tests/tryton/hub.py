"""Hub-side helpers for the Tryton tests: approved golden records built
through the normal services, and a ``tryton`` subscription."""

from __future__ import annotations

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.choices import XrefRole
from mdm.models import CrossReference, Customer, LegalEntity, Project
from mdm.services import golden as golden_svc
from mdm.services.ingest import ingest_record
from sync.connectors.tryton.setup import ensure_tryton_system
from tests.tryton.data import de_vat


def subscribe_tryton(server, entities=("legal_entity", "customer", "project", "contract"), **config):
    from sync.services import upsert_subscription

    ensure_tryton_system()
    with audit_context(origin=Origin.SYSTEM, reason="test subscription"):
        sub, _ = upsert_subscription(
            system="tryton", connector="tryton", secret=server.password, entity_types=list(entities),
            config={"url": server.url, "database": server.database, "username": server.username, **config})
    return sub


def ingest(system: str, entity_type: str, source_id: str, data: dict):
    with audit_context(origin=Origin.IMPORT, reason="test data"):
        return ingest_record(system=system, entity_type=entity_type, source_id=source_id, data=data)


def approve(record):
    with audit_context(origin=Origin.WEB, reason="test approval"):
        return golden_svc.approve(record, actor=None, auto=True)


def edit_and_approve(record, **changes):
    with audit_context(origin=Origin.WEB, reason="test edit"):
        golden_svc.edit(record, actor=None, changes=changes, reason="test edit")
    record.refresh_from_db()
    return approve(record)


def legal_entity(code="HUBDE", name="Hub Consulting GmbH") -> LegalEntity:
    result = ingest("erp", "legal_entity", code, {"company_code": code, "company_name": name,
                                                  "country_code": "DE", "base_currency": "EUR"})
    return LegalEntity.objects.get(pk=result.golden_id)


def customer(n: int, *, entity_code="HUBDE", **extra) -> Customer:
    data = {"customer_name": f"Kunde {n} GmbH", "vat_id": de_vat(n), "street": f"Hauptstrasse {n}",
            "zip": f"{10100 + n}", "city": "Berlin", "country_code": "DE", "currency": "EUR",
            "payment_terms": "NET30", "company_code": entity_code, **extra}
    result = ingest("erp", "customer", f"K{n}", data)
    return Customer.objects.get(pk=result.golden_id)


def project(code: str, customer_id, *, entity_code="HUBDE", name="ERP rollout") -> Project:
    result = ingest("psa", "project", code, {"project_code": code, "project_name": name,
                                             "client_id": str(customer_id), "entity_code": entity_code,
                                             "billing_type": "time_and_materials", "currency": "EUR"})
    return Project.objects.get(pk=result.golden_id)


def deliver_all():
    """Run every due delivery once through the engine (no worker)."""
    from sync import services
    from sync.models import Delivery

    outcomes = []
    for d in Delivery.objects.filter(status__in=("pending", "retrying")).order_by("created_at"):
        outcomes.append(services.process(d.pk, force=True))
    return outcomes


def target_id(record, system="tryton"):
    return CrossReference.objects.filter(system__code=system, golden_id=record.pk, role=XrefRole.TARGET) \
        .values_list("external_id", flat=True).first()
