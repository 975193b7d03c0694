"""Large runs as independent chunks of candidate pairs.

``make_chunks`` cuts the candidate pairs of a batch into self-contained,
JSON-serialisable payloads (the normalised values of just the rows involved,
their ids and the pairs as row offsets); ``score_chunk`` scores one payload
with serialised parameters (``Matcher.to_dict()``).  A Celery chord fans
``mdm.matching.tasks.score_chunk`` out over workers and a callback gathers
the pairs at or above review; locally the same chunks run in a process pool
or one after the other.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from mdm.matching.engine import DECISIONS, Matcher
from mdm.matching.table import Table


def make_chunks(table: Table, ids: Sequence[str], ia: np.ndarray, ib: np.ndarray,
                size: int = 200_000) -> Iterator[dict[str, Any]]:
    """Payloads of at most ``size`` pairs each."""
    for s in range(0, len(ia), size):
        a, b = ia[s:s + size], ib[s:s + size]
        rows, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
        yield {
            "ids": [str(ids[r]) for r in rows],
            "columns": {c: table.values(c)[rows].tolist() for c in table.columns},
            "pairs": [inverse[:len(a)].tolist(), inverse[len(a):].tolist()],
        }


def score_chunk(params: Mapping[str, Any], chunk: Mapping[str, Any], keep_below_review: bool = False
                ) -> dict[str, list]:
    """Score one payload; returns the pairs at or above review (or all)."""
    matcher = Matcher.from_dict(params)
    table = Table.from_normalized(matcher.spec, chunk["columns"])
    ia = np.asarray(chunk["pairs"][0], dtype=np.int64)
    ib = np.asarray(chunk["pairs"][1], dtype=np.int64)
    scores = matcher.score_table(table, ia, ib)
    decisions = matcher.decisions(scores)
    keep = np.ones(len(ia), bool) if keep_below_review else decisions > 0
    ids = chunk["ids"]
    return {
        "id_a": [ids[i] for i in ia[keep]],
        "id_b": [ids[i] for i in ib[keep]],
        "score": [round(float(x), 6) for x in scores[keep]],
        "decision": [DECISIONS[d] for d in decisions[keep]],
    }


def merge_results(results: Sequence[Mapping[str, list]]) -> dict[str, list]:
    """Concatenate the outputs of ``score_chunk`` (a chord's callback)."""
    out: dict[str, list] = {"id_a": [], "id_b": [], "score": [], "decision": []}
    for r in results:
        for k in out:
            out[k].extend(r[k])
    return out
