"""Identifier and name agreement, used only while mdm.matching is absent."""

from rapidfuzz import fuzz

from mdm import canonical


def builtin_spec(entity_type):
    return entity_type


class Matcher:
    def __init__(self, spec, params=None):
        self.entity_type = spec

    def _name(self, r):
        return " ".join((r.get(n) or "") for n in canonical.NAME_FIELDS[self.entity_type][:1]).lower().strip() or (
            (r.get(canonical.NAME_FIELDS[self.entity_type][1]) or "").lower())

    def blocking_keys(self, r):
        keys = []
        for f in ("tax_id", "code", "number", "registration_number"):
            if r.get(f):
                keys.append(f"{f}:{r[f].replace(' ', '').upper()}")
        name = self._name(r)
        if name:
            keys.append("nm:" + name[:4])
        return keys

    def score(self, a, b):
        for f in ("tax_id", "code", "number"):
            if a.get(f) and b.get(f):
                same = a[f].replace(" ", "").upper() == b[f].replace(" ", "").upper()
                return (0.99 if same else 0.05), []
        return fuzz.token_set_ratio(self._name(a), self._name(b)) / 100 * 0.85, []

    def decide(self, score):
        return "match" if score >= 0.9 else "review" if score >= 0.6 else "new"

    def score_many(self, record, candidates):
        return [self.score(record, c)[0] for c in candidates]
