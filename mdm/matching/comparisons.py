"""Comparison levels per field type, computed for arrays of candidate pairs.

A comparison turns the values of a pair of records into a *level*: 0 is the
strongest agreement (exact, where term-frequency adjustment applies), higher
levels agree less, and the last level number (``len(labels)``) means "null":
a side is missing, which adds no evidence either way.

All work is vectorised over numpy arrays of row indices ``ia``/``ib``:
exact agreement compares integer codes, fuzzy similarity runs
``rapidfuzz.process.cpdist`` only over the pairs that are neither null nor
exact.  Fields with ``alternatives`` (legal vs trading name) take the best
level over every cross combination of their columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import distance, fuzz, process

from mdm.matching.normalize import split_address, tax_id_is_valid
from mdm.matching.spec import FieldSpec
from mdm.matching.table import Table

WORKERS = 1  # rapidfuzz threads; the engine raises it for big runs


def set_workers(n: int) -> None:
    global WORKERS
    WORKERS = n


def _cpdist(a: np.ndarray, b: np.ndarray, scorer) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0, dtype=np.float32)
    return process.cpdist(a, b, scorer=scorer, workers=WORKERS)


def _row_codes(table: Table, column: str, key: str, fn) -> np.ndarray:
    """Integer codes of ``fn(value)`` per row (0 when the value or result is
    empty), so that pairs compare a derived part with integer equality."""
    def compute():
        vocab: dict[str, int] = {"": 0}
        return np.fromiter((vocab.setdefault(fn(v) if v else "", len(vocab)) for v in table.values(column)),
                           dtype=np.int64, count=table.n)
    return table.derived(f"{key}:{column}", compute)


def _same_part(table: Table, ca: str, cb: str, ia, ib, key: str, fn) -> np.ndarray:
    if ca == cb:
        codes = _row_codes(table, ca, key, fn)
        a, b = codes[ia], codes[ib]
    else:  # different columns: compare the derived strings themselves
        a = np.asarray([fn(v) for v in table.values(ca)[ia]], dtype=object)
        b = np.asarray([fn(v) for v in table.values(cb)[ib]], dtype=object)
    return (a == b) & (a != 0) & (a != "")


def _jw(a, b):
    return _cpdist(a, b, distance.JaroWinkler.normalized_similarity)


def _lev(a, b):
    return _cpdist(a, b, distance.Levenshtein.distance)


@dataclass
class PairData:
    """The values of one column combination for a set of pairs."""

    codes_a: np.ndarray
    codes_b: np.ndarray
    values_a: np.ndarray  # only materialised for the pairs that need fuzzy work
    values_b: np.ndarray
    rows_a: np.ndarray
    rows_b: np.ndarray

    @property
    def null(self) -> np.ndarray:
        return (self.codes_a == 0) | (self.codes_b == 0)

    @property
    def exact(self) -> np.ndarray:
        return (self.codes_a == self.codes_b) & (self.codes_a != 0)


def _pair_data(table: Table, col_a: str, col_b: str, ia: np.ndarray, ib: np.ndarray) -> PairData:
    return PairData(table.codes(col_a)[ia], table.codes(col_b)[ib],
                    table.values(col_a), table.values(col_b), ia, ib)


class Comparison:
    """Base: subclasses define ``labels`` and ``_fuzzy_levels``.

    ``agree_levels``/``weak_levels`` say how a level counts when the
    comparison is one part of a ``CompositeComparison``; ``tf_levels`` are
    the exact levels that term-frequency adjustment applies to; ``blocks``
    (for conditioned comparisons) are groups of levels whose m and u are
    each normalised separately."""

    labels: tuple[str, ...] = ("exact", "different")
    conflict_level: int | None = None  # a level meaning "conflicting strong identifiers"
    agree_levels: tuple[int, ...] = (0,)
    weak_levels: tuple[int, ...] = ()
    blocks: list[list[int]] | None = None
    members: tuple["Comparison", ...] = ()  # the parts of a composite comparison
    condition: "CompositeComparison | None" = None  # what a conditioned comparison is read given

    def __init__(self, field: FieldSpec):
        self.field = field
        self.name = field.name

    @property
    def columns(self) -> tuple[str, ...]:
        return self.field.columns

    @property
    def tf_levels(self) -> tuple[int, ...]:
        return (0,) if self.field.uses_tf else ()

    @property
    def conflict_key(self) -> str | None:
        if self.conflict_level is None:
            return None
        return "country" if self.field.is_country else self.field.type

    @property
    def corroborating_levels(self) -> tuple[int, ...]:
        """Levels that back up a shared identifier (``training``): any
        agreement, strong or weak — but never a country, which two
        companies of one country share."""
        if self.field.is_country:
            return ()
        return (*self.agree_levels, *self.weak_levels)

    @property
    def null_level(self) -> int:
        return len(self.labels)

    @property
    def all_labels(self) -> tuple[str, ...]:
        return (*self.labels, "null")

    @property
    def combos(self) -> list[tuple[str, str]]:
        cols = (self.field.name, *self.field.alternatives)
        return [(a, b) for a in cols for b in cols]

    def levels(self, table: Table, ia: np.ndarray, ib: np.ndarray,
               context: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(level per pair, index of the column combination that gave it).
        ``context`` holds the levels of the comparisons computed before."""
        best = np.full(len(ia), self.null_level, dtype=np.int8)
        which = np.zeros(len(ia), dtype=np.int8)
        for k, (ca, cb) in enumerate(self.combos):
            todo = np.nonzero(best > 0)[0] if k else np.arange(len(ia))
            if len(todo) == 0:
                break
            lv = self._combo_levels(table, ca, cb, ia[todo], ib[todo])
            better = lv < best[todo]
            best[todo[better]] = lv[better]
            which[todo[better]] = k
        return best, which

    def _combo_levels(self, table: Table, ca: str, cb: str, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        pd = _pair_data(table, ca, cb, ia, ib)
        out = np.full(len(ia), len(self.labels) - 1, dtype=np.int8)
        null, exact = pd.null, pd.exact
        out[null] = self.null_level
        out[exact] = 0
        rest = np.nonzero(~null & ~exact)[0]
        if len(rest):
            out[rest] = self._fuzzy_levels(table, ca, cb, pd.values_a[ia[rest]], pd.values_b[ib[rest]],
                                           ia[rest], ib[rest])
        return out

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib) -> np.ndarray:
        return np.full(len(va), len(self.labels) - 1, dtype=np.int8)

    def describe(self, table: Table, i: int, j: int, combo: int) -> tuple[str, str]:
        ca, cb = self.combos[combo]
        return table.values(ca)[i], table.values(cb)[j]


