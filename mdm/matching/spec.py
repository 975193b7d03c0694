"""Match specifications: which columns are compared, how, and the thresholds.

A spec is the JSON contract of ``match_file`` (see DESIGN.md)::

    {"fields": [{"name": "<column>", "type": "<type>"}, ...],
     "blocking": [["<column>", ...], ...],          # optional
     "thresholds": {"match": 0.9, "review": 0.3}}   # optional; or in bits:
                                                    # {"match_bits": 18, "review_bits": 6}

Extra keys are allowed.  The engine understands these optional field keys:

``alternatives``  other columns holding the same kind of value (a customer's
                  trading name next to its legal name); the comparison takes
                  the best of all cross comparisons.
``postcode``/``city``  (type ``address``) columns folded into one address
                  comparison, so that street, postcode and city are not
                  counted as three independent pieces of evidence.
``role: "country"``  the column holds the record's country: it is normalised
                  to ISO alpha-2, gives phones and tax ids their default
                  region, qualifies name blocking keys, and different
                  countries weigh heavily against a match.
``tf``            term-frequency adjustment on exact agreement (default on
                  for names, text, domains, e-mails, phones, postcodes,
                  addresses; off for tax ids and countries).
``combine``       fields with the same combine name are compared as one
                  piece of evidence (correlated fields: website, phone and
                  address of a company that shares them with its group).
``given``         the field's evidence is read separately depending on
                  whether the named combined fields agree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

FIELD_TYPES = (
    "text", "org_name", "person_name", "exact", "date", "number", "postcode",
    "phone", "email", "domain", "tax_id", "address",
)
TF_DEFAULT = {"text", "org_name", "person_name", "exact", "domain", "email", "phone", "postcode", "address"}
COUNTRY_NAMES = {"country", "country_code", "countrycode", "country_iso"}


class SpecError(ValueError):
    """The spec is not usable; the message says why, for a person to fix."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    alternatives: tuple[str, ...] = ()
    postcode: str | None = None
    city: str | None = None
    role: str | None = None
    tf: bool | None = None
    combine: str | None = None
    given: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column this comparison reads."""
        extra = tuple(c for c in (self.postcode, self.city) if c)
        return (self.name, *self.alternatives, *extra)

    @property
    def is_country(self) -> bool:
        return self.role == "country"

    @property
    def uses_tf(self) -> bool:
        if self.tf is not None:
            return self.tf
        return self.type in TF_DEFAULT and not self.is_country


@dataclass(frozen=True)
class Spec:
    fields: tuple[FieldSpec, ...]
    blocking: tuple[tuple[str, ...], ...] | None = None
    thresholds: dict[str, float] | None = None
    entity_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @cached_property
    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.fields:
            for c in f.columns:
                seen.setdefault(c)
        return list(seen)

    @cached_property
    def country_column(self) -> str | None:
        for f in self.fields:
            if f.is_country:
                return f.name
        return None

    def column_types(self) -> dict[str, str]:
        """The normaliser type of every input column."""
        return dict(self._column_types)

    @cached_property
    def _column_types(self) -> dict[str, str]:
        types: dict[str, str] = {}
        for f in self.fields:
            types.setdefault(f.name, "country" if f.is_country else f.type)
            for alt in f.alternatives:
                types.setdefault(alt, f.type)
            if f.postcode:
                types.setdefault(f.postcode, "postcode")
            if f.city:
                types.setdefault(f.city, "city")
        return types

    def to_dict(self) -> dict[str, Any]:
        fields = []
        for f in self.fields:
            d = {k: v for k, v in asdict(f).items() if v not in (None, ())}
            if f.alternatives:
                d["alternatives"] = list(f.alternatives)
            fields.append(d)
        out: dict[str, Any] = {**self.extra, "fields": fields}
        if self.blocking is not None:
            out["blocking"] = [list(b) for b in self.blocking]
        if self.thresholds is not None:
            out["thresholds"] = dict(self.thresholds)
        if self.entity_type:
            out["entity_type"] = self.entity_type
        return out


def _parse_field(raw: Any, i: int) -> FieldSpec:
    if not isinstance(raw, dict):
        raise SpecError(f"fields[{i}] must be an object with 'name' and 'type'")
    name, ftype = raw.get("name"), raw.get("type")
    if not isinstance(name, str) or not name:
        raise SpecError(f"fields[{i}] needs a non-empty 'name'")
    if ftype not in FIELD_TYPES:
        raise SpecError(f"fields[{i}] ({name}): type {ftype!r} is not one of {', '.join(FIELD_TYPES)}")
    alternatives = raw.get("alternatives") or ()
    if isinstance(alternatives, str) or not all(isinstance(a, str) for a in alternatives):
        raise SpecError(f"fields[{i}] ({name}): 'alternatives' must be a list of column names")
    role = raw.get("role")
    if role is None and ftype == "exact" and name.lower() in COUNTRY_NAMES:
        role = "country"
    tf = raw.get("tf")
    combine, given = raw.get("combine"), raw.get("given")
    if combine is not None and given is not None:
        raise SpecError(f"fields[{i}] ({name}): a field cannot both 'combine' and be 'given'")
    return FieldSpec(
        name=name, type=ftype, alternatives=tuple(alternatives),
        postcode=raw.get("postcode"), city=raw.get("city"), role=role,
        tf=bool(tf) if tf is not None else None,
        combine=str(combine) if combine is not None else None, given=str(given) if given is not None else None,
    )


BIT_THRESHOLDS = ("match_bits", "review_bits", "sole_match_bits")


def _parse_thresholds(raw: Any) -> dict[str, float] | None:
    """``match`` and ``review`` probabilities, or instead of either the
    evidence a pair's fields must give, in bits (``match_bits``,
    ``review_bits``: the log2 Bayes factor, the match weight without the
    prior).  A probability depends on the prior, and the prior on the data
    size (a pair among a million records is less likely a match than among
    a thousand); a Bayes factor does not, so thresholds in bits decide the
    same pair the same way at any size.  ``sole_match_bits`` (optional, with
    bits) links a record whose only plausible partner is one cluster when
    the pair reaches it (see ``clustering.settle_reviews``)."""
    if raw is None:
        return None
    if (not isinstance(raw, dict) or not ({"match", "match_bits"} & set(raw))
            or not ({"review", "review_bits"} & set(raw))):
        raise SpecError("thresholds must be an object with 'match' (or 'match_bits') and 'review' "
                        "(or 'review_bits')")
    try:
        out = {k: float(raw[k]) for k in ("match", "review", *BIT_THRESHOLDS) if k in raw}
    except (TypeError, ValueError):
        raise SpecError("thresholds must be numbers") from None
    match, review = out.get("match", 1.0), out.get("review", 0.0)
    if not (0 <= review <= match <= 1):
        raise SpecError(f"thresholds need 0 <= review <= match <= 1, got review={review}, match={match}")
    if "match_bits" in out and "review_bits" in out and out["review_bits"] > out["match_bits"]:
        raise SpecError(f"thresholds need review_bits <= match_bits, got review_bits={out['review_bits']}, "
                        f"match_bits={out['match_bits']}")
    if "sole_match_bits" in out and "review_bits" not in out:
        raise SpecError("sole_match_bits needs review_bits")
    return out


def _parse_blocking(raw: Any, columns: list[str]) -> tuple[tuple[str, ...], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(b, list) and b for b in raw):
        raise SpecError("blocking must be a list of non-empty lists of column names")
    for rule in raw:
        for col in rule:
            if col not in columns:
                raise SpecError(f"blocking uses column {col!r}, which no field of the spec names")
    return tuple(tuple(rule) for rule in raw)


def parse_spec(raw: Any) -> Spec:
    """Validate a spec (a dict as loaded from JSON) into a ``Spec``."""
    if isinstance(raw, Spec):
        return raw
    if not isinstance(raw, dict):
        raise SpecError("the spec must be a JSON object with a 'fields' list")
    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise SpecError("the spec needs a non-empty 'fields' list")
    fields = tuple(_parse_field(f, i) for i, f in enumerate(raw_fields))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise SpecError("each field name may appear only once in 'fields'")
    if sum(f.is_country for f in fields) > 1:
        raise SpecError("only one field may have role 'country'")
    groups = {f.combine for f in fields if f.combine}
    for f in fields:
        if f.given and f.given not in groups:
            raise SpecError(f"field {f.name}: 'given' names {f.given!r}, which no field 'combine's into")
        if f.combine in names:
            raise SpecError(f"field {f.name}: combine name {f.combine!r} clashes with a field name")
    spec = Spec(fields=fields, thresholds=_parse_thresholds(raw.get("thresholds")),
                entity_type=raw.get("entity_type"),
                extra={k: v for k, v in raw.items() if k not in {"fields", "blocking", "thresholds", "entity_type"}})
    blocking = _parse_blocking(raw.get("blocking"), spec.columns)
    return Spec(fields=spec.fields, blocking=blocking, thresholds=spec.thresholds,
                entity_type=spec.entity_type, extra=spec.extra)


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file; any problem is a ``SpecError``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror or exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"spec {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return parse_spec(raw)
