"""The matching engine: one ``Matcher`` per spec, for batches and for real time.

Records are plain dicts of column (canonical field name) -> string or None.

API
---
``Matcher(spec, params=None, *, workers=1, processes=1)``
    ``spec``: a ``Spec``, a spec dict (the ``match_file`` JSON) or, for the
    hub's entities, ``builtin_spec("customer")``.  ``params``: a dict from
    ``to_dict()`` (fitted m/u, prior, term frequencies, thresholds).
    ``workers``: threads for string comparisons; ``processes``: worker
    processes that normalise large batches.
``.fit(rows, progress=None) -> Matcher``
    Unsupervised estimation: u from random pairs, m by EM per blocking rule,
    the prior by EM over all candidates, term-frequency tables, and (unless
    the spec gives them) thresholds.
``.blocking_keys(record) -> list[str]``
    Deterministic keys such as ``"tax:GB980780684"``, ``"dom:acme.com"``,
    ``"nm:ACME|GB"``; two records are compared when they share one.  Store
    them in an indexed column to find a new record's candidates.
``.score(a, b) -> (score, explanation)``
    Match probability 0..1 and, per field, ``{"field", "value_a", "value_b",
    "level", "weight", "tf_adjustment"}`` after a first ``{"field": "(prior)"}``
    entry (and a last ``{"field": "(learned)"}`` one when stewards' labels
    corrected pairs compared like this); the weights (bits) add up to
    ``match_weight(a, b)``, which maps to the score through ``2^W / (1 + 2^W)``.
``.score_many(record, candidates) -> np.ndarray`` scores against many.
``.decide(score) -> "match" | "review" | "new"``
    Against ``.thresholds`` (probabilities).  A spec may give its thresholds
    in bits of evidence from the fields (``match_bits``, ``review_bits``),
    which the engine turns into probabilities with its prior: decisions then
    do not drift with the size of the data it was fitted on
    (``.threshold_bits`` has them either way).
``.dedupe(rows, ids, not_duplicates=(), progress=None, known_clusters=None)``
    -> ``DedupeResult`` with numpy arrays ``ia``, ``ib`` (row indices),
    ``score``, ``decision`` (codes ``NEW``/``REVIEW``/``MATCH``) for the pairs
    at or above review, and ``cluster`` (a stable cluster id per row).
``.to_dict()`` / ``Matcher.from_dict(d)``: JSON-serialisable parameters.
``normalize_record(spec, record) -> dict`` the compared columns, normalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from mdm.matching import comparisons as cmp
from mdm.matching.blocking import Candidates, candidate_pairs, spec_rules
from mdm.matching.clustering import cluster_ids, cluster_links, settle_reviews
from mdm.matching.model import Model, log_odds, probability
from mdm.matching.spec import BIT_THRESHOLDS, Spec, parse_spec
from mdm.matching.table import Table, normalize_record
from mdm.matching.training import choose_thresholds, estimate_model

__all__ = ["Matcher", "DedupeResult", "normalize_record", "NEW", "REVIEW", "MATCH", "DECISIONS"]

NEW, REVIEW, MATCH = 0, 1, 2
DECISIONS = ("new", "review", "match")
PARAMS_VERSION = 1
IDENTIFIER_DISTINCT = 0.3
CHUNK = 250_000
DEFAULT_THRESHOLDS = {"match": 0.9, "review": 0.3}
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Levels:
    """Comparison levels of a set of pairs: G[pair, comparison] and, for
    comparisons over several columns, which column combination won."""

    G: np.ndarray
    which: dict[int, np.ndarray]


@dataclass
class DedupeResult:
    ids: np.ndarray
    ia: np.ndarray
    ib: np.ndarray
    score: np.ndarray
    decision: np.ndarray
    cluster: np.ndarray
    n_candidates: int
    thresholds: dict[str, float]
    candidate_codes: np.ndarray | None = None  # a * n + b of every candidate pair, when asked for

    @property
    def decision_labels(self) -> np.ndarray:
        return np.asarray(DECISIONS, dtype=object)[self.decision]

    def pairs(self) -> Iterable[tuple[str, str, float, str]]:
        labels = self.decision_labels
        for a, b, s, d in zip(self.ia.tolist(), self.ib.tolist(), self.score.tolist(), labels):
            yield self.ids[a], self.ids[b], s, d


def _noop(stage: str, done: int, total: int) -> None:
    return None


class Matcher:
    def __init__(self, spec: Spec | Mapping[str, Any], params: Mapping[str, Any] | None = None, *,
                 workers: int = 1, processes: int = 1):
        self.spec = parse_spec(spec)
        self.comparisons = cmp.build_comparisons(self.spec.fields)
        self.all_rules = spec_rules(self.spec)
        self.rules = self.all_rules
        self.identifiers: list[str] | None = None  # columns found to identify records (see profile)
        self.workers = workers  # threads for rapidfuzz
        self.processes = processes  # worker processes for normalising big batches
        self.model: Model | None = None
        self.fitted_thresholds: dict[str, float] | None = None
        self.n_records = 0
        if params:
            self._load(params)

    # -- parameters -------------------------------------------------------------------

    @property
    def thresholds(self) -> dict[str, float]:
        """{"match": p, "review": p}: the spec's (thresholds in bits turned
        into probabilities with the fitted prior), else those chosen at fit."""
        given = self.spec.thresholds
        if given and any(k in given for k in BIT_THRESHOLDS):
            prior, bits = self._prior_weight(), self.threshold_bits
            match = float(probability(prior + bits["match"]))
            return {"match": match, "review": min(float(probability(prior + bits["review"])), match)}
        return given or self.fitted_thresholds or dict(DEFAULT_THRESHOLDS)

    @property
    def threshold_bits(self) -> dict[str, float | None]:
        """The thresholds as the evidence a pair's fields must give (bits:
        the match weight less the prior), which is what the engine decides
        on; ``sole_match`` is None unless the spec sets ``sole_match_bits``."""
        given = self.spec.thresholds or {}
        probabilities = given if "match" in given or "review" in given else (
            self.fitted_thresholds or DEFAULT_THRESHOLDS)
        prior = self._prior_weight()
        out: dict[str, float | None] = {}
        for kind in ("match", "review"):
            if f"{kind}_bits" in given:
                out[kind] = given[f"{kind}_bits"]
            else:
                out[kind] = float(log_odds(probabilities[kind])) - prior
        out["review"] = min(out["review"], out["match"])
        out["sole_match"] = given.get("sole_match_bits")
        return out

    def _prior_weight(self) -> float:
        return self.model.prior_weight if self.model is not None else 0.0

    def to_dict(self) -> dict[str, Any]:
        if self.model is None:
            raise ValueError("the matcher has not been fitted")
        return {"version": PARAMS_VERSION, "spec": self.spec.to_dict(), "model": self.model.to_dict(),
                "thresholds": self.thresholds, "n_records": self.n_records, "identifiers": self.identifiers}

    @classmethod
    def from_dict(cls, params: Mapping[str, Any], **kwargs) -> "Matcher":
        return cls(params["spec"], params, **kwargs)

    def _set_identifiers(self, identifiers: list[str]) -> None:
        """Keep exact-value blocking only on identifier columns: a key shared
        by a large share of records (a state, a house number) makes blocks of
        strangers, not candidates."""
        self.identifiers = list(identifiers)
        exact = {f.name for f in self.spec.fields if f.type == "exact"}
        self.rules = [r for r in self.all_rules
                      if not (len(r.columns) == 1 and r.columns[0] in exact and r.columns[0] not in identifiers)]

    def profile(self, table: Table) -> None:
        """Find the identifier columns: tax ids, and exact-type columns whose
        values are mostly distinct (at least 30 % distinct among filled ones)."""
        found = []
        for f in self.spec.fields:
            if f.type == "tax_id":
                found.append(f.name)
            elif f.type == "exact" and not f.is_country:
                codes = table.codes(f.name)
                filled = codes[codes > 0]
                if len(filled) and len(np.unique(filled)) >= IDENTIFIER_DISTINCT * len(filled):
                    found.append(f.name)
        self._set_identifiers(found)

    def _load(self, params: Mapping[str, Any]) -> None:
        self.model = Model.from_dict(params["model"])
        self.fitted_thresholds = dict(params.get("thresholds") or {}) or None
        self.n_records = int(params.get("n_records", 0))
        if params.get("identifiers") is not None:
            self._set_identifiers(params["identifiers"])

    def with_model(self, model: Model) -> "Matcher":
        """A copy of this matcher with other parameters (learning, evaluation)."""
        other = Matcher(self.spec, workers=self.workers)
        other.model, other.fitted_thresholds, other.n_records = model, self.fitted_thresholds, self.n_records
        if self.identifiers is not None:
            other._set_identifiers(self.identifiers)
        return other

    # -- tables, blocking, levels ----------------------------------------------------------

    def table(self, rows: Iterable[Mapping[str, Any]], progress: Progress = _noop, total: int = 0) -> Table:
        done = [0]

        def tick(k: int = 1):
            done[0] += k
            if k > 1 or done[0] % 10_000 == 0:
                progress("normalise", done[0], total)
        if self.processes > 1:
            table = Table.from_records_parallel(self.spec, rows, self.processes, on_rows=tick)
        else:
            table = Table.from_records(self.spec, rows, on_row=tick)
        progress("normalise", table.n, table.n)
        return table

    def blocking_keys(self, record: Mapping[str, Any]) -> list[str]:
        norm = normalize_record(self.spec, record)
        return [key for rule in self.rules for key in rule.keys(norm)]

    def candidates(self, table: Table) -> Candidates:
        if self.identifiers is None:
            self.profile(table)
        return candidate_pairs(table, self.rules)

    def levels(self, table: Table, ia: np.ndarray, ib: np.ndarray) -> Levels:
        cmp.set_workers(self.workers)
        G = np.empty((len(ia), len(self.comparisons)), dtype=np.int8)
        which = {}
        context: dict[str, np.ndarray] = {}
        for k, comparison in enumerate(self.comparisons):
            G[:, k], combo = comparison.levels(table, ia, ib, context)
            context[comparison.name] = G[:, k]
            if len(comparison.combos) > 1:
                which[k] = combo
        return Levels(G, which)

    def chunked_levels(self, table: Table, ia: np.ndarray, ib: np.ndarray,
                       progress: Progress = _noop, stage: str = "compare") -> Levels:
        parts = []
        for s in range(0, len(ia), CHUNK):
            parts.append(self.levels(table, ia[s:s + CHUNK], ib[s:s + CHUNK]))
            progress(stage, min(s + CHUNK, len(ia)), len(ia))
        if not parts:
            return self.levels(table, ia, ib)
        which = {k: np.concatenate([p.which[k] for p in parts]) for k in parts[0].which}
        return Levels(np.concatenate([p.G for p in parts]), which)

    # -- weights -------------------------------------------------------------------------

    def _require_model(self) -> Model:
        if self.model is None:
            raise ValueError("the matcher has no parameters: call fit() or pass params")
        return self.model

    def _tf_frequencies(self, table: Table, k: int, ia: np.ndarray, lv: Levels) -> np.ndarray:
        """Term frequency of the agreed value for each pair (used on exact levels)."""
        model, comparison = self._require_model(), self.comparisons[k]
        tf = model.tf_tables.get(comparison.name)
        combos = comparison.combos
        freq = np.ones(len(ia))
        if tf is None:
            return freq
        for col_a, col_b in combos:  # code every column first: they share one vocabulary
            table.codes(col_a), table.codes(col_b)
        vocab = table.vocabulary(combos[0][0])
        per_code = table.derived(f"tf:{comparison.name}:{id(tf)}", lambda: tf.frequency(list(vocab)))
        which = lv.which.get(k)
        for c, (col_a, _) in enumerate(combos):
            rows = np.arange(len(ia)) if which is None else np.nonzero(which == c)[0]
            freq[rows] = per_code[table.codes(col_a)[ia[rows]]]
        return freq

    def field_weights(self, table: Table, ia: np.ndarray, lv: Levels) -> tuple[np.ndarray, np.ndarray]:
        """(weight per pair and comparison including TF, TF part alone)."""
        model = self._require_model()
        W = np.empty(lv.G.shape, dtype=np.float64)
        TF = np.zeros(lv.G.shape, dtype=np.float64)
        for k, (table_k, params) in enumerate(zip(model.weight_tables(), model.comparisons)):
            W[:, k] = table_k[lv.G[:, k]]
            for level in params.tf_levels:
                exact = np.nonzero(lv.G[:, k] == level)[0]
                if len(exact):
                    freq = self._tf_frequencies(table, k, ia[exact], Levels(lv.G[exact], {
                        kk: v[exact] for kk, v in lv.which.items()}))
                    TF[exact, k] = model.tf_adjustment(k, level, freq)
        return W + TF, TF

    def match_weights(self, table: Table, ia: np.ndarray, lv: Levels) -> np.ndarray:
        """Prior + field weights + the correction stewards' labels taught
        for the pair's comparison pattern (if any), in bits."""
        model = self._require_model()
        W, _ = self.field_weights(table, ia, lv)
        return model.prior_weight + W.sum(axis=1) + model.correction_weights(lv.G)

    def score_table(self, table: Table, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        lv = self.levels(table, ia, ib)
        return probability(self.match_weights(table, ia, lv))

    # -- single records (real time) ------------------------------------------------------

    def score(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[float, list[dict[str, Any]]]:
        table = Table.from_records(self.spec, [a, b])
        explanation = self.explain(table, 0, 1)
        weight = sum(e["weight"] for e in explanation)
        return float(probability(weight)), explanation

    def match_weight(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
        table = Table.from_records(self.spec, [a, b])
        ia, ib = np.array([0]), np.array([1])
        return float(self.match_weights(table, ia, self.levels(table, ia, ib))[0])

    def score_many(self, record: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]]) -> np.ndarray:
        table = Table.from_records(self.spec, [record, *candidates])
        ib = np.arange(1, table.n)
        return self.score_table(table, np.zeros(len(ib), dtype=np.int64), ib)

    def explain(self, table: Table, i: int, j: int) -> list[dict[str, Any]]:
        return self.explain_many(table, [i], [j])[0]

    def explain_many(self, table: Table, ia, ib) -> list[list[dict[str, Any]]]:
        """Per pair ``(ia[p], ib[p])`` of ``table``, why it scores as it does:
        the prior, each comparison's level and weight, and the stewards'
        correction if one applies; compared in one vectorised pass."""
        model = self._require_model()
        ia, ib = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
        if not len(ia):
            return []
        lv = self.levels(table, ia, ib)
        W, TF = self.field_weights(table, ia, lv)
        corrections = model.correction_index(lv.G)
        out = []
        for p in range(len(ia)):
            i, j = int(ia[p]), int(ib[p])
            rows = [{"field": "(prior)", "value_a": None, "value_b": None, "level": "prior",
                     "weight": model.prior_weight, "tf_adjustment": 0.0}]
            for k, comparison in enumerate(self.comparisons):
                level = int(lv.G[p, k])
                value_a, value_b = comparison.describe(table, i, j, int(lv.which[k][p]) if k in lv.which else 0)
                rows.append({"field": comparison.name, "value_a": value_a, "value_b": value_b,
                             "level": comparison.all_labels[level], "weight": float(W[p, k]),
                             "tf_adjustment": float(TF[p, k])})
            index = int(corrections[p])
            if index >= 0:
                c = model.corrections[index]
                rows.append({"field": "(learned)", "value_a": None, "value_b": None,
                             "level": f"stewards found {c.matches} of {c.labels} pairs compared like this duplicates",
                             "weight": c.bits, "tf_adjustment": 0.0})
            out.append(rows)
        return out

    def decide(self, score: float) -> str:
        t = self.thresholds
        return "match" if score >= t["match"] else "review" if score >= t["review"] else "new"

    def decisions(self, scores: np.ndarray) -> np.ndarray:
        t = self.thresholds
        return np.where(scores >= t["match"], MATCH, np.where(scores >= t["review"], REVIEW, NEW)).astype(np.int8)

    def weight_decisions(self, weights: np.ndarray) -> np.ndarray:
        """Decisions from match weights (bits, prior included), against the
        thresholds in bits: the same as ``decisions`` of their scores."""
        bits = self.threshold_bits
        evidence = np.asarray(weights) - self._prior_weight()
        return np.where(evidence >= bits["match"], MATCH,
                        np.where(evidence >= bits["review"], REVIEW, NEW)).astype(np.int8)

    # -- estimation ---------------------------------------------------------------------------

    def fit(self, rows: Iterable[Mapping[str, Any]], progress: Progress = _noop, seed: int = 0) -> "Matcher":
        table = self.table(rows, progress)
        candidates = self.candidates(table)
        lv = self.chunked_levels(table, candidates.ia, candidates.ib, progress)
        self.fit_levels(table, candidates, lv, seed=seed)
        return self

    def fit_levels(self, table: Table, candidates: Candidates, lv: Levels, seed: int = 0,
                   random_pairs: int | None = None) -> None:
        """Estimate the model from the levels of the candidate pairs."""
        if random_pairs is None:  # as Splink: up to a million, fewer for small inputs
            random_pairs = int(min(1_000_000, max(200_000, 50 * table.n)))
        self.model = estimate_model(self, table, candidates, lv, seed=seed, random_pairs=random_pairs)
        self.n_records = table.n
        if self.spec.thresholds is None:
            scores = probability(self.match_weights(table, candidates.ia, lv))
            self.fitted_thresholds = choose_thresholds(scores)

    # -- batch deduplication ---------------------------------------------------------------

    def dedupe(self, rows: Iterable[Mapping[str, Any]], ids: Sequence[Any],
               not_duplicates: Iterable[tuple[Any, Any]] = (), progress: Progress | None = None,
               known_clusters: Mapping[str, str] | None = None, keep: str = "review",
               table: Table | None = None, with_candidates: bool = False) -> DedupeResult:
        progress = progress or _noop
        ids_arr = np.asarray([str(i) for i in ids], dtype=object)
        table = table if table is not None else self.table(rows, progress, len(ids_arr))
        if table.n != len(ids_arr):
            raise ValueError(f"{table.n} rows but {len(ids_arr)} ids")
        candidates = self.candidates(table)
        progress("block", len(candidates), len(candidates))
        lv = self.chunked_levels(table, candidates.ia, candidates.ib, progress)
        if self.model is None:
            self.fit_levels(table, candidates, lv)
        weights = self._chunked_weights(table, candidates.ia, lv, progress)
        decision = self.weight_decisions(weights)
        forbidden = self._forbidden_rows(ids_arr, not_duplicates)
        if forbidden:
            decision[_pair_mask(candidates.ia, candidates.ib, table.n, forbidden)] = NEW
        conflicts = self._conflict_codes(table)
        roots = cluster_links(table.n, candidates.ia, candidates.ib, weights, decision == MATCH,
                              decision >= REVIEW, conflicts, forbidden)
        decision = _consistent(decision, roots[candidates.ia] == roots[candidates.ib])
        bits = self.threshold_bits
        roots, decision = settle_reviews(roots, candidates.ia, candidates.ib, weights - self._prior_weight(),
                                         decision, conflicts, forbidden, bits["sole_match"], bits["match"])
        keep_mask = slice(None) if keep == "all" else decision >= REVIEW
        return DedupeResult(ids_arr, candidates.ia[keep_mask], candidates.ib[keep_mask],
                            probability(weights[keep_mask]).astype(np.float32), decision[keep_mask],
                            cluster_ids(roots, ids_arr, known_clusters), len(candidates), self.thresholds,
                            candidates.ia * table.n + candidates.ib if with_candidates else None)

    def _chunked_weights(self, table: Table, ia: np.ndarray, lv: Levels, progress: Progress) -> np.ndarray:
        out = np.empty(len(ia), dtype=np.float64)
        for s in range(0, len(ia), CHUNK):
            part = Levels(lv.G[s:s + CHUNK], {k: v[s:s + CHUNK] for k, v in lv.which.items()})
            out[s:s + CHUNK] = self.match_weights(table, ia[s:s + CHUNK], part)
            progress("score", min(s + CHUNK, len(ia)), len(ia))
        return out

    def _conflict_codes(self, table: Table) -> list[np.ndarray]:
        """Per conflict field, a value code per row (0 = unknown or not valid)."""
        out = []
        for comparison in self.comparisons:
            if comparison.conflict_level is None:
                continue
            codes = table.codes(comparison.name).copy()
            if isinstance(comparison, cmp.TaxIdComparison):
                codes[~cmp._valid_tax_ids(table, comparison.name)] = 0
            out.append(codes)
        return out

    @staticmethod
    def _forbidden_rows(ids: np.ndarray, pairs: Iterable[tuple[Any, Any]]) -> list[tuple[int, int]]:
        pairs = list(pairs)
        if not pairs:
            return []
        index = {v: i for i, v in enumerate(ids.tolist())}
        out = []
        for a, b in pairs:
            ra, rb = index.get(str(a)), index.get(str(b))
            if ra is not None and rb is not None and ra != rb:
                out.append((min(ra, rb), max(ra, rb)))
        return out


def _consistent(decision: np.ndarray, same_cluster: np.ndarray) -> np.ndarray:
    """Pair decisions that agree with the clusters: a match link the guards
    refused goes to review; a review pair inside one cluster is a match."""
    out = decision.copy()
    out[(decision == MATCH) & ~same_cluster] = REVIEW
    out[(decision == REVIEW) & same_cluster] = MATCH
    return out


def _pair_mask(ia: np.ndarray, ib: np.ndarray, n: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    codes = np.asarray([a * n + b for a, b in pairs], dtype=np.int64)
    return np.isin(ia * n + ib, codes)
