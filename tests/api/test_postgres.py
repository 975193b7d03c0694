"""The list fast path on PostgreSQL (timestamps formatted by the database,
keyset pages on real indexes).  Run with MDM_INTEGRATION=1 and
DATABASE_URL=postgres://…; the rest of tests/api also runs there unchanged."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.conftest import require_service

pytestmark = pytest.mark.integration


@pytest.fixture
def postgres(db):
    require_service("PostgreSQL", connection.vendor == "postgresql",
                    "run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name>")


def test_list_rows_match_the_detail_on_postgresql(postgres, world, crm_client):
    rows = crm_client.get("/api/v1/customers/").json()["results"]
    assert rows
    for row in rows:
        detail = crm_client.get(row["url"]).json()
        assert row == {k: v for k, v in detail.items() if k not in {"xrefs", "lineage", "history_url"}}
        assert row["updated_at"].endswith("Z") and len(row["updated_at"]) == len("2026-01-01T00:00:00.000000Z")


def test_keyset_pages_on_postgresql_follow_updated_at(postgres, world, crm_client):
    url, stamps = "/api/v1/contracts/?page_size=1", []
    while url:
        body = crm_client.get(url).json()
        stamps += [r["updated_at"] for r in body["results"]]
        url = body["next"]
    assert stamps == sorted(stamps) and len(stamps) == 2


def test_the_compiled_reads_run_as_prepared_statements_on_postgresql(postgres, world, crm_client):
    """Planned once per connection (``mdm/compiled.py``); Django's own queries stay unprepared."""
    url = f"/api/v1/customers/{world['acme'].pk}/"
    assert crm_client.get(url).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('"knox_authtoken"' in sql for sql in prepared)
    assert any('"mdm_crossreference"' in sql for sql in prepared)
    assert crm_client.get(url).json()["id"] == str(world["acme"].pk)


def test_prepared_reads_are_logged_with_their_values(postgres, world, crm_client):
    from django.test.utils import CaptureQueriesContext

    pk = world["acme"].pk
    with CaptureQueriesContext(connection) as queries:
        assert crm_client.get(f"/api/v1/customers/{pk}/").status_code == 200
    sqls = [q["sql"] for q in queries.captured_queries]
    assert sqls and all(sqls)
    assert any(pk.hex in sql or str(pk) in sql for sql in sqls)


def test_load_test_customers_have_their_approved_history_row(postgres, seeded, ctx):
    """The load test's data is written with COPY; each customer gets the
    history row ingest and approval would leave, so a record changed during
    the run is listed at that approved version instead of dropping out."""
    from mdm.loadtest.dataset import ensure_customers
    from mdm.models import Customer

    assert ensure_customers(30, log=lambda *_: None) == 30
    history = Customer.history.model.objects
    assert history.filter(state="approved", history_type="+").count() == 30
    assert set(history.values_list("id", flat=True)) == set(Customer.objects.values_list("id", flat=True))
    ensure_customers(30, log=lambda *_: None)  # already there: nothing written twice
    assert history.count() == 30


def test_load_test_customers_pass_validation_so_their_edits_can_be_approved(postgres, seeded, ctx):
    from mdm.loadtest.dataset import ensure_customers
    from mdm.models import Customer
    from mdm.validation import validate

    ensure_customers(40, log=lambda *_: None)
    customers = list(Customer.objects.all())
    assert len({c.tax_id for c in customers}) == 40
    assert {c.pk: [i.message for i in validate(c)] for c in customers} == {c.pk: [] for c in customers}


def test_load_test_approves_the_edits_earlier_runs_left_and_only_valid_ones(postgres, seeded, ctx):
    from mdm.loadtest.dataset import approve_earlier_edits, company, crm_payload, ensure_customers
    from mdm.models import Customer
    from mdm.services.ingest import ingest_record

    ensure_customers(20, log=lambda *_: None)
    edited = ingest_record(system="crm", entity_type="customer", source_id="LT-3",
                           data={**crm_payload(company(3)), "BillingCity": "Leeds"})
    broken = ingest_record(system="crm", entity_type="customer", source_id="LT-4",
                           data={**crm_payload(company(4)), "VATNumber": "GB000000000"})
    assert Customer.objects.get(pk=edited.golden_id).state == "pending"
    assert approve_earlier_edits(log=lambda *_: None) == 1
    after = Customer.objects.get(pk=edited.golden_id)
    assert (after.state, after.city) == ("approved", "Leeds")
    assert after.history.first().history_change_reason.startswith("load test: edits of earlier runs approved")
    assert Customer.objects.get(pk=broken.golden_id).state == "pending"
