"""Clusters from match links: union-find with guards against chaining.

Links are taken strongest first.  Two clusters are *not* joined when

* a steward said a member of one is not a duplicate of a member of the other;
* their strong identifiers conflict: each side carries values of a conflict
  field (valid tax ids, countries) and the two value sets have nothing in
  common — the "two group companies joined through a weak record" case;
* both already have several members and the pairs between them that scored
  at least *review* cover less than ``min_density`` of all pairs between them
  (a single link between two established clusters is not enough).

The review pairs left between clusters are then settled (``settle_reviews``):
a pair between clusters whose strong identifiers conflict is no duplicate
to propose (group members belong in the hierarchy), and a record whose only
plausible partner is one cluster may join it on weaker evidence.

Cluster ids are stable on incremental arrival: a cluster keeps the id it
already had (``known``: record id -> cluster id) and otherwise takes the id of
its earliest member in input order, so a new record joins an existing
cluster's id rather than renaming it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np


@dataclass
class _Clusters:
    n: int
    conflicts: list[np.ndarray]  # per conflict field: value code per row, 0 = unknown
    parent: np.ndarray = field(init=False)
    members: dict[int, list[int]] = field(default_factory=dict)
    values: dict[int, list[set[int]]] = field(default_factory=dict)

    def __post_init__(self):
        self.parent = np.arange(self.n, dtype=np.int64)

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = int(self.parent[root])
        while self.parent[x] != root:
            self.parent[x], x = root, int(self.parent[x])
        return root

    def group(self, r: int) -> list[int]:
        return self.members.get(r) or [r]

    def value_sets(self, r: int) -> list[set[int]]:
        if r not in self.values:
            self.values[r] = [{int(c[r])} - {0} for c in self.conflicts]
        return self.values[r]

    def conflict(self, ra: int, rb: int) -> bool:
        return any(a and b and a.isdisjoint(b) for a, b in zip(self.value_sets(ra), self.value_sets(rb)))

    def union(self, ra: int, rb: int) -> None:
        if len(self.group(ra)) < len(self.group(rb)):
            ra, rb = rb, ra
        merged_values = [a | b for a, b in zip(self.value_sets(ra), self.value_sets(rb))]
        self.members[ra] = self.group(ra) + self.group(rb)
        self.members.pop(rb, None)
        self.values.pop(rb, None)
        self.values[ra] = merged_values
        self.parent[rb] = ra


def _adjacency(ia: np.ndarray, ib: np.ndarray) -> dict[int, set[int]]:
    adj: dict[int, set[int]] = {}
    for a, b in zip(ia.tolist(), ib.tolist()):
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    return adj


def _dense_enough(adj: dict[int, set[int]], ga: list[int], gb: list[int], min_density: float) -> bool:
    if len(ga) < 2 or len(gb) < 2:
        return True
    small, large = (ga, gb) if len(ga) <= len(gb) else (gb, ga)
    large_set = set(large)
    links = sum(len(adj.get(x, ()) & large_set) for x in small)
    return links >= min_density * len(ga) * len(gb)


def cluster_links(n: int, ia: np.ndarray, ib: np.ndarray, score: np.ndarray, is_link: np.ndarray,
                  supported: np.ndarray, conflicts: list[np.ndarray],
                  forbidden: Iterable[tuple[int, int]] = (), min_density: float = 0.3) -> np.ndarray:
    """Root row index per row.  ``is_link`` marks the match links, ``supported``
    the pairs that count towards density (at or above review)."""
    clusters = _Clusters(n, conflicts)
    adj = _adjacency(ia[supported], ib[supported])
    never: dict[int, set[int]] = {}
    for a, b in forbidden:
        never.setdefault(a, set()).add(b)
        never.setdefault(b, set()).add(a)
    links = np.nonzero(is_link)[0]
    for k in links[np.argsort(-score[links], kind="stable")].tolist():
        ra, rb = clusters.find(int(ia[k])), clusters.find(int(ib[k]))
        if ra == rb or clusters.conflict(ra, rb):
            continue
        ga, gb = clusters.group(ra), clusters.group(rb)
        if never and _forbidden_between(never, ga, gb):
            continue
        if not _dense_enough(adj, ga, gb, min_density):
            continue
        clusters.union(ra, rb)
    return np.fromiter((clusters.find(i) for i in range(n)), dtype=np.int64, count=n)


def _forbidden_between(never: dict[int, set[int]], ga: list[int], gb: list[int]) -> bool:
    gb_set = set(gb)
    return any(never.get(x, set()) & gb_set for x in ga)


def cluster_ids(roots: np.ndarray, ids: np.ndarray, known: Mapping[str, str] | None = None) -> np.ndarray:
    """A stable id per row: the cluster's known id, else its earliest member's id."""
    out = np.empty(len(roots), dtype=object)
    order = np.argsort(roots, kind="stable")
    sorted_roots = roots[order]
    starts = np.flatnonzero(np.r_[True, sorted_roots[1:] != sorted_roots[:-1]])
    for s, e in zip(starts, np.r_[starts[1:], len(order)]):
        rows = order[s:e]
        out[rows] = _choose_id(rows, ids, known)
    return out


def _choose_id(rows: np.ndarray, ids: np.ndarray, known: Mapping[str, str] | None) -> str:
    if known:
        seen = [known[ids[r]] for r in rows if ids[r] in known]
        if seen:
            counts = Counter(seen)
            top = max(counts.values())
            return min(c for c, k in counts.items() if k == top)
    return ids[int(rows.min())]


def _value_sets(roots: np.ndarray, wanted: np.ndarray, conflicts: list[np.ndarray]) -> list[dict[int, set[int]]]:
    """Per conflict field, the known values of each wanted cluster."""
    member = np.isin(roots, wanted)
    out = []
    for codes in conflicts:
        sets: dict[int, set[int]] = {}
        rows = np.nonzero(member & (codes != 0))[0]
        for r, v in zip(roots[rows].tolist(), codes[rows].tolist()):
            sets.setdefault(r, set()).add(v)
        out.append(sets)
    return out


def settle_reviews(roots: np.ndarray, ia: np.ndarray, ib: np.ndarray, evidence: np.ndarray,
                   decision: np.ndarray, conflicts: list[np.ndarray], forbidden: Iterable[tuple[int, int]] = (),
                   sole_bits: float | None = None, match_bits: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """The review pairs after clustering (decision codes 0 new, 1 review,
    2 match; ``evidence``: each pair's match weight less the prior, in bits).

    * A review pair between two clusters whose strong identifiers conflict
      (each carries valid tax ids, or countries, and they share none) is
      dropped: the records are different legal entities — the group member
      abroad, the division with its own tax id — whatever else they share.
      Unless the pair on its own reaches ``match_bits`` (a link the guards
      refused): records that alike are worth a steward's look.
    * With ``sole_bits``: a record still on its own whose only plausible
      partner is one cluster (the one it shares a conflict-free review pair
      with), while that cluster has no other, joins it when their pair gives
      at least ``sole_bits``.  A trading name or a brand ("Virmaara" next to
      "Virmaara Diagnostics") is ambiguous when there is a second candidate
      to be confused with — a sister or a division of the group; a record
      with a single candidate is its duplicate far more often than the
      pair's fields alone say (bench_matching: nearly nine times in ten).  Two
      clusters of several records are not joined this way (each is an
      established entity, and that they did not link says so), and a record
      between two clusters has two partners, so nothing chains.
    * Review pairs inside one cluster are matches.

    Returns (roots, decision)."""
    decision = decision.copy()
    review = np.nonzero(decision == 1)[0]
    if len(review) == 0:
        return roots, decision
    ra, rb = roots[ia[review]], roots[ib[review]]
    between = ra != rb
    sets = _value_sets(roots, np.unique(np.concatenate([ra[between], rb[between]])), conflicts)
    never = {(min(roots[a], roots[b]), max(roots[a], roots[b])) for a, b in forbidden}
    partners: dict[int, dict[int, float]] = {}
    for k, a, b in zip(review.tolist(), ra.tolist(), rb.tolist()):
        if a == b:
            continue
        if any(s.get(a) and s.get(b) and s[a].isdisjoint(s[b]) for s in sets):
            if evidence[k] < match_bits:
                decision[k] = 0
            continue
        best = float(evidence[k])
        partners.setdefault(a, {})
        partners.setdefault(b, {})
        partners[a][b] = max(partners[a].get(b, best), best)
        partners[b][a] = partners[a][b]
    if sole_bits is not None:
        size = np.bincount(roots, minlength=len(roots))
        mapping = np.arange(len(roots), dtype=roots.dtype)
        for a, others in partners.items():
            if size[a] != 1 or len(others) != 1:
                continue
            (b, best), = others.items()
            if (best >= sole_bits and len(partners[b]) == 1 and mapping[b] == b
                    and (min(a, b), max(a, b)) not in never):
                mapping[a] = b
        roots = mapping[roots]
    same = roots[ia] == roots[ib]
    decision[(decision == 1) & same] = 2
    return roots, decision
