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
    """Base: subclasses define ``labels`` and ``_fuzzy_levels``."""

    labels: tuple[str, ...] = ("exact", "different")
    conflict_level: int | None = None  # a level meaning "conflicting strong identifiers"

    def __init__(self, field: FieldSpec):
        self.field = field
        self.name = field.name

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

    @property
    def uses_tf(self) -> bool:
        return self.field.uses_tf

    def levels(self, table: Table, ia: np.ndarray, ib: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(level per pair, index of the column combination that gave it)."""
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
    labels = ("exact", "very similar", "similar or contained", "somewhat similar", "different")
    high, mid, low = 0.93, 0.85, 0.70

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        sim = np.maximum(_jw(va, vb), _cpdist(va, vb, fuzz.token_sort_ratio) / 100.0)
        contained = np.zeros(len(va), dtype=bool)
        check = np.nonzero(sim < self.mid)[0]
        if len(check):
            contained[check] = _cpdist(va[check], vb[check], fuzz.token_set_ratio) >= 95.0
        return _bands([(sim >= self.high, 1), ((sim >= self.mid) | contained, 2), (sim >= self.low, 3)],
                      4, len(va))


class TextComparison(NameComparison):
    high, mid, low = 0.92, 0.80, 0.65


class ExactComparison(Comparison):
    labels = ("exact", "one character off", "different")

    def __init__(self, field: FieldSpec):
        super().__init__(field)
        if field.is_country:
            self.labels = ("same country", "different country")
            self.conflict_level = 1

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        if self.field.is_country:
            return np.ones(len(va), dtype=np.int8)
        long_enough = np.fromiter((min(len(a), len(b)) >= 6 for a, b in zip(va, vb)), bool, len(va))
        return np.where(long_enough & (_lev(va, vb) <= 1), 1, 2).astype(np.int8)


class TaxIdComparison(Comparison):
    labels = ("exact", "one character off", "both valid and different", "different")
    conflict_level = 2

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        valid = _valid_tax_ids(table, ca)
        valid_b = _valid_tax_ids(table, cb)
        both_valid = valid[ia] & valid_b[ib]
        return _bands([(both_valid, 2), (_lev(va, vb) <= 1, 1)], 3, len(va))


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

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        prefix = np.fromiter((a[:3] == b[:3] and len(a) > 3 for a, b in zip(va, vb)), bool, len(va))
        return _bands([(_lev(va, vb) <= 1, 1), (prefix, 2)], 3, len(va))


class PhoneComparison(Comparison):
    labels = ("exact", "same subscriber number or one digit off", "different")

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        tail = np.fromiter((len(a) >= 8 and a[-8:] == b[-8:] for a, b in zip(va, vb)), bool, len(va))
        return _bands([(tail | (_lev(va, vb) <= 1), 1)], 2, len(va))


class EmailComparison(Comparison):
    labels = ("exact", "one typo", "same domain", "different")

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        same_domain = np.fromiter((a.rsplit("@", 1)[-1] == b.rsplit("@", 1)[-1] for a, b in zip(va, vb)),
                                  bool, len(va))
        return _bands([(_lev(va, vb) <= 1, 1), (same_domain, 2)], 3, len(va))


class DomainComparison(Comparison):
    labels = ("exact", "same name, other suffix", "different")

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        same_name = np.fromiter((a.split(".", 1)[0] == b.split(".", 1)[0] for a, b in zip(va, vb)),
                                bool, len(va))
        return _bands([(same_name, 1)], 2, len(va))


class DateComparison(Comparison):
    labels = ("exact", "one typo or day/month swapped", "two typos", "different")

    def _fuzzy_levels(self, table, ca, cb, va, vb, ia, ib):
        lev = _lev(va, vb)
        swapped = np.fromiter((_swapped(a, b) for a, b in zip(va, vb)), bool, len(va))
        return _bands([((lev <= 1) | swapped, 1), (lev <= 2, 2)], 3, len(va))


def _swapped(a: str, b: str) -> bool:
    return len(a) == len(b) == 10 and a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


class NumberComparison(Comparison):
    labels = ("exact", "within 1%", "within 10%", "different")

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
            (city.exact, 3),
        ], 4, len(ia))
        out[street.null & post.null & city.null] = self.null_level
        return out

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


COMPARISONS = {
    "text": TextComparison, "org_name": NameComparison, "person_name": NameComparison,
    "exact": ExactComparison, "date": DateComparison, "number": NumberComparison,
    "postcode": PostcodeComparison, "phone": PhoneComparison, "email": EmailComparison,
    "domain": DomainComparison, "tax_id": TaxIdComparison, "address": AddressComparison,
}


def build_comparisons(fields) -> list[Comparison]:
    return [COMPARISONS[f.type](f) for f in fields]
