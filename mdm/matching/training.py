"""Unsupervised estimation of a ``Model`` (see ``mdm.matching.model``) and the
engine's choice of thresholds when a spec gives none."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mdm.matching.blocking import Candidates
from mdm.matching.comparisons import Comparison
from mdm.matching.model import (
    CONFLICT_M, DEFAULT_CONFLICT_WEIGHT, ComparisonParams, Model, TermFrequencies, em_lambda, em_m, estimate_u,
    initial_m, level_counts, m_step,
)
from mdm.matching.table import Table

if TYPE_CHECKING:
    from mdm.matching.engine import Levels, Matcher

MAX_SESSION_PAIRS = 2_000_000
MIN_SESSION_PAIRS = 30


def random_pairs_sample(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
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
    return DEFAULT_CONFLICT_WEIGHT.get(comparison.conflict_key) if comparison.conflict_key else None


def fixed_levels(comparisons: list[Comparison]) -> dict[int, dict[int, float]]:
    """Conflict levels keep a fixed m during EM (see ``model.CONFLICT_M``)."""
    out = {}
    for k, c in enumerate(comparisons):
        value = CONFLICT_M.get(c.conflict_key) if c.conflict_key else None
        if value is not None:
            out[k] = {c.conflict_level: value}
    return out


MIN_ANCHOR_MATCHES = 50.0


def _is_anchor(rule, matcher: "Matcher") -> bool:
    """A rule on one identifier column (tax id, registration number, ...):
    its pairs are nearly all true matches, so its session estimates m from
    real duplicates rather than from look-alikes such as group members."""
    return len(rule.columns) == 1 and rule.columns[0] in (matcher.identifiers or ())


def corroborated(comparisons: list[Comparison], G: np.ndarray, active: list[int]) -> np.ndarray:
    """Pairs on which some active comparison agrees, at least weakly (see
    ``Comparison.corroborating_levels``).

    Two records sharing an identifier and nothing else are a number reused or
    mistyped — US employer ids and German register numbers (per court) repeat
    across a million companies — not a duplicate; left in an identifier's EM
    session they would be taken for duplicates (the session's prior is near
    one) and teach that duplicates disagree: among a million generated
    companies they made "names differ" nearly neutral (-0.8 bits, -6.8 among
    100,000).  Duplicates that share an identifier and nothing else are too
    few to matter."""
    ok = np.zeros(len(G), dtype=bool)
    for k in active:
        levels = comparisons[k].corroborating_levels
        if levels:
            ok |= np.isin(G[:, k], levels)
    return ok


def _sessions(matcher: "Matcher", candidates: Candidates, lv: "Levels", u, m0, fixed, seed):
    """(is_anchor, active comparisons, m, expected matches per comparison) per EM session."""
    comps = matcher.comparisons
    n_levels = [len(c.labels) for c in comps]
    for rule in matcher.rules:
        idx = candidates.by_rule.get(rule.kind, np.zeros(0, np.int64))
        active = [k for k, c in enumerate(comps) if not set(c.columns) & set(rule.columns)]
        anchor = _is_anchor(rule, matcher)
        if anchor and len(idx):
            idx = idx[corroborated(comps, lv.G[idx], active)]
        if len(idx) < MIN_SESSION_PAIRS or not active:
            continue
        idx = _sample(idx, MAX_SESSION_PAIRS, seed)
        m, _, expected = em_m(lv.G[idx], n_levels, u, m0, active, fixed=fixed,
                              blocks=[c.blocks for c in comps])
        yield anchor, active, m, expected


def estimate_m(matcher: "Matcher", candidates: Candidates, lv: "Levels", u: list[np.ndarray],
               seed: int = 0) -> list[np.ndarray]:
    """EM per blocking rule (Splink's training sessions).  Each comparison's m
    is the average, weighted by expected matches, over the identifier
    ("anchor") sessions that estimated it when they found enough matches,
    else over all sessions that estimated it."""
    comps = matcher.comparisons
    n_levels = [len(c.labels) for c in comps]
    fixed = fixed_levels(comps)
    m0 = [m_step(initial_m(n, c.conflict_level), fixed.get(k, {}), c.blocks)
          for k, (n, c) in enumerate(zip(n_levels, comps))]
    sums = {kind: ([np.zeros(n) for n in n_levels], np.zeros(len(comps))) for kind in (True, False)}
    for anchor, active, m, expected in _sessions(matcher, candidates, lv, u, m0, fixed, seed):
        total, weight = sums[anchor]
        for k in active:
            total[k] += m[k] * expected[k]
            weight[k] += expected[k]
    out = []
    for k in range(len(comps)):
        for anchor in (True, False):
            total, weight = sums[anchor]
            if weight[k] >= (MIN_ANCHOR_MATCHES if anchor else 1e-9):
                out.append(total[k] / weight[k])
                break
        else:
            out.append(m0[k])
    return out


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


def known_non_matches(matcher: "Matcher", lv: "Levels") -> np.ndarray:
    """Candidate pairs whose strong identifiers conflict (two valid tax ids
    far apart) while their countries agree: non-matches for certain, and the
    ones that look most like matches otherwise — sister companies at home.
    (Pairs from different countries are left out: the country already tells
    them apart, and their names, stripped of the country, look alike.)"""
    hit = np.zeros(len(lv.G), dtype=bool)
    country_conflict = np.zeros(len(lv.G), dtype=bool)
    for k, c in enumerate(matcher.comparisons):
        if c.conflict_key == "country":
            country_conflict |= lv.G[:, k] == c.conflict_level
        elif c.conflict_level is not None:
            hit |= lv.G[:, k] == c.conflict_level
    return np.nonzero(hit & ~country_conflict)[0]


def _extra_u_counts(comparison: Comparison, levels: np.ndarray) -> np.ndarray | None:
    """For a conditioned comparison, the known non-matches inform u where
    the condition (partly) holds, which random pairs rarely reach."""
    if not comparison.blocks or comparison.condition is None:
        return None
    n = len(comparison.labels)
    counts = level_counts(levels, n)
    out = np.zeros(n)
    for block in comparison.blocks[1:]:
        out[block] = counts[block]
    return out


def _without_shared_ids(matcher: "Matcher", rand: "Levels") -> np.ndarray:
    """Random pairs that agree exactly on an identifier (tax id, registration
    number, ...) are matches, not the random non-matches u describes."""
    keep = np.ones(len(rand.G), dtype=bool)
    for k, c in enumerate(matcher.comparisons):
        if not c.members and c.name in (matcher.identifiers or ()):
            keep &= rand.G[:, k] != 0
    return keep


def estimate_model(matcher: "Matcher", table: Table, candidates: Candidates, lv: "Levels",
                   seed: int = 0, random_pairs: int = 1_000_000) -> Model:
    """u from random pairs, m from EM sessions, the prior from all candidates."""
    comps = matcher.comparisons
    n_levels = [len(c.labels) for c in comps]
    ra, rb = random_pairs_sample(table.n, random_pairs, seed)
    rand = matcher.chunked_levels(table, ra, rb)
    keep = _without_shared_ids(matcher, rand).astype(float)
    hard = lv.G[known_non_matches(matcher, lv)]
    u = [estimate_u(rand.G[:, k], n, c.blocks, _extra_u_counts(c, hard[:, k]), keep)
         for k, (n, c) in enumerate(zip(n_levels, comps))]
    m = estimate_m(matcher, candidates, lv, u, seed)
    params = [ComparisonParams(c.name, list(c.labels), m[k], u[k], c.tf_levels, c.conflict_level,
                               conflict_weight(c), c.blocks) for k, c in enumerate(comps)]
    sample = _sample(np.arange(len(candidates)), 5_000_000, seed)
    tables = [p.weights() for p in params]
    lam_candidates = em_lambda(lv.G[sample], n_levels, tables) if len(sample) else 1e-6
    all_pairs = max(table.n * (table.n - 1) / 2, 1)
    prior = float(np.clip(lam_candidates * len(candidates) / all_pairs, 1e-12, 0.5))
    tf = {c.name: term_frequencies(table, c) for c in comps if c.tf_levels}
    return Model(params, prior, tf)


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
    match = float(np.clip(p[best], 0.7, 0.99))
    below = np.searchsorted(tp, review_recall * p.sum())
    review = float(np.clip(p[min(below, len(p) - 1)], 0.01, match / 2))
    return {"match": round(match, 4), "review": round(review, 4)}
