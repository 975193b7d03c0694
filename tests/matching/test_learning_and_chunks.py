"""Learning from labels, and scoring in chunks (the Celery fan-out)."""

from __future__ import annotations

import json
import math

import numpy as np

from mdm.matching.chunks import make_chunks, merge_results, score_chunk
from mdm.matching.engine import Matcher
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


def _brand_and_full_name(name, sector, city):
    """A brand next to the company's full name, sharing the web domain: a
    pair the engine reviews (it might be a division of a group)."""
    brand = {"trading_name": name, "website": f"https://www.{name.lower()}.co.uk", "city": city, "country": "GB"}
    full = {"legal_name": f"{name} {sector} Ltd", "email": f"accounts@{name.lower()}.co.uk", "city": city,
            "country": "United Kingdom", "phone": "020 7946 0958"}
    return brand, full


BRANDS = [("Virmaara", "Diagnostics", "Newcastle"), ("Zentrova", "Analytics", "Leeds"), ("Quillon", "Foods", "London"),
          ("Harrowgate", "Logistics", "York"), ("Brightwell", "Media", "Bristol"), ("Corvane", "Labs", "Cambridge"),
          ("Lumara", "Energy", "Leeds"), ("Ostrel", "Health", "London")]


def test_stewards_decisions_teach_the_engine_to_decide_pairs_compared_alike(fitted):
    labels = [(*_brand_and_full_name(*b), True) for b in BRANDS[:6]]
    unseen = _brand_and_full_name(*BRANDS[7])
    assert fitted.decide(fitted.score(*unseen)[0]) == "review"
    learned = Matcher.from_dict(json.loads(json.dumps(learn(fitted.to_dict(), labels))))
    score, explanation = learned.score(*unseen)
    assert learned.decide(score) == "match"
    assert explanation[-1]["field"] == "(learned)" and explanation[-1]["weight"] > 0
    assert "6 of 6" in explanation[-1]["level"]
    assert math.isclose(sum(e["weight"] for e in explanation), learned.match_weight(*unseen), abs_tol=1e-9)


def test_one_label_moves_a_kind_of_pair_only_a_little(fitted):
    unseen = _brand_and_full_name(*BRANDS[7])
    learned = Matcher.from_dict(learn(fitted.to_dict(), [(*_brand_and_full_name(*BRANDS[0]), True)]))
    assert learned.decide(learned.score(*unseen)[0]) == "review"
    not_duplicates = [(*_brand_and_full_name(*b), False) for b in BRANDS[:6]]
    learned = Matcher.from_dict(learn(fitted.to_dict(), not_duplicates))
    assert learned.score(*unseen)[0] < fitted.score(*unseen)[0]


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
