"""python manage.py fault_test_sync [--changes 1000]

Approves master changes while the worker is SIGKILLed and restarted, the
broker (a private redis-server on --redis-port, not the shared one) is
stopped and started, and the receiver answers 500 and hangs; then checks
that nothing was lost, doubled or applied out of order.  Runs in a scratch
PostgreSQL database next to DATABASE_URL's.  Exit status 1 on failure."""

import json

from django.core.management.base import BaseCommand, CommandError

from sync import faulttest
from sync.scratch import scratch_database


class Command(BaseCommand):
    help = "Fault-inject the sync engine (worker kill, broker restart, failing receiver) and verify delivery."

    def add_arguments(self, parser):
        parser.add_argument("--changes", type=int, default=1000)
        parser.add_argument("--redis-port", type=int, default=6390)
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, **opts):
        with scratch_database("faulttest") as name:
            self.stdout.write(f"scratch database {name}; private redis-server on port {opts['redis_port']}")
            report = faulttest.run(changes=opts["changes"], redis_port=opts["redis_port"],
                                   concurrency=opts["concurrency"], log=self.stdout.write)
        tail = report.pop("worker_log_tail", "")
        self.stdout.write(json.dumps(report, indent=2, default=str))
        if not report["ok"]:
            self.stderr.write(tail)
            raise CommandError("fault test FAILED: " + "; ".join(report["problems"]))
        self.stdout.write(self.style.SUCCESS("fault test passed: every change delivered, none twice, none stale"))