def _bands(scores: list[tuple[np.ndarray, int]], default: int, n: int) -> np.ndarray:
    """Assign the first level whose condition holds (conditions in order)."""
    out = np.full(n, default, dtype=np.int8)
    assigned = np.zeros(n, dtype=bool)
    for condition, level in scores:
        hit = condition & ~assigned
        out[hit] = level
        assigned |= hit
    return out


class NameComparison(Comparison):
    """Typos and reorderings ("very similar") are told apart from names that
    only contain one another ("Acme" vs "Acme Digital": a trading name, or a
    sister company of the same group)."""

    labels = ("exact", "very similar", "one contains the other", "similar", "different")
    agree_levels, weak_levels = (0, 1), (2, 3)
    high, low = 0.92, 0.80

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        # Each test runs only on the pairs no earlier test has settled.
        out = np.full(len(va), 4, dtype=np.int8)
        close = np.maximum(_cutoff(va, vb, fuzz.ratio, 100 * self.low),
                           _cutoff(va, vb, fuzz.token_sort_ratio, 100 * self.low)) / 100.0
        out[close >= self.high] = 1
        rest = np.nonzero(close < self.high)[0]
        typo = self._typos(va[rest], vb[rest])
        out[rest[typo]] = 1
        rest = rest[~typo]
        contained = _cutoff(va[rest], vb[rest], fuzz.token_set_ratio, 95.0) >= 95.0
        out[rest[contained]] = 2
        rest = rest[~contained]
        similar = (close[rest] >= self.low) | (_cutoff(va[rest], vb[rest], distance.JaroWinkler.normalized_similarity,
                                                       0.88) >= 0.88)
        out[rest[similar]] = 3
        return out


    @staticmethod
    def _typos(va, vb) -> np.ndarray:
        """One slip (a letter dropped, doubled, swapped, mistyped) in a name
        of 5+ letters, or two in one of 10+: short names lose too much of
        their ratio to a single slip ("Magnoos" / "Magonos")."""
        if len(va) == 0:
            return np.zeros(0, dtype=bool)
        dist = process.cpdist(va, vb, scorer=distance.OSA.distance, score_cutoff=2, workers=WORKERS)
        shortest = np.minimum(np.fromiter(map(len, va), np.int64, len(va)), np.fromiter(map(len, vb), np.int64, len(vb)))
        return ((dist <= 1) & (shortest >= 5)) | ((dist <= 2) & (shortest >= 10))


