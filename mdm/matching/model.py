"""The Fellegi–Sunter model: m/u probabilities, EM, term frequencies, weights.

For a comparison level ``l`` of a field, ``m = P(level l | match)`` and
``u = P(level l | non-match)``; the level adds ``log2(m / u)`` bits (its
*match weight*, a log Bayes factor) to the prior ``log2(λ / (1 - λ))`` where
λ is the probability that two random records match.  The total match weight
``W`` maps to the match probability ``2^W / (1 + 2^W)``.

Estimation (``training``) follows Splink's unsupervised recipe:

* u from random record pairs (almost all non-matches; pairs that share an
  identifier such as a tax id are left out: they are matches);
* m by expectation maximisation with u fixed, once per blocking rule over the
  pairs that rule produces, leaving out the comparisons of the rule's own
  columns; each comparison's m comes from the sessions of *identifier*
  rules (tax id, registration number: pairs that are nearly all true
  duplicates, once the pairs that share the number and nothing else are
  left out) when they saw enough matches, else from all sessions;
* λ by EM over all candidate pairs with m and u fixed, scaled from the
  candidate set to all pairs.

Exact agreement on a common value (a shared group domain, "Smith") is weaker
evidence than on a rare one: on exact levels the u of the level is replaced
by the value's term frequency (Splink's term-frequency adjustment), capped at
``tf_max_boost`` extra bits for rare values.

Stewards' decisions add *corrections*: the independence behind the sum of
field weights is least true exactly where stewards work — a brand next to
the full name, sharing a website, is a duplicate or a division — so the
labelled pairs of one comparison pattern (the levels of every comparison)
move that pattern's weight to the share of duplicates stewards found among
them (see ``learning``).

Levels that mean *conflicting strong identifiers* (two different valid tax
ids, different countries) have a fixed m (``CONFLICT_M``: EM would take a
corporate group's members, alike in all else, for matches) and weigh at most
``conflict_weight`` bits.  Correlated fields are compared as one composite
comparison, and a conditioned comparison (names read given the composite)
keeps m and u per block of levels; see ``comparisons``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_CONFLICT_WEIGHT = {"tax_id": -12.0, "country": -8.0}
# m of a conflict level is not learnt by EM (which would take a corporate
# group's members, alike in everything else, for matches) but fixed: how
# often the same company shows two different valid tax ids / countries.
CONFLICT_M = {"tax_id": 0.002, "country": 0.01}
TF_MAX_BOOST = 4.0
MAX_TF_TABLE = 50_000  # values kept per comparison when parameters are persisted


@dataclass
class ComparisonParams:
    name: str
    labels: list[str]  # non-null levels, strongest agreement first
    m: np.ndarray
    u: np.ndarray
    tf_levels: tuple[int, ...] = ()
    conflict_level: int | None = None
    conflict_weight: float | None = None
    blocks: list[list[int]] | None = None

    def weights(self) -> np.ndarray:
        """Weight per level; the extra last entry is the null level (0)."""
        with np.errstate(divide="ignore"):
            w = np.log2(np.clip(self.m, 1e-12, None) / np.clip(self.u, 1e-12, None))
        if self.conflict_level is not None and self.conflict_weight is not None:
            w[self.conflict_level] = min(w[self.conflict_level], self.conflict_weight)
        return np.append(w, 0.0)

    def to_dict(self) -> dict:
        return {"name": self.name, "labels": list(self.labels), "m": [float(x) for x in self.m],
                "u": [float(x) for x in self.u], "tf_levels": list(self.tf_levels),
                "conflict_level": self.conflict_level, "conflict_weight": self.conflict_weight,
                "blocks": self.blocks}

    @classmethod
    def from_dict(cls, d: dict) -> "ComparisonParams":
        return cls(d["name"], list(d["labels"]), np.asarray(d["m"], float), np.asarray(d["u"], float),
                   tuple(d.get("tf_levels") or ()), d.get("conflict_level"), d.get("conflict_weight"),
                   d.get("blocks"))


@dataclass
class TermFrequencies:
    counts: dict[str, int]
    total: int

    def frequency(self, values) -> np.ndarray:
        total = max(self.total, 1)
        return np.fromiter((self.counts.get(v, 1) / total for v in values), float, len(values))

    def to_dict(self, limit: int = MAX_TF_TABLE) -> dict:
        common = sorted(((c, v) for v, c in self.counts.items() if c > 1), reverse=True)[:limit]
        return {"total": self.total, "counts": {v: c for c, v in common}}


@dataclass
class Correction:
    """Extra bits for the pairs compared exactly like this (one level per
    comparison), learnt from ``labels`` labelled pairs of which ``matches``
    were duplicates."""

    levels: tuple[int, ...]
    bits: float
    labels: int
    matches: int

    def to_dict(self) -> dict:
        return {"levels": list(self.levels), "bits": self.bits, "labels": self.labels, "matches": self.matches}

    @classmethod
    def from_dict(cls, d: dict) -> "Correction":
        return cls(tuple(int(x) for x in d["levels"]), float(d["bits"]), int(d["labels"]), int(d["matches"]))


def pattern_codes(G: np.ndarray, radices: list[int]) -> np.ndarray:
    """One integer per row of the level matrix G (pairs × comparisons)."""
    code = np.zeros(len(G), dtype=np.int64)
    for k, r in enumerate(radices):
        code = code * r + G[:, k]
    return code


@dataclass
class Model:
    comparisons: list[ComparisonParams]
    prior: float  # probability that two random records match
    tf_tables: dict[str, TermFrequencies] = field(default_factory=dict)
    tf_max_boost: float = TF_MAX_BOOST
    corrections: list[Correction] = field(default_factory=list)

    @property
    def radices(self) -> list[int]:
        return [len(c.labels) + 1 for c in self.comparisons]

    def correction_index(self, G: np.ndarray) -> np.ndarray:
        """Per pair, the index of its correction in ``corrections``, or -1."""
        out = np.full(len(G), -1, dtype=np.int64)
        if not self.corrections or len(G) == 0:
            return out
        radices = self.radices
        known = pattern_codes(np.asarray([c.levels for c in self.corrections]), radices)
        order = np.argsort(known)
        codes = pattern_codes(G, radices)
        pos = np.clip(np.searchsorted(known[order], codes), 0, len(known) - 1)
        hit = known[order][pos] == codes
        out[hit] = order[pos[hit]]
        return out

    def correction_weights(self, G: np.ndarray) -> np.ndarray:
        """Per pair, the learnt correction in bits (0 when there is none)."""
        index = self.correction_index(G)
        bits = np.append(np.asarray([c.bits for c in self.corrections], dtype=float), 0.0)
        return bits[index]

    @property
    def prior_weight(self) -> float:
        p = min(max(self.prior, 1e-15), 1 - 1e-15)
        return float(np.log2(p / (1 - p)))

    def weight_tables(self) -> list[np.ndarray]:
        return [c.weights() for c in self.comparisons]

    def tf_adjustment(self, k: int, level: int, frequencies: np.ndarray) -> np.ndarray:
        """Extra bits on an exact level of comparison ``k`` for values of the
        given term frequency: log2(u_level / tf), at most ``tf_max_boost``."""
        u0 = self.comparisons[k].u[level]
        adj = np.log2(max(u0, 1e-12) / np.clip(frequencies, 1e-12, None))
        return np.minimum(adj, self.tf_max_boost)

    def to_dict(self) -> dict:
        return {"prior": self.prior, "tf_max_boost": self.tf_max_boost,
                "comparisons": [c.to_dict() for c in self.comparisons],
                "tf_tables": {k: t.to_dict() for k, t in self.tf_tables.items()},
                "corrections": [c.to_dict() for c in self.corrections]}

    @classmethod
    def from_dict(cls, d: dict) -> "Model":
        tf = {k: TermFrequencies(dict(t["counts"]), int(t["total"])) for k, t in d.get("tf_tables", {}).items()}
        return cls([ComparisonParams.from_dict(c) for c in d["comparisons"]], float(d["prior"]), tf,
                   float(d.get("tf_max_boost", TF_MAX_BOOST)),
                   [Correction.from_dict(c) for c in d.get("corrections") or ()])


def probability(weight: np.ndarray | float) -> np.ndarray | float:
    """Match probability of a total match weight (in bits)."""
    w = np.clip(weight, -60, 60)
    return 1.0 / (1.0 + np.exp2(-w))


def log_odds(p: np.ndarray | float) -> np.ndarray | float:
    """The match weight (bits) of a probability: the inverse of ``probability``."""
    q = np.clip(p, 1e-18, 1 - 1e-16)
    return np.clip(np.log2(q / (1 - q)), -60, 60)


# -- estimation ----------------------------------------------------------------------

def initial_m(n_levels: int, conflict_level: int | None = None) -> np.ndarray:
    m = 0.5 ** np.arange(n_levels, dtype=float)
    m[0] = 0.8 * m.sum()
    if conflict_level is not None:
        m[conflict_level] = 0.01 * m.sum()
    return m / m.sum()


def level_counts(levels: np.ndarray, n_levels: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Counts of each non-null level (the null level ``n_levels`` is dropped)."""
    counts = np.bincount(levels.astype(np.int64), weights=weights, minlength=n_levels + 1)
    return counts[:n_levels].astype(float)


