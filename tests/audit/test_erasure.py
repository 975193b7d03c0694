"""Erasing a person's data: the values leave current records and history,
the erasure is recorded without them, and the chain still verifies."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from mdm import audit_chain
from mdm.models import AuditEntry, AuditErasure, Customer, SourceRecord
from mdm.services.erasure import ErasureError, Person
from tests.audit.conftest import ERP_NORTHWIND, ingest, verify_ok

EMAIL, PHONE, NAME = "jane.doe@northwind.example", "+44 20 7946 0018", "Jane Doe"


def everything_as_text() -> str:
    """Every row of the hub's own tables — records, history rows, outbox, audit chain — as text."""
    from django.apps import apps

    chunks = []
    for model in apps.get_models():
        if model._meta.app_label in {"mdm", "sync", "stewardship"}:
            chunks += [json.dumps(v, default=str) for v in model.objects.values()]
    return "\n".join(chunks).lower()


@pytest.fixture
def jane(two_customers):
    a, b = two_customers
    ingest("erp", "C1", {**ERP_NORTHWIND, "city": "Leeds"})  # a second version with her details
    audit_chain.seal_pending()
    text = everything_as_text()
    assert EMAIL in text and "7946 0018" in text and NAME.lower() in text
    return a, b


def test_erase_person_removes_the_values_everywhere_and_verify_still_passes(jane, people, capsys):
    a, b = jane
    call_command("erase_person", "--email", EMAIL.upper(), "--phone", "+442079460018", "--name", NAME,
                 "--reason", "GDPR art. 17 request", "--reference", "DPO-14", "--by", "dave")
    out = capsys.readouterr().out
    assert "recorded and sealed" in out and "mdm.customer.email" in out
    text = everything_as_text()
    assert EMAIL not in text and "7946 0018" not in text and "79460018" not in text and NAME.lower() not in text
    a.refresh_from_db(), b.refresh_from_db()
    assert a.email == "" and a.phone == "" and b.account_owner == ""
    assert a.city == "Leeds" and a.tax_id == "GB980780684"  # nothing else touched
    sr = SourceRecord.objects.get(source_id="C1")
    assert sr.payload["email"] == "[erased]" and sr.erased_at is not None
    assert Customer.history.filter(id=a.pk, email="[erased]").exists()
    erasure = AuditErasure.objects.get()
    assert erasure.actor == "dave" and erasure.reason == "GDPR art. 17 request" and erasure.reference == "DPO-14"
    assert erasure.items and all(set(i) == {"model", "history_id", "fields", "row_hash", "nonce"} for i in erasure.items)
    assert AuditEntry.objects.filter(model="mdm.auditerasure", history_id=erasure.pk, history_type="E").exists()
    # the old seals of the scrubbed rows can no longer confirm a guessed value
    for item in erasure.items:
        assert AuditEntry.objects.get(model=item["model"], history_id=item["history_id"]).nonce == ""
    report = verify_ok()
    assert report.erased_rows == len(erasure.items)
    call_command("verify_audit", "--max-unsealed-minutes", "0")


def test_after_an_erasure_tampering_is_still_caught(jane, people):
    a, _ = jane
    call_command("erase_person", "--email", EMAIL, "--reason", "request", "--by", "dave")
    item = next(i for i in AuditErasure.objects.get().items if i["model"] == "mdm.customer")
    table = Customer.history.model._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET email = 'back@again.example' WHERE history_id = %s", [item["history_id"]])
    report = audit_chain.verify()
    assert report.first.kind == "altered" and report.first.history_id == item["history_id"]


def test_a_forged_erasure_record_is_caught(jane, people):
    call_command("erase_person", "--email", EMAIL, "--reason", "request", "--by", "dave")
    erasure = AuditErasure.objects.get()
    AuditErasure.objects.filter(pk=erasure.pk).update(reason="nobody asked")
    report = audit_chain.verify()
    assert report.first.kind == "altered" and report.first.model == "mdm.auditerasure"


def test_dry_run_changes_nothing(jane, capsys):
    before = everything_as_text()
    call_command("erase_person", "--email", EMAIL, "--reason", "check", "--dry-run")
    assert "would erase in current records: mdm.customer.email" in capsys.readouterr().out
    assert everything_as_text() == before and not AuditErasure.objects.exists()


def test_vague_requests_are_refused(jane):
    with pytest.raises(ErasureError):
        Person(names=["Jo"])
    with pytest.raises(ErasureError):
        Person(phones=["123"])
    with pytest.raises(CommandError):
        call_command("erase_person", "--reason", "x")
    with pytest.raises(CommandError):
        call_command("erase_person", "--email", EMAIL, "--reason", "  ")