def _cutoff(a, b, scorer, cutoff):
    if len(a) == 0:
        return np.zeros(0, dtype=np.float32)
    return process.cpdist(a, b, scorer=scorer, score_cutoff=cutoff, workers=WORKERS)


class TextComparison(NameComparison):
    high, low = 0.90, 0.75


class ExactComparison(Comparison):
    labels = ("exact", "one character off", "different")
    agree_levels = (0, 1)

    def __init__(self, field: FieldSpec):
        super().__init__(field)
        if field.is_country:
            self.labels = ("same country", "different country")
            self.conflict_level = 1

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        if self.field.is_country:
            return np.ones(len(va), dtype=np.int8)
        lengths = _row_lengths(table, ca)
        long_enough = np.minimum(lengths[ia], _row_lengths(table, cb)[ib]) >= 6
        return np.where(long_enough & (_lev(va, vb) <= 1), 1, 2).astype(np.int8)


class TaxIdComparison(Comparison):
    """A one-character difference is a typo even when both ids pass their
    check digits (a slip often does); two valid ids further apart conflict."""

    labels = ("exact", "one character off", "both valid and different", "different")
    conflict_level = 2
    agree_levels = (0, 1)

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        valid = _valid_tax_ids(table, ca)
        valid_b = _valid_tax_ids(table, cb)
        both_valid = valid[ia] & valid_b[ib]
        typo = _cpdist(va, vb, distance.OSA.distance) <= 1
        return _bands([(typo, 1), (both_valid, 2)], 3, len(va))


def _row_lengths(table: Table, column: str) -> np.ndarray:
    return table.derived(f"len:{column}", lambda: np.fromiter(map(len, table.values(column)), np.int64, table.n))


def _valid_tax_ids(table: Table, column: str) -> np.ndarray:
    def compute():
        vocab = table.vocabulary(column)
        valid_code = np.zeros(len(vocab) + 1, dtype=bool)
        for value, code in vocab.items():
            valid_code[code] = bool(value) and tax_id_is_valid(value)
        return valid_code[table.codes(column)]
    return table.derived(f"valid:{column}", compute)


class PostcodeComparison(Comparison):
    labels = ("exact", "one character off", "same district", "different")
    agree_levels, weak_levels = (0, 1), (2,)

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        prefix = _same_part(table, ca, cb, ia, ib, "district", lambda v: v[:3] if len(v) > 3 else "")
        return _bands([(_lev(va, vb) <= 1, 1), (prefix, 2)], 3, len(va))


