"""Data for the workbench tests, built the way production builds it: the
seeded systems, then records through the one ingest path inside an audit
context, so review tasks, lineage and history are real."""

from __future__ import annotations

import pytest
from django.test import Client

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer, MatchTask
from mdm.services.ingest import ingest_record, open_review_task

PASSWORD = "pw-{}"


def ingest(system, sid, data, entity_type="customer"):
    return ingest_record(system=system, entity_type=entity_type, source_id=sid, data=data)


def customer(system, sid, data) -> Customer:
    return Customer.objects.get(pk=ingest(system, sid, data).golden_id)


def review_task(a, b, score=0.8) -> MatchTask:
    """The review task for a pair: the one ingest opened, or a new one."""
    from mdm.services.matching import score_goldens

    assert a.pk != b.pk, "the two records matched at ingest: use data a steward would have to review"
    task = MatchTask.objects.filter(entity_type=a.entity_type, golden_a__in=[a.pk, b.pk],
                                    golden_b__in=[a.pk, b.pk]).first()
    if task is not None:
        return task
    _, explanation = score_goldens(a.entity_type, a, b)
    return open_review_task(a.entity_type, a.pk, b.pk, score, explanation)


@pytest.fixture
def northwind(seeded, people):
    """Two golden customers for the same company (ERP and CRM) and their review task."""
    with audit_context(origin=Origin.IMPORT, reason="test data"):
        a = customer("erp", "C1", {"customer_name": "Northwind Traders Ltd", "vat_id": "GB980780684",
                                   "country_code": "GB", "city": "London", "currency": "GBP",
                                   "payment_terms": "NET30"})
        b = customer("crm", "001X", {"AccountName": "Northwind", "LegalName": "Northwind Limited",
                                     "Website": "northwind.example", "BillingCountry": "GB",
                                     "BillingCity": "London", "Industry": "Retail"})
        task = review_task(a, b)
    a.refresh_from_db()
    b.refresh_from_db()
    return {"a": a, "b": b, "task": task}


def _stem(i: int) -> str:
    """A company name unlike every other one (distinct first letters)."""
    letters = "".join(chr(ord("b") + (i // 20 ** k) % 20) for k in range(3))
    return f"{letters.capitalize()}ova{i}"


@pytest.fixture
def queue_of(seeded, people):
    """``queue_of(n)`` → n open review tasks over distinct pairs of customers."""

    def build(n: int) -> list[MatchTask]:
        tasks = []
        with audit_context(origin=Origin.IMPORT, reason="test data"):
            for i in range(n):
                stem = _stem(i)
                a = customer("erp", f"Q{i}A", {"customer_name": f"{stem} Holdings Ltd", "country_code": "GB",
                                              "city": "Leeds"})
                b = customer("crm", f"Q{i}B", {"AccountName": f"{stem} Holdings", "LegalName": f"{stem} Holdings",
                                              "BillingCountry": "GB", "BillingCity": "York"})
                if a.pk == b.pk:
                    continue
                tasks.append(review_task(a, b, score=0.6 + (i % 35) / 100))
        return tasks

    return build


@pytest.fixture
def client_for(people):
    def make(name: str) -> Client:
        c = Client()
        assert c.login(username=name, password=PASSWORD.format(name))
        return c

    return make


@pytest.fixture
def steward(client_for):
    return client_for("alice")


@pytest.fixture
def approver(client_for):
    return client_for("bob")


@pytest.fixture
def auditor(client_for):
    return client_for("carol")


@pytest.fixture
def admin_client_(client_for):
    return client_for("dave")
