"""The set-based write path of a chunk: every row and its history row written
(COPY on PostgreSQL), queued for the audit chain, duplicates inside one chunk
linked, review proposals deduplicated and not-duplicate pairs respected."""

from __future__ import annotations

import uuid

from mdm.audit import audit_context
from mdm.bulkwrite import COPY_MIN_ROWS, update_with_history
from mdm.choices import Origin, TaskStatus
from mdm.models import AuditEntry, AuditPending, CrossReference, Customer, MatchTask, NotDuplicate, SourceRecord
from mdm.services.ingest import ingest_many, open_review_tasks

N = COPY_MIN_ROWS + 5  # large enough for the bulk (COPY) path


def erp_customer(i: int, vat: str | None = None) -> dict:
    return {"customer_name": f"Zephyrine Quillbrook {i:03d} Limited", "country_code": "GB", "currency": "GBP",
            "payment_terms": "NET30", "city": "London", "zip": f"EC{i % 9 + 1}A 1BB",
            **({"vat_id": vat} if vat else {})}


def test_a_large_chunk_writes_every_row_with_one_queued_history_row_each(seeded):
    with audit_context(origin=Origin.IMPORT, reason="nightly load") as ctx:
        results = ingest_many(system="erp", entity_type="customer",
                              items=[(f"B{i}", erp_customer(i)) for i in range(N)])
    assert all(r.outcome == "created" for r in results)
    srs = SourceRecord.objects.filter(system__code="erp", source_id__startswith="B")
    assert srs.count() == N
    golden_ids = {r.golden_id for r in results}
    assert Customer.objects.filter(pk__in=golden_ids).count() == len(golden_ids)
    assert CrossReference.objects.filter(system__code="erp", external_id__startswith="B").count() == N
    for model, rows in ((SourceRecord, srs), (Customer, Customer.objects.filter(pk__in=golden_ids))):
        history = model.history.filter(**{f"{model._meta.pk.attname}__in": [o.pk for o in rows]})
        assert history.count() == rows.count()
        assert {h.history_origin for h in history} == {Origin.IMPORT}
        assert {h.history_correlation_id for h in history} == {ctx.correlation_id}
        assert all(h.history_change_reason.startswith("nightly load") for h in history)
        label = model._meta.label_lower
        queued = set(AuditPending.objects.filter(model=label).values_list("history_id", flat=True))
        sealed = set(AuditEntry.objects.filter(model=label).values_list("history_id", flat=True))
        assert {h.history_id for h in history} <= queued | sealed


def test_records_of_one_company_in_the_same_chunk_share_one_golden(seeded):
    items = [(f"D{i}", erp_customer(i)) for i in range(N)]
    items.insert(3, ("D-dup", {**erp_customer(0), "zip": "EC1A 1BB"}))
    with audit_context(origin=Origin.IMPORT, reason="load with a duplicate"):
        results = ingest_many(system="erp", entity_type="customer", items=items)
    by_id = {r.source_id: r for r in results}
    assert by_id["D-dup"].golden_id == by_id["D0"].golden_id
    assert by_id["D-dup"].decision == "matched"
    assert len({r.golden_id for r in results}) == N


def test_review_proposals_are_queued_once_and_never_for_a_not_duplicate_pair(seeded, ctx):
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    lo, hi = sorted([str(a), str(c)])
    NotDuplicate.objects.create(entity_type="customer", golden_a=lo, golden_b=hi, reason="different firms")
    closed_lo, closed_hi = sorted([str(a), str(d)])
    MatchTask.objects.create(entity_type="customer", golden_a=closed_lo, golden_b=closed_hi, score=0.6,
                             status=TaskStatus.CLOSED)
    out = open_review_tasks("customer", [(1, a, b, 0.6, []), (2, b, a, 0.61, []), (3, a, c, 0.7, []),
                                         (4, a, d, 0.65, [])])
    task = MatchTask.objects.get(entity_type="customer", golden_a=min(str(a), str(b)), golden_b=max(str(a), str(b)))
    assert out == {1: [task.pk], 2: [task.pk]}
    assert task.score == 0.6 and task.status == TaskStatus.OPEN
    assert task.history.count() == 1
    assert not MatchTask.objects.filter(golden_a=lo, golden_b=hi).exists()