def normalise_blocks(x: np.ndarray, blocks: list[list[int]] | None) -> np.ndarray:
    """Normalise to sum 1 over all levels, or within each block of levels."""
    x = np.asarray(x, dtype=float).copy()
    for block in blocks or [list(range(len(x)))]:
        total = x[block].sum()
        x[block] = x[block] / total if total > 0 else 1.0 / len(block)
    return x


def estimate_u(levels: np.ndarray, n_levels: int, blocks: list[list[int]] | None = None,
               extra_counts: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
    """u from the levels of random pairs, each weighted by how surely it is a
    non-match (``weights``; the few true matches a random sample holds would
    otherwise dominate the rare agreeing levels), plus optional counts of
    known non-matches, with half a pair of smoothing per level."""
    counts = level_counts(levels, n_levels, weights) + 0.5
    if extra_counts is not None:
        counts = counts + extra_counts
    return normalise_blocks(counts, blocks)


def _patterns(G: np.ndarray, radices: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the level matrix G (pairs × comparisons) with counts."""
    code = pattern_codes(G, radices)
    uniq, first, counts = np.unique(code, return_index=True, return_counts=True)
    return G[first], counts.astype(float)


def _log_ratio(P: np.ndarray, tables: list[np.ndarray], active: list[int]) -> np.ndarray:
    total = np.zeros(len(P))
    for k in active:
        total += tables[k][P[:, k]]
    return total


def m_step(counts: np.ndarray, fixed: dict[int, float], blocks: list[list[int]] | None = None) -> np.ndarray:
    """New m from expected match counts: normalised (within each block), with
    the ``fixed`` levels pinned."""
    m = np.asarray(counts, dtype=float) + 1.0  # one pseudo pair per level
    for block in blocks or [list(range(len(m)))]:
        pinned = {level: v for level, v in fixed.items() if level in block}
        free = [level for level in block if level not in pinned]
        m[free] = m[free] / m[free].sum() * (1 - sum(pinned.values()))
        for level, value in pinned.items():
            m[level] = value
    return m


def em_m(G: np.ndarray, n_levels: list[int], u: list[np.ndarray], m0: list[np.ndarray],
         active: list[int], lam0: float = 0.1, iterations: int = 40, tol: float = 1e-5,
         fixed: dict[int, dict[int, float]] | None = None, blocks: list | None = None
         ) -> tuple[list[np.ndarray], float, np.ndarray]:
    """EM for m (u fixed) over the pairs whose levels are the rows of G;
    ``fixed[k] = {level: m}`` pins levels of comparison k.
    Returns (m per comparison, λ within these pairs, expected matches with a
    non-null level, per comparison: the support of each estimate)."""
    fixed = fixed or {}
    blocks = blocks or [None] * len(m0)
    P, counts = _patterns(G, [n + 1 for n in n_levels])
    m = [x.copy() for x in m0]
    lam = lam0
    post = np.zeros(len(P))
    for _ in range(iterations):
        tables = [np.append(np.log2(np.clip(m[k], 1e-12, None) / np.clip(u[k], 1e-12, None)), 0.0)
                  for k in range(len(m))]
        w = _log_ratio(P, tables, active) + np.log2(lam / (1 - lam))
        post = 1.0 / (1.0 + np.exp2(-np.clip(w, -60, 60)))
        pc = post * counts
        new_m = [m[k] if k not in active else m_step(level_counts(P[:, k], n_levels[k], pc), fixed.get(k, {}),
                                                      blocks[k])
                 for k in range(len(m))]
        new_lam = float(np.clip(pc.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        delta = max(np.abs(a - b).max() for a, b in zip(new_m, m))
        m, lam = new_m, new_lam
        if delta < tol:
            break
    pc = post * counts
    support = np.array([level_counts(P[:, k], n_levels[k], pc).sum() for k in range(len(m))])
    return m, lam, support


def em_lambda(G: np.ndarray, n_levels: list[int], tables: list[np.ndarray], lam0: float = 0.1,
              iterations: int = 60) -> float:
    """EM for λ alone (m and u fixed) over the pairs of G."""
    P, counts = _patterns(G, [n + 1 for n in n_levels])
    base = _log_ratio(P, tables, list(range(len(tables))))
    lam = lam0
    for _ in range(iterations):
        post = 1.0 / (1.0 + np.exp2(-np.clip(base + np.log2(lam / (1 - lam)), -60, 60)))
        new = float(np.clip((post * counts).sum() / counts.sum(), 1e-12, 1 - 1e-9))
        if abs(new - lam) < 1e-9:
            break
        lam = new
    return lam
