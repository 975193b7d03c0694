"""CSV import through the ingest path: every row in its own transaction, so
a bad row never stops a good one and nothing is half-written."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Callable, Iterable

from mdm import defaults
from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.services.ingest import IngestError, ingest_record


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
                reason: str = "", on_row: Callable[[], None] | None = None, first_row: int = 2) -> ImportReport:
    """Ingest ``rows``; row numbers in the report count the CSV header as row 1."""
    report = ImportReport()
    with audit_context(origin=Origin.IMPORT, user=user, reason=reason or f"import {system} {entity_type}"):
        for number, row in enumerate(rows, start=first_row):
            data = {k: v for k, v in row.items() if k is not None and k != id_column and v not in (None, "")}
            try:
                if None in row:
                    raise IngestError({"row": ["has more values than the header has columns"]})
                result = ingest_record(system=system, entity_type=entity_type, source_id=row.get(id_column),
                                       data=data)
                report.counts[result.outcome] += 1
            except IngestError as exc:
                report.counts["rejected"] += 1
                for fld, messages in exc.errors.items():
                    for msg in messages:
                        report.errors.append((number, fld, msg))
            if on_row:
                on_row()
    return report


def read_csv(path):
    handle = open(path, newline="", encoding="utf-8-sig")
    return handle, csv.DictReader(handle)
