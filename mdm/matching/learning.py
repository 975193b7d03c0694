"""Learning from stewards' decisions, and measuring whether it helped.

A labelled pair is ``(record_a, record_b, is_match)``: a merge the steward
made is a match, a "not a duplicate" is a non-match.  Stewards label what
the engine could not decide — the review queue — so their pairs are no
sample of matches at large (they cannot re-estimate a field's m or u), but
they are a sample of *kinds* of pairs: of *comparison patterns*, the level
of every comparison ("the name contains the other, the website agrees, same
country").  Where the fields are not independent, the sum of field weights
misjudges a whole pattern: a brand next to the full name with the same
website is nearly always the same company, the group name next to the name
plus a division word, sharing website, address and phone, is as often a
division as not.

``learn`` gives each labelled pattern a correction (``model.Correction``):
the bits that bring the pattern's evidence to where the share of duplicates
among its labels puts it, measured from the *match* threshold (a pattern
found to be a duplicate three times in four ends log2(3) bits above it).
The share is smoothed towards the engine's own judgement of the pattern,
worth ``strength`` labels, so that one label moves a pattern a little and
it takes several consistent ones to turn it from review into match.
``evaluate`` scores labelled pairs with the parameters before and after and
reports precision and recall of the *match* decisions for both.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from mdm.matching.engine import Matcher
from mdm.matching.model import Correction, Model, pattern_codes, probability
from mdm.matching.table import Table

LabelledPair = tuple[Mapping[str, Any], Mapping[str, Any], bool]
STRENGTH = 5.0


def _pair_table(matcher: Matcher, pairs: Sequence[LabelledPair]) -> tuple[Table, np.ndarray, np.ndarray]:
    records = [r for a, b, _ in pairs for r in (a, b)]
    table = Table.from_records(matcher.spec, records)
    ia = np.arange(0, len(records), 2, dtype=np.int64)
    return table, ia, ia + 1


def learn(params: Mapping[str, Any], labelled_pairs: Sequence[LabelledPair],
          strength: float = STRENGTH) -> dict[str, Any]:
    """Parameters with corrections learnt from ``labelled_pairs`` (all the
    labels there are: earlier corrections are replaced, not added to);
    JSON-serialisable, like ``to_dict``."""
    matcher = Matcher.from_dict(params)
    model = matcher.model
    plain = Model(model.comparisons, model.prior, model.tf_tables, model.tf_max_boost)
    matcher = matcher.with_model(plain)
    if not labelled_pairs:
        return matcher.to_dict()
    table, ia, ib = _pair_table(matcher, labelled_pairs)
    levels = matcher.levels(table, ia, ib)
    evidence = matcher.match_weights(table, ia, levels) - plain.prior_weight
    is_match = np.fromiter((bool(p[2]) for p in labelled_pairs), bool, len(labelled_pairs))
    threshold = matcher.threshold_bits["match"]
    codes = pattern_codes(levels.G, plain.radices)
    corrections = []
    for code in np.unique(codes):
        rows = np.nonzero(codes == code)[0]
        n, k = len(rows), int(is_match[rows].sum())
        mean = float(evidence[rows].mean())
        engine = float(probability(mean - threshold))  # the engine's own judgement of the pattern
        share = min(max((k + strength * engine) / (n + strength), 1e-6), 1 - 1e-6)
        target = threshold + float(np.log2(share / (1 - share)))
        corrections.append(Correction(tuple(int(x) for x in levels.G[rows[0]]), round(target - mean, 4), n, k))
    learned = Model(plain.comparisons, plain.prior, plain.tf_tables, plain.tf_max_boost, corrections)
    return matcher.with_model(learned).to_dict()


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