def test_bulk_update_writes_every_value_and_an_update_history_row(seeded, ctx):
    with audit_context(origin=Origin.IMPORT, reason="load"):
        ingest_many(system="erp", entity_type="customer", items=[(f"U{i}", erp_customer(i)) for i in range(N)])
    goldens = list(Customer.objects.filter(
        pk__in=CrossReference.objects.filter(external_id__startswith="U").values("golden_id")))
    for g in goldens:
        g.industry = f"industry of {g.legal_name}"
        g._change_reason = "classified"
    update_with_history(goldens, Customer, ["industry"])
    for g in Customer.objects.filter(pk__in=[g.pk for g in goldens]):
        assert g.industry == f"industry of {g.legal_name}"
        latest = g.history.first()
        assert latest.history_type == "~" and latest.history_change_reason == "classified"
        assert latest.industry == g.industry


def test_short_lists_rank_goldens_by_shared_keys_and_leave_out_blocks_over_the_cap(db):
    from mdm.models import BlockingKey
    from mdm.services.matching import _shortlists_from_blocks, shortlists

    g = [uuid.UUID(int=i + 1) for i in range(8)]
    rows = [(g[0], "tax:A"), (g[0], "nm:x"), (g[1], "nm:x"), (g[2], "nm:x"), (g[1], "pc:1"),
            (g[3], "tax:B")] + [(gid, "nt:common") for gid in g]
    BlockingKey.objects.bulk_create(BlockingKey(entity_type="customer", golden_id=gid, key=k) for gid, k in rows)
    asked = [["tax:A", "nm:x", "pc:1", "nt:common"], ["nt:common"], ["tax:B", "nothing"], []]
    got = shortlists("customer", asked, limit=2, cap=5)
    assert got == [[g[0], g[1]], [], [g[3]], []]  # 2 keys each, tie by id; "nt:common" (8 > 5) is no block
    assert got == _shortlists_from_blocks("customer", asked, limit=2, cap=5)


def test_a_rebuilt_golden_keeps_its_unchanged_blocking_keys_and_gets_the_new_ones(seeded):
    from mdm.models import BlockingKey

    items = [(f"K{i}", erp_customer(i)) for i in range(N)]
    with audit_context(origin=Origin.IMPORT, reason="load"):
        first = ingest_many(system="erp", entity_type="customer", items=items)
    gid = first[0].golden_id
    before = dict(BlockingKey.objects.filter(golden_id=gid).values_list("key", "pk"))
    changed = [(sid, {**data, "vat_id": "GB980780684"}) if sid == "K0" else (sid, data) for sid, data in items]
    with audit_context(origin=Origin.IMPORT, reason="load again"):
        again = ingest_many(system="erp", entity_type="customer", items=changed)
    assert again[0].outcome == "updated" and {r.outcome for r in again[1:]} == {"unchanged"}
    after = dict(BlockingKey.objects.filter(golden_id=gid).values_list("key", "pk"))
    assert "tax:GB980780684" in after and set(before) < set(after)
    assert all(after[k] == pk for k, pk in before.items())  # the rows that stayed were not rewritten


def test_bulk_written_json_reads_back_as_the_orm_would_store_it(seeded):
    import json

    from mdm.bulkwrite import insert
    from mdm.models import SourceSystem

    erp = SourceSystem.objects.get(code="erp")
    payloads = [
        {"name": "Zürich Ærø “Quoted” \u2028 \\ / \t", "n": 7, "f": 0.1, "none": None, "flag": True},
        {"nested": {"list": [1, "two", {"3": [None]}]}, 5: "integer key"},
        {"big": 2 ** 70, "neg": -(2 ** 64)},  # beyond 64 bits: not every encoder takes them
    ] * (COPY_MIN_ROWS // 3 + 1)  # enough rows for COPY on PostgreSQL
    records = [SourceRecord(system=erp, entity_type="customer", source_id=f"J{i}", payload=p, canonical={},
                            content_hash=str(i)) for i, p in enumerate(payloads)]
    insert(SourceRecord, records)
    stored = dict(SourceRecord.objects.filter(source_id__startswith="J").values_list("source_id", "payload"))
    assert stored == {f"J{i}": json.loads(json.dumps(p)) for i, p in enumerate(payloads)}
