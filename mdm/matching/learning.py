"""Learning from stewards' decisions, and measuring whether it helped.

A labelled pair is ``(record_a, record_b, is_match)``: a merge the steward
made is a match, a "not a duplicate" is a non-match.  ``learn`` refines the
fitted m/u with those labels (a Dirichlet update: the current estimates act
as prior counts, see ``model.supervised_update``); ``evaluate`` scores the
same or, better, held-out labelled pairs with the parameters before and after
and reports precision and recall of the *match* decisions for both.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from mdm.matching.engine import Matcher
from mdm.matching.model import Model, supervised_update
from mdm.matching.table import Table

LabelledPair = tuple[Mapping[str, Any], Mapping[str, Any], bool]


def _pair_table(matcher: Matcher, pairs: Sequence[LabelledPair]) -> tuple[Table, np.ndarray, np.ndarray]:
    records = [r for a, b, _ in pairs for r in (a, b)]
    table = Table.from_records(matcher.spec, records)
    ia = np.arange(0, len(records), 2, dtype=np.int64)
    return table, ia, ia + 1


def learn(params: Mapping[str, Any], labelled_pairs: Sequence[LabelledPair],
          prior_strength: float = 100.0) -> dict[str, Any]:
    """Parameters refined from labelled pairs (JSON-serialisable, like ``to_dict``)."""
    matcher = Matcher.from_dict(params)
    model = matcher.model
    if not labelled_pairs:
        return matcher.to_dict()
    table, ia, ib = _pair_table(matcher, labelled_pairs)
    levels = matcher.levels(table, ia, ib).G
    is_match = np.fromiter((bool(p[2]) for p in labelled_pairs), bool, len(labelled_pairs))
    comparisons = [supervised_update(c, levels[is_match, k], levels[~is_match, k], prior_strength,
                                     conditioned=matcher.comparisons[k].condition is not None)
                   for k, c in enumerate(model.comparisons)]
    return matcher.with_model(Model(comparisons, model.prior, model.tf_tables, model.tf_max_boost)).to_dict()


def _metrics(matcher: Matcher, table: Table, ia: np.ndarray, ib: np.ndarray, is_match: np.ndarray) -> dict:
    scores = matcher.score_table(table, ia, ib)
    predicted = scores >= matcher.thresholds["match"]
    tp = int((predicted & is_match).sum())
    fp = int((predicted & ~is_match).sum())
    fn = int((~predicted & is_match).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def evaluate(params_before: Mapping[str, Any], params_after: Mapping[str, Any],
             labelled_pairs: Sequence[LabelledPair]) -> dict[str, dict]:
    """Precision/recall/F1 of match decisions on ``labelled_pairs`` before and after."""
    out = {}
    is_match = np.fromiter((bool(p[2]) for p in labelled_pairs), bool, len(labelled_pairs))
    for name, params in (("before", params_before), ("after", params_after)):
        matcher = Matcher.from_dict(params)
        table, ia, ib = _pair_table(matcher, labelled_pairs)
        out[name] = _metrics(matcher, table, ia, ib, is_match)
    return out