class PhoneComparison(Comparison):
    labels = ("exact", "same subscriber number or one digit off", "different")
    agree_levels = (0, 1)

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        tail = _same_part(table, ca, cb, ia, ib, "subscriber", lambda v: v[-8:] if len(v) >= 8 else "")
        return _bands([(tail | (_lev(va, vb) <= 1), 1)], 2, len(va))


class EmailComparison(Comparison):
    labels = ("exact", "one typo", "same domain", "different")
    agree_levels, weak_levels = (0, 1), (2,)

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        same_domain = _same_part(table, ca, cb, ia, ib, "maildomain", lambda v: v.rsplit("@", 1)[-1])
        return _bands([(_lev(va, vb) <= 1, 1), (same_domain, 2)], 3, len(va))


class DomainComparison(Comparison):
    labels = ("exact", "same name, other suffix", "different")
    weak_levels = (1,)

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        same_name = _same_part(table, ca, cb, ia, ib, "domainname", lambda v: v.split(".", 1)[0])
        return _bands([(same_name, 1)], 2, len(va))


class DateComparison(Comparison):
    labels = ("exact", "one typo or day/month swapped", "two typos", "different")
    agree_levels, weak_levels = (0, 1), (2,)

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        lev = _lev(va, vb)
        swapped = np.fromiter((_swap_day_month(a) == b for a, b in zip(va, vb)), bool, len(va))
        return _bands([((lev <= 1) | swapped, 1), (lev <= 2, 2)], 3, len(va))


def _swap_day_month(iso: str) -> str:
    return f"{iso[:5]}{iso[8:10]}-{iso[5:7]}" if len(iso) == 10 and iso[4] == "-" else ""


class NumberComparison(Comparison):
    labels = ("exact", "within 1%", "within 10%", "different")
    agree_levels, weak_levels = (0, 1), (2,)

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        a, b = _floats(va), _floats(vb)
        scale = np.maximum(np.abs(a), np.abs(b))
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(scale > 0, np.abs(a - b) / scale, 0.0)
        rel = np.nan_to_num(rel, nan=1.0)
        return _bands([(rel <= 0.01, 1), (rel <= 0.10, 2)], 3, len(va))


def _floats(values: np.ndarray) -> np.ndarray:
    def conv(v):
        try:
            return float(v)
        except ValueError:
            return np.nan
    return np.fromiter((conv(v) for v in values), float, len(values))


class AddressComparison(Comparison):
    """Street (house numbers + street words), postcode and city as one piece of
    evidence: they are strongly correlated, so counting them separately would
    over-weight an address that a whole corporate group shares."""

    labels = ("same street address", "similar street, same number", "same postcode", "same city", "different")
    agree_levels, weak_levels = (0, 1), (2, 3)

    @property
    def combos(self) -> list[tuple[str, str]]:
        return [(self.field.name, self.field.name)]

    def _combo_levels(self, table, ca, cb, ia, ib):
        street = _pair_data(table, ca, cb, ia, ib)
        post = self._part(table, self.field.postcode, ia, ib)
        city = self._part(table, self.field.city, ia, ib)
        post_ok = post.null | post.exact
        similar = self._similar_street(table, ca, street, ia, ib)
        out = _bands([
            (street.exact & post_ok, 0),
            (similar & post_ok, 1),
            (post.exact, 2),
            (self._same_city(table, city), 3),
        ], 4, len(ia))
        out[street.null & post.null & city.null] = self.null_level
        return out

    def _same_city(self, table, city: PairData) -> np.ndarray:
        """Exact, or one name containing the other ("Dallas TX", "Newcastle
        upon Tyne"), or a typo."""
        same = city.exact.copy()
        rest = np.nonzero(~city.null & ~city.exact)[0]
        if len(rest):
            column = self.field.city
            va, vb = table.values(column)[city.rows_a[rest]], table.values(column)[city.rows_b[rest]]
            contained = _cpdist(va, vb, fuzz.token_set_ratio) >= 99.0
            same[rest] = contained | (_jw(va, vb) >= 0.94)
        return same

    def _part(self, table, column, ia, ib) -> PairData:
        if column is None:
            zeros = np.zeros(len(ia), dtype=np.int32)
            return PairData(zeros, zeros, np.empty(0, object), np.empty(0, object), ia, ib)
        return _pair_data(table, column, column, ia, ib)

    def _similar_street(self, table, column, street: PairData, ia, ib) -> np.ndarray:
        numbers, words = table.derived(f"address:{column}", lambda: _split_column(table.values(column)))
        candidates = np.nonzero(~street.null & ~street.exact)[0]
        similar = np.zeros(len(ia), dtype=bool)
        if len(candidates):
            na, nb = numbers[ia[candidates]], numbers[ib[candidates]]
            same_number = (na == nb) | (na == "") | (nb == "")
            sim = _jw(words[ia[candidates]], words[ib[candidates]])
            similar[candidates] = same_number & (sim >= 0.88)
        return similar

    def describe(self, table, i, j, combo):
        def full(r):
            parts = [table.values(self.field.name)[r]]
            parts += [table.values(c)[r] for c in (self.field.postcode, self.field.city) if c]
            return ", ".join(p for p in parts if p)
        return full(i), full(j)


