"""The one ingest path: idempotent upserts, mapping errors, history."""

from __future__ import annotations

import pytest

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import CrossReference, Customer, SourceRecord
from mdm.services.ingest import IngestError, ingest_record

ERP_ACME = {"customer_name": "Acme Consulting Limited", "vat_id": "GB980780684", "country_code": "GB",
            "currency": "GBP", "payment_terms": "NET30", "city": "London", "zip": "EC1A 1BB"}


def ingest(system, source_id, data, entity_type="customer"):
    return ingest_record(system=system, entity_type=entity_type, source_id=source_id, data=data)


def test_new_record_creates_source_record_xref_and_pending_golden(seeded, ctx):
    result = ingest("erp", "C100", ERP_ACME)
    assert result.outcome == "created" and result.decision == "new"
    golden = Customer.objects.get(pk=result.golden_id)
    assert golden.legal_name == "Acme Consulting Limited"
    assert golden.state == "pending" and golden.version == 1
    assert golden.lineage["legal_name"]["system"] == "erp"
    assert golden.lineage["legal_name"]["rule"] == "source_priority"
    xref = CrossReference.objects.get(system__code="erp", external_id="C100")
    assert str(xref.golden_id) == result.golden_id


def test_same_content_again_is_unchanged_and_writes_no_history(seeded, ctx):
    first = ingest("erp", "C100", ERP_ACME)
    before = (SourceRecord.history.count(), Customer.history.count(), CrossReference.history.count())
    again = ingest("erp", "C100", dict(ERP_ACME))
    assert again.outcome == "unchanged" and again.golden_id == first.golden_id
    assert (SourceRecord.history.count(), Customer.history.count(), CrossReference.history.count()) == before


def test_changed_content_updates_the_golden_and_raises_its_version(seeded, ctx):
    first = ingest("erp", "C100", ERP_ACME)
    updated = ingest("erp", "C100", {**ERP_ACME, "city": "Manchester"})
    assert updated.outcome == "updated" and updated.golden_id == first.golden_id
    golden = Customer.objects.get(pk=first.golden_id)
    assert golden.city == "Manchester" and golden.version == 2
    assert SourceRecord.objects.count() == 1


def test_mapping_errors_name_the_senders_field_and_write_nothing(seeded, ctx):
    with pytest.raises(IngestError) as exc:
        ingest("erp", "C101", {"customer_name": "Bad Data Ltd", "country_code": "XX", "currency": "EURO"})
    assert set(exc.value.errors) == {"country_code", "currency"}
    assert "ISO 3166" in exc.value.errors["country_code"][0]
    assert SourceRecord.objects.count() == 0 and Customer.objects.count() == 0


def test_a_record_without_any_name_is_refused(seeded, ctx):
    with pytest.raises(IngestError) as exc:
        ingest("erp", "C102", {"city": "Paris"})
    assert "customer_name" in exc.value.errors


def test_unknown_system_and_missing_source_id_are_field_errors(seeded, ctx):
    with pytest.raises(IngestError) as exc:
        ingest("nope", "1", ERP_ACME)
    assert "system" in exc.value.errors
    with pytest.raises(IngestError) as exc:
        ingest("erp", " ", ERP_ACME)
    assert "source_id" in exc.value.errors


def test_one_history_row_per_change_with_user_reason_and_origin(seeded, people):
    with audit_context(origin=Origin.API, reason="nightly push", user=people["alice"]) as c:
        result = ingest("erp", "C100", ERP_ACME)
    rows = Customer.history.filter(id=result.golden_id)
    assert rows.count() == 1
    row = rows.get()
    assert row.history_user == people["alice"]
    assert row.history_origin == "api"
    assert row.history_correlation_id == c.correlation_id
    assert "new golden from erp:C100" in row.history_change_reason
    sr_row = SourceRecord.history.get()
    assert sr_row.history_correlation_id == c.correlation_id and sr_row.history_origin == "api"


def test_writes_outside_an_audit_context_are_refused(seeded):
    with pytest.raises(RuntimeError, match="audit_context"):
        ingest("erp", "C100", ERP_ACME)


def test_a_second_system_with_the_same_tax_id_links_to_the_same_golden(seeded, ctx):
    first = ingest("erp", "C100", ERP_ACME)
    crm = ingest("crm", "001A", {"AccountName": "Acme", "VATNumber": "GB980780684", "BillingCountry": "GB",
                                 "Website": "https://www.acme.co.uk"})
    assert crm.golden_id == first.golden_id and crm.decision == "matched"
    golden = Customer.objects.get(pk=first.golden_id)
    assert golden.trading_name == "Acme" and golden.legal_name == "Acme Consulting Limited"
    assert golden.website == "acme.co.uk"
    assert golden.lineage["trading_name"]["system"] == "crm"
    assert golden.lineage["tax_id"]["system"] == "erp"


def test_source_record_key_is_unique(seeded, ctx):
    from django.db import IntegrityError, transaction

    ingest("erp", "C100", ERP_ACME)
    with pytest.raises(IntegrityError), transaction.atomic():
        SourceRecord.objects.create(system=seeded["erp"], entity_type="customer", source_id="C100", payload={},
                                    content_hash="x")
