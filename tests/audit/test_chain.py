"""Tamper evidence: every history row is sealed into one chain, and
``verify_audit`` names the first row altered or removed behind the hub's back."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.db import connection
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from mdm import audit_chain
from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import AuditEntry, AuditPending, Customer, MatchTask
from tests.audit.conftest import ERP_NORTHWIND, ingest, verify_ok


def run_verify(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        call_command("verify_audit", "--max-unsealed-minutes", "0", *args)
    out = capsys.readouterr()
    return exc.value.code, out.out + out.err


def history_table(model) -> str:
    return model.history.model._meta.db_table


def test_every_history_row_of_every_table_is_sealed_once_and_verifies(two_customers):
    for label, hm in audit_chain.history_models().items():
        hids = set(hm.objects.values_list("history_id", flat=True))
        assert hids == set(AuditEntry.objects.filter(model=label).values_list("history_id", flat=True)), label
    assert not AuditPending.objects.exists()
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    report = verify_ok()
    assert report.checked == len(seqs)


def test_verify_audit_command_passes_and_prints_the_head(two_customers, capsys):
    call_command("verify_audit", "--max-unsealed-minutes", "0")
    out = capsys.readouterr().out
    head = AuditEntry.objects.order_by("-seq").first()
    assert "OK" in out and f"chain head: {head.seq}:{head.chain_hash}" in out


def test_a_history_row_changed_with_raw_sql_fails_verify_and_is_named(two_customers, capsys):
    a, _ = two_customers
    row = Customer.history.filter(id=a.pk).order_by("history_id").first()
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {history_table(Customer)} SET tax_id = %s WHERE history_id = %s",
                    ["GB000000000", row.history_id])
    code, out = run_verify(capsys)
    entry = AuditEntry.objects.get(model="mdm.customer", history_id=row.history_id)
    assert code == 1
    assert f"ALTERED: entry #{entry.seq} mdm.customer history row {row.history_id}" in out
    assert "first problem" in out and str(a.pk) in out


def test_a_deleted_history_row_is_named(two_customers, capsys):
    a, _ = two_customers
    row = Customer.history.filter(id=a.pk).order_by("history_id").first()
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {history_table(Customer)} WHERE history_id = %s", [row.history_id])
    code, out = run_verify(capsys)
    assert code == 1
    assert f"REMOVED: entry #" in out and f"mdm.customer history row {row.history_id}" in out and "deleted" in out


def test_the_first_of_several_tampered_rows_is_reported_first(two_customers):
    rows = list(Customer.history.order_by("history_id"))
    with connection.cursor() as cur:
        for r in rows[:2]:
            cur.execute(f"UPDATE {history_table(Customer)} SET city = 'Paris' WHERE history_id = %s", [r.history_id])
    report = audit_chain.verify()
    first_seq = AuditEntry.objects.get(model="mdm.customer", history_id=rows[0].history_id).seq
    assert report.first.seq == first_seq and report.first.kind == "altered"
    assert len([p for p in report.problems if p.kind == "altered"]) == 2


def test_editing_a_seal_or_deleting_one_breaks_the_chain(two_customers):
    entries = list(AuditEntry.objects.order_by("seq")[:6])
    AuditEntry.objects.filter(seq=entries[2].seq).update(actor="someone-else")
    report = audit_chain.verify()
    assert report.first.kind == "chain" and report.first.seq == entries[2].seq
    AuditEntry.objects.filter(seq=entries[2].seq).update(actor=entries[2].actor)
    assert audit_chain.verify().ok
    AuditEntry.objects.filter(seq=entries[4].seq).delete()
    report = audit_chain.verify(max_unsealed_age=dt.timedelta(0))
    assert {p.kind for p in report.problems} >= {"gap", "unsealed"}
    assert any(p.kind == "gap" and p.seq == entries[5].seq for p in report.problems)


def test_a_recorded_head_catches_entries_cut_off_the_end(two_customers):
    head = AuditEntry.objects.order_by("-seq").first()
    assert audit_chain.verify(expect_head=(head.seq, head.chain_hash)).ok
    AuditEntry.objects.filter(seq=head.seq).delete()
    report = audit_chain.verify(expect_head=(head.seq, head.chain_hash), max_unsealed_age=dt.timedelta(days=1))
    assert not report.ok and report.first.kind == "gap" and "tail" in report.first.message


def test_rows_written_behind_the_hubs_back_are_reported_unsealed(two_customers):
    a, _ = two_customers
    hm = Customer.history.model
    row = hm.objects.filter(id=a.pk).order_by("history_id").first()
    row.pk = None
    row.history_id = None
    row.legal_name = "Forged Ltd"
    hm.objects.bulk_create([row])  # a raw insert: no signal, no queue
    AuditPending.objects.all().delete()
    report = audit_chain.verify(max_unsealed_age=dt.timedelta(0))
    assert not report.ok and report.first.kind == "unsealed" and report.first.model == "mdm.customer"
    assert audit_chain.verify(max_unsealed_age=dt.timedelta(hours=1)).ok  # young rows get time to be sealed


def test_bulk_history_helpers_are_sealed_too(two_customers):
    a, b = two_customers
    with audit_context(origin=Origin.MATCH, reason="bulk test"):
        tasks = bulk_create_with_history(
            [MatchTask(entity_type="customer", golden_a=a.pk, golden_b=b.pk, score=0.7)], MatchTask)
        tasks = list(MatchTask.objects.all())
        for t in tasks:
            t.score = 0.75
        bulk_update_with_history(tasks, MatchTask, ["score"])
    assert AuditPending.objects.filter(model="mdm.matchtask").count() == 2
    audit_chain.seal_pending()
    entries = list(AuditEntry.objects.filter(model="mdm.matchtask").order_by("seq"))
    assert [e.history_type for e in entries] == ["+", "~"] and entries[1].changed_fields == ["score"]
    verify_ok()


def test_append_queues_rows_written_without_signals_exactly_once(two_customers):
    a, _ = two_customers
    hm = Customer.history.model
    row = hm.objects.filter(id=a.pk).order_by("history_id").first()
    row.pk = row.history_id = None
    hm.objects.bulk_create([row])
    AuditPending.objects.all().delete()
    assert audit_chain.append(Customer, [a]) == 1
    assert audit_chain.append(Customer, [a]) == 0
    audit_chain.seal_pending()
    verify_ok()


@pytest.mark.django_db(transaction=True)
def test_rows_are_sealed_right_after_commit(seeded, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # no broker: the writer's process seals (a worker would otherwise)
    ingest("erp", "C9", ERP_NORTHWIND)
    assert not AuditPending.objects.exists()
    assert AuditEntry.objects.filter(model="mdm.customer").count() == 1
    assert audit_chain.verify(seal=False, max_unsealed_age=dt.timedelta(0)).ok


def test_changed_fields_name_what_changed(two_customers):
    a, _ = two_customers
    ingest("erp", "C1", {**ERP_NORTHWIND, "vat_id": "GB123456782"})
    audit_chain.seal_pending()
    last = AuditEntry.objects.filter(model="mdm.customer", object_id=str(a.pk)).order_by("-seq").first()
    assert "tax_id" in last.changed_fields and "legal_name" not in last.changed_fields


def test_every_kind_of_record_the_issue_names_has_chained_history():
    required = {"mdm.customer", "mdm.legalentity", "mdm.contract", "mdm.project", "mdm.sourcerecord",
                "mdm.crossreference", "mdm.survivorshiprule", "mdm.manualoverride", "sync.subscription",
                "mdm.mergeevent", "mdm.notduplicate", "mdm.matchtask", "mdm.serviceaccount", "mdm.fieldmapping",
                "mdm.sourcesystem"}
    assert required <= set(audit_chain.history_models())


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_bulk_writes_are_left_to_the_sweep_and_small_ones_sealed_at_once(seeded, settings):
    from django.db import transaction

    settings.CELERY_TASK_ALWAYS_EAGER = True  # the one-machine setup, whatever broker this run has
    audit_chain.seal_pending()  # start with nothing queued
    with audit_context(origin=Origin.MATCH, reason="bulk"), transaction.atomic():
        a = ingest("erp", "C9", ERP_NORTHWIND)
        bulk_create_with_history(
            [MatchTask(entity_type="customer", golden_a=a.pk, golden_b=uuid.uuid4(), score=0.6)
             for _ in range(audit_chain.INLINE_SEAL_MAX + 1)], MatchTask)
    assert AuditPending.objects.count() > audit_chain.INLINE_SEAL_MAX  # an import is not slowed by sealing
    ingest("crm", "001X", {"AccountName": "Contoso"})  # a small action afterwards seals a batch
    assert AuditPending.objects.count() == 0
    assert audit_chain.verify(seal=False, max_unsealed_age=dt.timedelta(0)).ok


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_write_goes_through_at_once_and_leaves_sealing_to_the_sweep(
        seeded, settings, monkeypatch, caplog):
    """With a broker, sealing is handed to a worker after the commit, once and
    without publish retries; if the broker is down the write still succeeds,
    a warning says so, and the sweep seals the rows later."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    calls = []

    def broker_down(*args, **kwargs):
        calls.append(kwargs)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(audit_chain.seal_pending_task, "apply_async", broker_down)
    with caplog.at_level("WARNING", logger="mdm.audit_chain"):
        ingest("erp", "C9", ERP_NORTHWIND)
    assert Customer.objects.count() == 1
    assert [c.get("retry") for c in calls] == [False]
    assert "the periodic sweep will seal" in caplog.text and "Traceback" not in caplog.text
    assert AuditPending.objects.exists()
    audit_chain.seal_pending()
    assert audit_chain.verify(seal=False, max_unsealed_age=dt.timedelta(0)).ok


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_commits_of_one_window_are_sealed_in_one_pass(seeded, settings, monkeypatch):
    """Sealing has a fixed cost per pass (a few queries per history table):
    with a seal delay, the writes of that window share one pass, run by a
    thread of the writer's process once the window closes."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.MDM_AUDIT_SEAL_DELAY = 1.0
    monkeypatch.setattr(audit_chain, "_coalescer", audit_chain._Coalescer())
    passes = []
    real = audit_chain.seal_pending

    def counting(**kwargs):
        passes.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(audit_chain, "seal_pending", counting)
    ingest("erp", "C9", ERP_NORTHWIND)
    ingest("crm", "001X", {"AccountName": "Contoso"})
    ingest("crm", "001Y", {"AccountName": "Fabrikam"})
    assert AuditPending.objects.exists() and not passes  # nothing sealed inside the window
    timer = audit_chain._coalescer._timer
    assert timer is not None
    timer.join(10)
    assert len(passes) == 1
    assert not AuditPending.objects.exists()
    assert audit_chain.verify(seal=False, max_unsealed_age=dt.timedelta(0)).ok
    ingest("crm", "001Z", {"AccountName": "Tailspin"})  # a write after the pass asks for a pass of its own
    audit_chain._coalescer._timer.join(10)
    assert len(passes) == 2 and not AuditPending.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_the_commits_of_one_window_hand_off_one_delayed_pass(seeded, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.MDM_AUDIT_SEAL_DELAY = 60.0  # the whole test falls in one window
    monkeypatch.setattr(audit_chain, "_coalescer", audit_chain._Coalescer())
    calls = []
    monkeypatch.setattr(audit_chain.seal_pending_task, "apply_async", lambda *a, **kw: calls.append(kw))
    ingest("erp", "C9", ERP_NORTHWIND)
    ingest("crm", "001X", {"AccountName": "Contoso"})
    ingest("crm", "001Y", {"AccountName": "Fabrikam"})
    assert len(calls) == 1
    assert calls[0]["countdown"] == 60.0 and calls[0]["retry"] is False
