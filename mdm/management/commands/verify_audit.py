"""Check the audit chain: ``python manage.py verify_audit``.

Seals whatever is waiting, then walks every entry in order, recomputes each
chain link and each history row's hash from the row as it is now, and
reports the first row that was altered or removed (and any history row older
than ``--max-unsealed-minutes`` that was never sealed).  Exit status 0 when
the trail is intact, 1 otherwise.  Prints the chain head; keep it somewhere
else and pass it back with ``--expect-head SEQ:HASH`` to also catch entries
cut off the end."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from mdm import audit_chain


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chain over every history table; non-zero exit on any problem."

    def add_arguments(self, parser):
        parser.add_argument("--no-seal", action="store_true", help="Do not seal waiting rows first.")
        parser.add_argument("--max-unsealed-minutes", type=float, default=60.0,
                            help="History rows older than this and never sealed are a failure (default 60).")
        parser.add_argument("--expect-head", default="", help="SEQ:HASH of a chain head recorded earlier.")
        parser.add_argument("--show", type=int, default=20, help="How many problems to list (default 20).")

    def handle(self, *args, **opts):
        expect = None
        if opts["expect_head"]:
            try:
                seq, digest = opts["expect_head"].split(":", 1)
                expect = (int(seq), digest.strip())
            except ValueError:
                raise CommandError("--expect-head must look like 1234:abcdef…") from None
        started = time.monotonic()
        report = audit_chain.verify(seal=not opts["no_seal"], expect_head=expect,
                                    max_unsealed_age=dt.timedelta(minutes=opts["max_unsealed_minutes"]))
        took = time.monotonic() - started
        self.stdout.write(f"sealed now: {report.sealed_now}; entries checked: {report.checked} in {took:.1f}s; "
                          f"rows under an erasure: {report.erased_rows}")
        self.stdout.write(f"chain head: {report.head_seq}:{report.head_hash}")
        if report.ok:
            self.stdout.write(self.style.SUCCESS("OK: every sealed history row matches its seal; the chain is whole."))
            return
        first = report.first
        self.stderr.write(self.style.ERROR(f"FAILED: first problem — {first}"))
        for p in report.problems[1:opts["show"]]:
            self.stderr.write(f"  also: {p}")
        if len(report.problems) > opts["show"]:
            self.stderr.write(f"  … and {len(report.problems) - opts['show']} more")
        raise SystemExit(1)
