"""Write the demo data as CSV files, one per (system, entity type), in each
system's own column names, plus the customer ground truth."""

from __future__ import annotations

import csv
import os
import time
from contextlib import ExitStack
from pathlib import Path

from mdm.demo.generator import DemoGenerator, field_names_for

TRUTH_COLUMNS = ["system", "source_id", "truth_id", "group_id", "parent_truth_id"]


def write_demo_csvs(out_dir: str | os.PathLike, n_customers: int = 2000, seed: int = 42,
                    progress: bool = True) -> dict:
    """Generate and write everything; returns counts per file and timing.

    Files: ``<system>_<entity_type>.csv`` (e.g. ``crm_customer.csv``,
    ``erp_legal_entity.csv``) with the id column first, then the mapped
    fields in ``MAPPINGS`` order; and ``truth_customer.csv`` with
    ``system, source_id, truth_id, group_id, parent_truth_id``.
    """
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gen = DemoGenerator(n_customers=n_customers, seed=seed)
    counts: dict[str, int] = {}
    writers: dict[tuple[str, str], tuple] = {}
    started = time.perf_counter()
    with ExitStack() as stack, tqdm(total=gen.estimated_rows(), unit="rows", desc="demo data",
                                    disable=not progress, mininterval=0.5, smoothing=0.1) as bar:
        def writer_for(system: str, entity_type: str):
            w = writers.get((system, entity_type))
            if w is None:
                name = f"{system}_{entity_type}.csv"
                fh = stack.enter_context(open(out / name, "w", newline="", encoding="utf-8"))
                fields = field_names_for(system, entity_type)
                cw = csv.writer(fh)
                cw.writerow(fields)
                counts[name] = 0
                w = writers[(system, entity_type)] = (cw.writerow, fields, name)
            return w

        truth_fh = stack.enter_context(open(out / "truth_customer.csv", "w", newline="", encoding="utf-8"))
        truth = csv.writer(truth_fh)
        truth.writerow(TRUTH_COLUMNS)
        counts["truth_customer.csv"] = 0
        pending = 0

        def emit(row):
            nonlocal pending
            writerow, fields, name = writer_for(row.system, row.entity_type)
            data = row.data
            writerow([data[f] for f in fields])
            counts[name] += 1
            pending += 1
            if pending >= 2000:
                bar.update(pending)
                pending = 0

        for row in gen.legal_entity_rows():
            emit(row)
        for row, co in gen._customer_pass():
            emit(row)
            truth.writerow([row.system, row.source_id, row.truth_id, row.group_id or "",
                            co.parent.truth_id if co.parent else ""])
            counts["truth_customer.csv"] += 1
        for row in gen.contract_rows():
            emit(row)
        for row in gen.project_rows():
            emit(row)
        bar.update(pending)
    elapsed = time.perf_counter() - started
    total = sum(v for k, v in counts.items() if k != "truth_customer.csv")
    return {"files": counts, "rows": total, "seconds": elapsed, "rows_per_second": total / elapsed if elapsed else 0.0,
            "out_dir": str(out)}
