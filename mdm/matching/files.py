"""Deduplicating a CSV file against a spec: the engine of ``match_file``."""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from mdm.matching.engine import DedupeResult, Matcher, Progress
from mdm.matching.spec import Spec, SpecError, load_spec


class InputError(ValueError):
    """The input file cannot be used; the message says why."""


@dataclass
class FileRun:
    rows: int
    candidates: int
    written: int
    matches: int
    thresholds: dict[str, float]


def read_rows(path: str | Path, spec: Spec, id_column: str) -> tuple[list[dict], list[str]]:
    """The CSV's rows and ids, after checking it has every column the spec names."""
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with fh:
        try:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            _check_header(header, spec, id_column, path)
            rows = list(reader)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{path} is not a readable UTF-8 CSV file: {exc}") from None
    ids = [r.get(id_column) or "" for r in rows]
    _check_ids(ids, id_column)
    return rows, ids


def _check_header(header: list[str], spec: Spec, id_column: str, path) -> None:
    if not header:
        raise InputError(f"{path} is empty: a header line is needed")
    if id_column not in header:
        raise InputError(f"{path} has no id column {id_column!r} (columns: {', '.join(header)}); "
                         "name one with --id-column")
    missing = [c for c in spec.columns if c not in header]
    if missing:
        raise InputError(f"{path} lacks the column(s) the spec compares: {', '.join(missing)}")


def _check_ids(ids: list[str], id_column: str) -> None:
    blank = sum(1 for i in ids if not i)
    if blank:
        raise InputError(f"{blank} row(s) have an empty {id_column!r}")
    if len(set(ids)) != len(ids):
        seen, dupes = set(), set()
        for i in ids:
            (dupes if i in seen else seen).add(i)
        raise InputError(f"ids must be unique; repeated: {', '.join(sorted(dupes)[:5])}")


def parent_links(spec: Spec, rows: list[dict], ids: list[str]) -> list[tuple[str, str]]:
    """(row id, its parent's id) for the spec's optional ``"parent"`` column,
    which holds the id of the row's parent (a division's head company): a
    row and its parent are a hierarchy, never matched nor proposed."""
    column = spec.extra.get("parent")
    if column is None:
        return []
    if not isinstance(column, str) or not column:
        raise SpecError('"parent" must name the column holding the id of each row\'s parent')
    if rows and column not in rows[0]:
        raise InputError(f"the spec's parent column {column!r} is not in the file")
    return [(i, r[column].strip()) for i, r in zip(ids, rows) if (r.get(column) or "").strip()]


def write_pairs(path: str | Path, result: DedupeResult) -> int:
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id_a", "id_b", "score", "decision"])
        for a, b, score, decision in result.pairs():
            writer.writerow([a, b, f"{score:.4f}", decision])
            n += 1
    return n


def match_file(input_path: str | Path, spec_path: str | Path, out_path: str | Path, id_column: str = "id",
               not_duplicates: Iterable[tuple[str, str]] = (), progress: Progress | None = None,
               workers: int = 1) -> FileRun:
    """Deduplicate ``input_path`` and write ``id_a,id_b,score,decision`` for
    every pair at or above the review threshold."""
    spec = load_spec(spec_path)
    rows, ids = read_rows(input_path, spec, id_column)
    not_duplicates = [*not_duplicates, *parent_links(spec, rows, ids)]
    matcher = Matcher(spec, workers=workers, processes=workers if len(rows) >= 50_000 else 1)
    result = matcher.dedupe(rows, ids, not_duplicates=not_duplicates, progress=progress)
    written = write_pairs(out_path, result)
    return FileRun(len(rows), result.n_candidates, written, int((result.decision == 2).sum()), result.thresholds)


class TqdmProgress:
    """A progress callback drawing one tqdm bar per stage on stderr."""

    def __init__(self, disable: bool = False):
        self.disable = disable
        self.bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total or None, desc=stage, unit=" rows" if stage == "normalise"
                                          else " pairs", file=sys.stderr, disable=self.disable, leave=True)
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


__all__ = ["InputError", "SpecError", "match_file", "read_rows", "TqdmProgress"]
