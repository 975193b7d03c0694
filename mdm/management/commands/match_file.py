"""``python manage.py match_file INPUT.csv --spec SPEC.json --out PAIRS.csv [--id-column id]``

Deduplicates the rows of any CSV and writes ``id_a,id_b,score,decision`` for
every pair at or above the review threshold (see DESIGN.md)."""

from __future__ import annotations

import csv

from django.core.management.base import BaseCommand, CommandError

from mdm.matching.files import InputError, TqdmProgress, match_file
from mdm.matching.spec import SpecError


class Command(BaseCommand):
    help = "Deduplicate the rows of a CSV file with a match spec; write the scored pairs."

    def add_arguments(self, parser):
        parser.add_argument("input", help="CSV file with a header line")
        parser.add_argument("--spec", required=True, help="match spec (JSON): fields, blocking, thresholds")
        parser.add_argument("--out", required=True, help="where to write id_a,id_b,score,decision")
        parser.add_argument("--id-column", default="id", help="the column holding each row's id (default: id)")
        parser.add_argument("--not-duplicates", help="CSV of id_a,id_b pairs never to propose")
        parser.add_argument("--workers", type=int, default=2, help="threads for string comparisons (default: 2)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")

    def handle(self, *args, **opts):
        progress = TqdmProgress(disable=opts["no_progress"])
        try:
            pairs = _read_pairs(opts["not_duplicates"]) if opts["not_duplicates"] else ()
            run = match_file(opts["input"], opts["spec"], opts["out"], id_column=opts["id_column"],
                             not_duplicates=pairs, progress=progress, workers=max(1, opts["workers"]))
        except (SpecError, InputError) as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot write {opts['out']}: {exc.strerror or exc}") from None
        finally:
            progress.close()
        t = run.thresholds
        self.stdout.write(
            f"{run.rows} rows, {run.candidates} candidate pairs compared; wrote {run.written} pairs "
            f"({run.matches} match, {run.written - run.matches} review; thresholds match {t['match']}, "
            f"review {t['review']}) to {opts['out']}")


def _read_pairs(path: str) -> list[tuple[str, str]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = [r for r in csv.reader(fh) if r]
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["id_a", "id_b"]:
        rows = rows[1:]
    bad = [r for r in rows if len(r) < 2]
    if bad:
        raise InputError(f"{path}: every line needs two ids (id_a,id_b)")
    return [(r[0], r[1]) for r in rows]
