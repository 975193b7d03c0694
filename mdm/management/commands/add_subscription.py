"""python manage.py add_subscription <system> --connector webhook --url <url> --secret <secret> --entity customer [--entity …]

Creates or updates the subscription of <system> (the system is registered if
unknown).  --secret env:NAME keeps only the variable's name; any other value
is stored encrypted under a key derived from SECRET_KEY, never in clear."""

import json

from django.core.management.base import BaseCommand, CommandError

from mdm.audit import audit_context
from mdm.choices import EntityType, Origin, SystemKind
from sync.services import SyncError, upsert_subscription


class Command(BaseCommand):
    help = "Create or update a downstream system's subscription (which entity types, which connector, where)."

    def add_arguments(self, parser):
        parser.add_argument("system", help="system code, e.g. erp")
        parser.add_argument("--connector", default="webhook")
        parser.add_argument("--url", help="webhook URL")
        parser.add_argument("--secret", help="signing secret, or env:NAME to read it from the environment")
        parser.add_argument("--entity", action="append", dest="entities", required=True,
                            choices=EntityType.values, help="entity type to send (repeatable)")
        parser.add_argument("--timeout", type=float, help="seconds before a try counts as failed (default 10)")
        parser.add_argument("--mapping", help='JSON: {"customer": {"fields": {...}, "values": {...}}}')
        parser.add_argument("--max-attempts", type=int)
        parser.add_argument("--kind", choices=SystemKind.values, help="system kind when registering a new system")
        parser.add_argument("--inactive", action="store_true", help="pause the subscription")
        parser.add_argument("--config", help='JSON: more connector settings, e.g. {"database": "erp"} for tryton')

    def handle(self, *args, **opts):
        config = {}
        if opts["config"]:
            try:
                config = json.loads(opts["config"])
            except ValueError as exc:
                raise CommandError(f"--config is not valid JSON: {exc}") from None
            if not isinstance(config, dict):
                raise CommandError("--config must be a JSON object")
        if opts["url"]:
            config["url"] = opts["url"]
        if opts["timeout"] is not None:
            config["timeout"] = opts["timeout"]
        mapping = None
        if opts["mapping"]:
            try:
                mapping = json.loads(opts["mapping"])
            except ValueError as exc:
                raise CommandError(f"--mapping is not valid JSON: {exc}") from None
        with audit_context(origin=Origin.SYSTEM, reason=f"add_subscription {opts['system']}"):
            try:
                sub, created = upsert_subscription(
                    system=opts["system"], connector=opts["connector"], config=config, secret=opts["secret"],
                    entity_types=opts["entities"], mapping=mapping, active=not opts["inactive"],
                    max_attempts=opts["max_attempts"], kind=opts["kind"],
                )
            except SyncError as exc:
                raise CommandError(f"{exc.field + ': ' if exc.field else ''}{exc.message}") from None
        self.stdout.write(f"{'created' if created else 'updated'} subscription: {sub}")
