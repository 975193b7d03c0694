"""Deterministic matching on identifiers, for entity types too small to learn
match weights from (the firm's own legal entities: a dozen records).

Two records are the same thing when a strong identifier agrees (the company
code, the tax registration); names alone only ever go to review."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from mdm import canonical

STRONG = {
    "legal_entity": ("code", "tax_registration"),
    "contract": ("number", "opportunity_id"),
    "project": ("code",),
    "customer": ("tax_id", "registration_number", "lei", "duns"),
}
_NON_ALNUM = re.compile(r"[^0-9A-Z]")


def _norm(value) -> str:
    return _NON_ALNUM.sub("", str(value or "").upper())


class IdentifierMatcher:
    """The subset of ``mdm.matching.Matcher``'s interface the hub uses."""

    def __init__(self, entity_type: str):
        self.entity_type = entity_type
        self.strong = STRONG.get(entity_type, ())
        self.names = canonical.NAME_FIELDS[entity_type]

    def _name(self, record) -> str:
        return next((str(record[n]).lower() for n in self.names if record.get(n)), "")

    def blocking_keys(self, record) -> list[str]:
        keys = [f"{f}:{_norm(record[f])}" for f in self.strong if _norm(record.get(f))]
        name = re.sub(r"[^a-z0-9]", "", self._name(record))
        if name:
            keys.append(f"nm:{name[:6]}")
        return keys

    def score(self, a, b):
        explanation = []
        for f in self.strong:
            va, vb = _norm(a.get(f)), _norm(b.get(f))
            if va and vb:
                same = va == vb
                explanation.append({"field": f, "value_a": a.get(f), "value_b": b.get(f),
                                    "level": "exact" if same else "different", "weight": 10.0 if same else -10.0})
                return (0.99 if same else 0.01), explanation
        similarity = fuzz.token_set_ratio(self._name(a), self._name(b)) / 100
        explanation.append({"field": self.names[0], "value_a": self._name(a), "value_b": self._name(b),
                            "level": f"similarity {similarity:.2f}", "weight": 0.0})
        return 0.5 * similarity, explanation  # names alone never reach a match

    def score_many(self, record, candidates):
        return [self.score(record, c)[0] for c in candidates]

    thresholds = {"match": 0.9, "review": 0.4}

    def decide(self, score: float) -> str:
        t = self.thresholds
        return "match" if score >= t["match"] else "review" if score >= t["review"] else "new"
