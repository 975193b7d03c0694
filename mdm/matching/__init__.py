"""Record matching: normalise, block, score (Fellegi–Sunter), decide, cluster.

Public API (details in ``mdm.matching.engine``)::

    from mdm.matching import Matcher, builtin_spec, normalize_record, parse_spec

    matcher = Matcher(builtin_spec("customer")).fit(rows)      # rows: dicts of canonical fields
    params = matcher.to_dict()                                 # JSON: store it
    matcher = Matcher.from_dict(params)
    matcher.blocking_keys(record)   # ["tax:GB980780684", "dom:acme.com", "nm:ACME|GB", ...]
    score, explanation = matcher.score(a, b)
    matcher.decide(score)           # "match" | "review" | "new"
    result = matcher.dedupe(rows, ids, not_duplicates=[(id_a, id_b)], known_clusters={id: cluster})

Modules: ``spec`` (the match_file JSON contract), ``builtin`` (specs of the
hub's entities), ``normalize``/``legal_forms`` (normalisers), ``table``
(normalised columns), ``blocking``, ``comparisons`` (levels), ``model`` and
``training`` (m/u, EM, term frequencies), ``clustering``, ``learning``
(labels), ``chunks``/``tasks`` (Celery fan-out), ``files`` (CSV), ``bench``.
"""

from mdm.matching.builtin import builtin_spec
from mdm.matching.engine import DECISIONS, MATCH, NEW, REVIEW, DedupeResult, Matcher
from mdm.matching.spec import Spec, SpecError, load_spec, parse_spec
from mdm.matching.table import normalize_record

__all__ = [
    "Matcher", "DedupeResult", "normalize_record", "builtin_spec", "parse_spec", "load_spec", "Spec",
    "SpecError", "DECISIONS", "MATCH", "NEW", "REVIEW",
]
