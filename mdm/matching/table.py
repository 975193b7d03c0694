"""Records normalised into columns: the engine's working form of a data set.

A ``Table`` holds, per input column, a numpy object array of normalised
strings (``""`` when missing) and, computed on demand, integer codes (0 for
missing) shared by the columns of one comparison, so that exact agreement of
millions of candidate pairs is a comparison of integers.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import numpy as np

from mdm.matching.normalize import NORMALIZERS, normalize_value
from mdm.matching.spec import Spec


def normalize_record(spec: Spec, record: Mapping[str, Any]) -> dict[str, str]:
    """The record's compared columns, normalised (``""`` when missing)."""
    types = spec._column_types
    country_col = spec.country_column
    country = normalize_value("country", record.get(country_col)) if country_col else ""
    out = {}
    cc = country if len(country) == 2 and country.isalpha() else None  # only real ISO codes give a region
    for column, ftype in types.items():
        value = record.get(column)
        if column == country_col:
            out[column] = country
        elif value is None or value == "":
            out[column] = ""
        else:
            out[column] = NORMALIZERS[ftype](value, cc)
    return out


def vocabulary_groups(spec: Spec) -> dict[str, str]:
    """Columns compared with each other share one code vocabulary."""
    groups = {}
    for f in spec.fields:
        for column in (f.name, *f.alternatives):
            groups.setdefault(column, f.name)
        for column in (f.postcode, f.city):
            if column:
                groups.setdefault(column, column)
    return groups


class Table:
    def __init__(self, spec: Spec, columns: dict[str, np.ndarray]):
        self.spec = spec
        self.columns = columns
        self.n = len(next(iter(columns.values()))) if columns else 0
        self._groups = vocabulary_groups(spec)
        self._vocab: dict[str, dict[str, int]] = {}
        self._codes: dict[str, np.ndarray] = {}
        self._derived: dict[str, Any] = {}

    @classmethod
    def from_records(cls, spec: Spec, records: Iterable[Mapping[str, Any]],
                     on_row: Callable[[], None] | None = None) -> "Table":
        names = list(spec.column_types())
        lists: dict[str, list[str]] = {c: [] for c in names}
        for record in records:
            norm = normalize_record(spec, record)
            for c in names:
                lists[c].append(norm[c])
            if on_row:
                on_row()
        return cls.from_normalized(spec, lists)

    @classmethod
    def from_records_parallel(cls, spec: Spec, records: Iterable[Mapping[str, Any]], processes: int = 2,
                              chunk: int = 5000, on_rows: Callable[[int], None] | None = None) -> "Table":
        """As ``from_records``, with the normalisation spread over worker
        processes (records are sent in chunks; order is kept)."""
        import multiprocessing as mp

        names = list(spec.column_types())
        lists: dict[str, list[str]] = {c: [] for c in names}
        ctx = mp.get_context("fork")
        with ctx.Pool(processes, initializer=_init_worker, initargs=(spec,)) as pool:
            for part in pool.imap(_normalize_chunk, _chunks(records, chunk)):
                for c in names:
                    lists[c].extend(part[c])
                if on_rows:
                    on_rows(len(part[names[0]]))
        return cls.from_normalized(spec, lists)

    @classmethod
    def from_normalized(cls, spec: Spec, lists: Mapping[str, Iterable[str]]) -> "Table":
        columns = {}
        for c in spec.column_types():
            values = list(lists[c])
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            columns[c] = arr
        return cls(spec, columns)

    def values(self, column: str) -> np.ndarray:
        return self.columns[column]

    def vocabulary(self, column: str) -> dict[str, int]:
        self.codes(column)
        return self._vocab[self._groups.get(column, column)]

    def codes(self, column: str) -> np.ndarray:
        """Integer codes of the column's values: 0 = missing, equal values equal codes."""
        if column not in self._codes:
            vocab = self._vocab.setdefault(self._groups.get(column, column), {"": 0})
            values = self.columns[column]
            self._codes[column] = np.fromiter(
                (vocab.setdefault(v, len(vocab)) for v in values), dtype=np.int32, count=len(values))
        return self._codes[column]

    def derived(self, key: str, compute: Callable[[], Any]) -> Any:
        """A per-row array computed once (validity flags, split addresses, ...)."""
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def row(self, i: int) -> dict[str, str]:
        return {c: self.columns[c][i] for c in self.columns}

    def take(self, rows: np.ndarray) -> "Table":
        return Table(self.spec, {c: v[rows] for c, v in self.columns.items()})


_WORKER_SPEC: Spec | None = None


def _init_worker(spec: Spec) -> None:
    global _WORKER_SPEC
    _WORKER_SPEC = spec


def _normalize_chunk(records: list[Mapping[str, Any]]) -> dict[str, list[str]]:
    spec = _WORKER_SPEC
    names = list(spec.column_types())
    out: dict[str, list[str]] = {c: [] for c in names}
    for record in records:
        norm = normalize_record(spec, record)
        for c in names:
            out[c].append(norm[c])
    return out


def _chunks(records: Iterable[Mapping[str, Any]], size: int):
    batch: list = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
