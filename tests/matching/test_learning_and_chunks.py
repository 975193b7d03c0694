"""Learning from labels, and scoring in chunks (the Celery fan-out)."""

from __future__ import annotations

import json

import numpy as np

from mdm.matching.chunks import make_chunks, merge_results, score_chunk
from mdm.matching.learning import evaluate, learn


def _labelled(customers, deduped, limit=200):
    rows = []
    for k in range(min(limit, len(deduped.ia))):
        a, b = customers[int(deduped.ia[k])], customers[int(deduped.ib[k])]
        rows.append((a, b, a["truth_id"] == b["truth_id"]))
    return rows


def test_learning_from_labels_reports_precision_and_recall_before_and_after(fitted, customers, deduped):
    labels = _labelled(customers, deduped)
    before = fitted.to_dict()
    after = learn(before, labels[::2])
    json.dumps(after)  # persisted as JSON
    report = evaluate(before, after, labels[1::2])
    assert set(report) == {"before", "after"}
    for side in report.values():
        assert {"precision", "recall", "f1"} <= set(side)
    assert report["after"]["f1"] >= report["before"]["f1"] - 0.02


def test_learning_moves_m_towards_the_labelled_matches(fitted, customers, deduped):
    labels = [p for p in _labelled(customers, deduped, 400) if p[2]]
    after = learn(fitted.to_dict(), labels, prior_strength=5)
    name = next(c for c in after["model"]["comparisons"] if c["name"] == "tax_id")
    before = next(c for c in fitted.to_dict()["model"]["comparisons"] if c["name"] == "tax_id")
    assert name["m"] != before["m"]


def test_chunks_score_like_the_whole_batch(fitted, customers, deduped):
    table = fitted.table(customers)
    ids = [r["id"] for r in customers]
    params = json.loads(json.dumps(fitted.to_dict()))
    chunks = list(make_chunks(table, ids, deduped.ia, deduped.ib, size=97))
    assert len(chunks) > 1
    merged = merge_results([score_chunk(params, json.loads(json.dumps(c)), keep_below_review=True)
                            for c in chunks])
    direct = fitted.score_table(table, deduped.ia, deduped.ib)
    assert len(merged["score"]) == len(direct)
    assert np.allclose(merged["score"], direct, atol=1e-5)


def test_the_celery_task_wraps_the_chunk_scorer(fitted, customers, deduped):
    from mdm.matching import tasks

    table = fitted.table(customers[:50])
    ia, ib = np.array([0, 1]), np.array([1, 2])
    chunk = next(make_chunks(table, [r["id"] for r in customers[:50]], ia, ib))
    assert tasks.score_chunk.name == "mdm.matching.score_chunk"
    result = tasks.score_chunk.run(fitted.to_dict(), chunk)
    assert set(result) == {"id_a", "id_b", "score", "decision"}
