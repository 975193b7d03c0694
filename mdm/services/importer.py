"""CSV import through the ingest path: every row in its own transaction, so
a bad row never stops a good one and nothing is half-written."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Callable, Iterable

from mdm import defaults
from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.services.ingest import IngestError, ingest_many


@dataclass
class ImportReport:
    counts: dict = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0})
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row number, field, message)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        return [f"row {row}: {fld}: {msg}" for row, fld, msg in self.errors]


def id_column_for(system: str, entity_type: str) -> str:
    return defaults.ID_FIELDS.get(system, {}).get(entity_type, "id")


def import_rows(system: str, entity_type: str, rows: Iterable[dict], *, id_column: str, user=None,
                reason: str = "", on_rows: Callable[[int], None] | None = None, first_row: int = 2,
                chunk: int = 500) -> ImportReport:
    """Ingest ``rows`` in chunks through the ingest path; row numbers in the
    report count the CSV header as row 1."""
    report = ImportReport()
    pending: list[tuple[int, object, dict]] = []

    def flush():
        if not pending:
            return
        results = ingest_many(system=system, entity_type=entity_type,
                              items=[(sid, data) for _, sid, data in pending])
        for (number, _, _), result in zip(pending, results):
            if isinstance(result, IngestError):
                report.counts["rejected"] += 1
                report.errors.extend((number, fld, msg) for fld, msgs in result.errors.items() for msg in msgs)
            else:
                report.counts[result.outcome] += 1
        if on_rows:
            on_rows(len(pending))
        pending.clear()

    with audit_context(origin=Origin.IMPORT, user=user, reason=reason or f"import {system} {entity_type}"):
        for number, row in enumerate(rows, start=first_row):
            if None in row:
                report.counts["rejected"] += 1
                report.errors.append((number, "row", "has more values than the header has columns"))
                if on_rows:
                    on_rows(1)
                continue
            data = {k: v for k, v in row.items() if k != id_column and v not in (None, "")}
            pending.append((number, row.get(id_column), data))
            if len(pending) >= chunk:
                flush()
        flush()
    return report


def read_csv(path):
    handle = open(path, newline="", encoding="utf-8-sig")
    return handle, csv.DictReader(handle)
