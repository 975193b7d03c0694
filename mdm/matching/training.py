"""Unsupervised estimation of a ``Model`` (see ``mdm.matching.model``) and the
engine's choice of thresholds when a spec gives none."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mdm.matching.blocking import Candidates
from mdm.matching.comparisons import Comparison
from mdm.matching.model import (
    DEFAULT_CONFLICT_WEIGHT, ComparisonParams, Model, TermFrequencies, em_lambda, em_m, estimate_u,
    initial_m,
)
from mdm.matching.table import Table

if TYPE_CHECKING:
    from mdm.matching.engine import Levels, Matcher

MAX_SESSION_PAIRS = 2_000_000
MIN_SESSION_PAIRS = 30


def random_pairs(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``size`` distinct random pairs (all pairs when there are fewer)."""
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if n * (n - 1) // 2 <= size:
        a, b = np.triu_indices(n, 1)
        return a.astype(np.int64), b.astype(np.int64)
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, size), rng.integers(0, n, size)
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    code = np.unique(lo * n + hi)
    return code // n, code % n


def _sample(idx: np.ndarray, limit: int, seed: int) -> np.ndarray:
    if len(idx) <= limit:
        return idx
    return np.random.default_rng(seed).choice(idx, limit, replace=False)


def conflict_weight(comparison: Comparison) -> float | None:
    if comparison.conflict_level is None:
        return None
    key = "country" if comparison.field.is_country else comparison.field.type
    return DEFAULT_CONFLICT_WEIGHT.get(key)


def estimate_m(matcher: "Matcher", candidates: Candidates, lv: "Levels", u: list[np.ndarray],
               seed: int = 0) -> list[np.ndarray]:
    """EM per blocking rule (Splink's training sessions), m averaged over the
    sessions that estimated it, weighted by each session's expected matches."""
    comps = matcher.comparisons
    n_levels = [len(c.labels) for c in comps]
    m0 = [initial_m(n, c.conflict_level) for n, c in zip(n_levels, comps)]
    total = [np.zeros(n) for n in n_levels]
    weight = np.zeros(len(comps))
    for rule in matcher.rules:
        idx = candidates.by_rule.get(rule.kind, np.zeros(0, np.int64))
        if len(idx) < MIN_SESSION_PAIRS:
            continue
        active = [k for k, c in enumerate(comps) if not set(c.field.columns) & set(rule.columns)]
        if not active:
            continue
        idx = _sample(idx, MAX_SESSION_PAIRS, seed)
        m, _, expected = em_m(lv.G[idx], n_levels, u, m0, active)
        for k in active:
            total[k] += m[k] * expected
            weight[k] += expected
    return [total[k] / weight[k] if weight[k] > 0 else m0[k] for k in range(len(comps))]


def term_frequencies(table: Table, comparison: Comparison) -> TermFrequencies:
    """How often each value occurs (once per record) across the comparison's columns."""
    columns = list(dict.fromkeys(ca for ca, _ in comparison.combos))
    codes = [table.codes(c) for c in columns]
    vocab = table.vocabulary(columns[0])
    counts = np.zeros(len(vocab) + 1, dtype=np.int64)
    for k, c in enumerate(codes):
        fresh = np.ones(len(c), dtype=bool)
        for prev in codes[:k]:
            fresh &= c != prev
        counts += np.bincount(c[fresh], minlength=len(counts))[:len(counts)]
    counts[0] = 0
    values = list(vocab)
    return TermFrequencies({values[i]: int(counts[i]) for i in np.flatnonzero(counts)}, int(counts.sum()))


def estimate_model(matcher: "Matcher", table: Table, candidates: Candidates, lv: "Levels",
                   seed: int = 0, random_pairs: int = 1_000_000) -> Model:
    comps = matcher.comparisons
    n_levels = [len(c.labels) for c in comps]
    ra, rb = _random(table.n, random_pairs, seed)
    rand = matcher.chunked_levels(table, ra, rb)
    u = [estimate_u(rand.G[:, k], n) for k, n in enumerate(n_levels)]
    m = estimate_m(matcher, candidates, lv, u, seed)
    params = [ComparisonParams(c.name, list(c.labels), m[k], u[k], c.uses_tf, c.conflict_level,
                               conflict_weight(c)) for k, c in enumerate(comps)]
    tables = [p.weights() for p in params]
    sample = _sample(np.arange(len(candidates)), 5_000_000, seed)
    lam_candidates = em_lambda(lv.G[sample], n_levels, tables) if len(sample) else 1e-6
    all_pairs = max(table.n * (table.n - 1) / 2, 1)
    prior = float(np.clip(lam_candidates * len(candidates) / all_pairs, 1e-12, 0.5))
    tf = {c.name: term_frequencies(table, c) for c in comps if c.uses_tf}
    return Model(params, prior, tf)


def _random(n: int, size: int, seed: int):
    return random_pairs(n, size, seed)


def choose_thresholds(scores: np.ndarray, review_recall: float = 0.998) -> dict[str, float]:
    """Thresholds from the model's own probabilities: *match* where the
    expected F1 of the match decisions is highest, *review* low enough that
    the expected matches left below it are under 0.2 % of all."""
    p = np.sort(np.asarray(scores, dtype=float))[::-1]
    if len(p) == 0 or p.sum() <= 0:
        return {"match": 0.9, "review": 0.3}
    tp = np.cumsum(p)
    k = np.arange(1, len(p) + 1)
    f1 = 2 * tp / (k + p.sum())
    best = int(np.argmax(f1))
    match = float(np.clip(p[best], 0.5, 0.99))
    below = np.searchsorted(tp, review_recall * p.sum())
    review = float(np.clip(p[min(below, len(p) - 1)], 0.01, match))
    return {"match": round(match, 4), "review": round(review, 4)}
