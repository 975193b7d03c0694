"""python manage.py reconcile <system> [--entity customer] [--resend] [--json]

Reads back what the system holds for the hub's approved records and reports
drift (missing, stale, differing fields); ``--resend`` queues every drifted
record's current version again."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from mdm.audit import audit_context
from mdm.choices import EntityType, Origin
from sync.connectors.base import DeliveryError
from sync.connectors.reconcile import ReconcileError, drift_report, resend_drift


class Command(BaseCommand):
    help = "Report drift between the hub and a target system (and optionally re-send what drifted)."

    def add_arguments(self, parser):
        parser.add_argument("system", help="the target system's code, e.g. tryton")
        parser.add_argument("--entity", action="append", choices=EntityType.values, dest="entities")
        parser.add_argument("--resend", action="store_true", help="queue the drifted records again")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, system, entities, resend, json: bool = False, **options):
        try:
            report = drift_report(system, entity_types=entities)
        except ReconcileError as exc:
            raise CommandError(str(exc)) from None
        except DeliveryError as exc:
            raise CommandError(f"{system}: {exc.message}") from None
        if json:
            self.stdout.write(_dumps(report.to_dict()))
        else:
            counts = report.counts()
            self.stdout.write(f"{system}: {report.checked} records checked in {report.seconds:.1f} s; "
                              f"{report.in_sync} in sync; missing {counts['missing']}, stale {counts['stale']}, "
                              f"differing {counts['differs']}")
            for item in report.drift[:50]:
                detail = "; ".join(f"{d['field']}: hub {d['hub']!r} ≠ {system} {d['target']!r}"
                                   for d in item.differences)
                self.stdout.write(f"  {item.entity_type} {item.golden_id} {item.name}: {', '.join(item.kinds)}"
                                  f"{' — ' + detail if detail else ''}")
            if report.unsupported:
                self.stdout.write(f"  not supported by the connector: {', '.join(report.unsupported)}")
        if resend and report.drift:
            with audit_context(origin=Origin.SYNC, reason=f"sync:{system} reconcile re-send"):
                n = resend_drift(report)
            self.stdout.write(f"re-sent {n} record(s)")


def _dumps(data) -> str:
    return json.dumps(data, indent=2, default=str)