def _split_column(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    numbers = np.empty(len(values), dtype=object)
    words = np.empty(len(values), dtype=object)
    for k, v in enumerate(values):
        numbers[k], words[k] = split_address(v)
    return numbers, words


class CompositeComparison(Comparison):
    """Several correlated fields read as one piece of evidence (spec key
    ``"combine": "<name>"``).  A corporate group's members share a website,
    a switchboard and a head office: counted as independent fields, that
    shared contact would add up to far more evidence than it is.  The level
    counts how many parts agree, only weakly agree (same city, same domain
    name under another suffix) or differ."""

    labels = ("one part compared: agrees", "one part compared: weakly agrees", "one part compared: differs",
              "two or more agree", "one agrees, none differ", "one agrees, another differs",
              "only weak agreement, none differ", "weak agreement, another differs", "all differ")
    # m and u are estimated separately for "one part comparable" and "several":
    # which parts a pair can compare depends on the systems the records come
    # from, and should not masquerade as evidence.
    blocks = [[0, 1, 2], [3, 4, 5, 6, 7, 8]]
    shared_levels = (0, 3, 4, 5)  # some part agrees
    weak_levels = (1, 6, 7)  # only weak agreement (same city, postcode, domain name)

    def __init__(self, name: str, members: list[Comparison]):
        self.name = name
        self.members = tuple(members)
        self.field = members[0].field

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for m in self.members for c in m.columns))

    @property
    def tf_levels(self) -> tuple[int, ...]:
        return ()

    @property
    def conflict_key(self) -> str | None:
        return None

    @property
    def corroborating_levels(self) -> tuple[int, ...]:
        return self.shared_levels  # a shared city alone is no backing: strangers share one

    @property
    def combos(self) -> list[tuple[str, str]]:
        return [(self.field.name, self.field.name)]

    def levels(self, table, ia, ib, context=None):
        agree = np.zeros(len(ia), dtype=np.int8)
        weak = np.zeros(len(ia), dtype=np.int8)
        differ = np.zeros(len(ia), dtype=np.int8)
        for member in self.members:
            lv, _ = member.levels(table, ia, ib)
            a, w = np.isin(lv, member.agree_levels), np.isin(lv, member.weak_levels)
            agree += a
            weak += w
            differ += ~a & ~w & (lv != member.null_level)
        one = (agree + weak + differ) == 1
        out = _bands([(one & (agree == 1), 0), (one & (weak == 1), 1), (one & (differ == 1), 2),
                      (agree >= 2, 3), ((agree == 1) & (differ == 0), 4), (agree == 1, 5),
                      ((weak >= 1) & (differ == 0), 6), (weak >= 1, 7), (differ >= 1, 8)], self.null_level, len(ia))
        return out, np.zeros(len(ia), dtype=np.int8)

    def describe(self, table, i, j, combo):
        parts_a, parts_b = [], []
        for member in self.members:
            lv, which = member.levels(table, np.array([i]), np.array([j]))
            a, b = member.describe(table, i, j, int(which[0]))
            parts_a.append(f"{member.name}={a}" if a else "")
            parts_b.append(f"{member.name}={b}" if b else "")
        return "; ".join(p for p in parts_a if p), "; ".join(p for p in parts_b if p)


class ConditionedComparison(Comparison):
    """A comparison read in the light of a composite one (spec key
    ``"given": "<combine name>"``): its levels are split three ways — the
    composite's parts agree, only weakly agree (same city), or neither — and
    m and u are estimated within each third.  Two names where one contains
    the other ("Acme" / "Acme Digital") are good evidence between strangers,
    but little when the records already share a website or a head office, or
    even just a city: that is what sister companies look like."""

    STATES = ("", "same {} area", "{} also agrees")

    def __init__(self, inner: Comparison, condition: CompositeComparison):
        self.inner, self.condition = inner, condition
        self.field, self.name = inner.field, inner.name
        n = len(inner.labels)
        self.labels = tuple(label + (f", {state.format(condition.name)}" if state else "")
                            for state in self.STATES for label in inner.labels)
        self.blocks = [list(range(k * n, (k + 1) * n)) for k in range(len(self.STATES))]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.inner.columns

    @property
    def tf_levels(self) -> tuple[int, ...]:
        n = len(self.inner.labels)
        return tuple(level + n * k for level in self.inner.tf_levels for k in range(len(self.STATES)))

    @property
    def corroborating_levels(self) -> tuple[int, ...]:
        n = len(self.inner.labels)
        return tuple(level + n * k for level in self.inner.corroborating_levels for k in range(len(self.STATES)))

    @property
    def combos(self) -> list[tuple[str, str]]:
        return self.inner.combos

    def levels(self, table, ia, ib, context=None):
        inner, which = self.inner.levels(table, ia, ib)
        if context is not None and self.condition.name in context:
            cond = context[self.condition.name]
        else:
            cond, _ = self.condition.levels(table, ia, ib)
        state = np.where(np.isin(cond, self.condition.shared_levels), 2,
                         np.where(np.isin(cond, self.condition.weak_levels), 1, 0))
        n = len(self.inner.labels)
        out = np.where(inner == self.inner.null_level, self.null_level, inner + n * state).astype(np.int8)
        return out, which

    def describe(self, table, i, j, combo):
        return self.inner.describe(table, i, j, combo)


COMPARISONS = {
    "text": TextComparison, "org_name": NameComparison, "person_name": NameComparison,
    "exact": ExactComparison, "date": DateComparison, "number": NumberComparison,
    "postcode": PostcodeComparison, "phone": PhoneComparison, "email": EmailComparison,
    "domain": DomainComparison, "tax_id": TaxIdComparison, "address": AddressComparison,
}


def build_comparisons(fields) -> list[Comparison]:
    """One comparison per field; fields sharing a ``combine`` name become one
    composite (listed first, so conditioned comparisons can read its levels)."""
    groups: dict[str, list[Comparison]] = {}
    for f in fields:
        if f.combine:
            groups.setdefault(f.combine, []).append(COMPARISONS[f.type](f))
    composites = {name: CompositeComparison(name, members) for name, members in groups.items()}
    out: list[Comparison] = list(composites.values())
    for f in fields:
        if f.combine:
            continue
        comparison = COMPARISONS[f.type](f)
        out.append(ConditionedComparison(comparison, composites[f.given]) if f.given else comparison)
    return out
