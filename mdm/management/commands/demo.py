"""python manage.py demo — the zero-setup start: migrate, seed, load the
generated demo data through the real ingest path, create the demo people,
then serve the UI at http://127.0.0.1:8000."""

from __future__ import annotations

import sys

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from mdm.audit import audit_context
from mdm.choices import LifecycleState, Origin
from mdm.models import GOLDEN_MODELS, SourceRecord
from mdm.services.accounts import ensure_groups
from mdm.services.setup import seed_defaults

DEMO_PEOPLE = (
    ("steward", "steward", "Sam Steward"),
    ("approver", "approver", "Avery Approver"),
    ("auditor", "auditor", "Alex Auditor"),
    ("admin", "admin", "Ada Admin"),
)
DEMO_PASSWORD = "demo-{}-2026"


class Command(BaseCommand):
    help = "Set up the hub with demo data and serve it (SQLite by default, no other servers needed)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=2000, help="real-world companies to generate")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="load the data and stop")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, customers, seed, addrport, no_serve, no_progress, **options):
        call_command("migrate", interactive=False, verbosity=0)
        ensure_groups()
        seed_defaults()
        if SourceRecord.objects.exists():
            self.stdout.write("Demo data already loaded; starting the hub.")
        else:
            self.load(customers, seed, no_progress)
        self.people()
        host = addrport if ":" in addrport else f"127.0.0.1:{addrport}"
        self.stdout.write(self.style.SUCCESS(f"\nThe hub is ready at http://{host}/"))
        self.stdout.write("Demo logins (user / password):")
        for username, role, _ in DEMO_PEOPLE:
            self.stdout.write(f"  {username:<9} {DEMO_PASSWORD.format(username)}   ({role})")
        self.stdout.write(f"API docs: http://{host}/api/docs/\n")
        if not no_serve:
            call_command("runserver", addrport, use_reloader=False)

    def load(self, customers: int, seed: int, no_progress: bool) -> None:
        from mdm.demo.generator import DemoGenerator
        from mdm.services.golden import approve, open_tasks
        from mdm.services.ingest import IngestError, ingest_many

        gen = DemoGenerator(n_customers=customers, seed=seed)
        counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        bar = tqdm(desc="loading demo records", unit="rec", total=gen.estimated_rows(), disable=no_progress,
                   file=sys.stderr)
        with audit_context(origin=Origin.IMPORT, reason="demo data load"):
            buffers: dict = {}

            def flush(key):
                part = buffers.pop(key, [])
                if part:
                    for result in ingest_many(system=key[0], entity_type=key[1],
                                              items=[(r.source_id, r.data) for r in part]):
                        counts["rejected" if isinstance(result, IngestError) else result.outcome] += 1
                    bar.update(len(part))

            current_type = None
            for row in gen.source_rows():
                if row.entity_type != current_type:  # references point backwards: finish one type first
                    for key in list(buffers):
                        flush(key)
                    current_type = row.entity_type
                key = (row.system, row.entity_type)
                buffers.setdefault(key, []).append(row)
                if len(buffers[key]) >= 500:
                    flush(key)
            for key in list(buffers):
                flush(key)
            bar.total = bar.n  # the total was an estimate: end the bar at 100 %
            bar.refresh()
            bar.close()
            approved = 0
            with audit_context(origin=Origin.SYSTEM, reason="demo: approve valid records without open review"), \
                    transaction.atomic():
                for model in GOLDEN_MODELS.values():
                    for record in list(model.objects.filter(state=LifecycleState.PENDING, is_valid=True)):
                        if not open_tasks(record).exists():
                            approve(record, actor=None, auto=True)
                            approved += 1
        from mdm.audit_chain import seal_pending
        from mdm.models import AuditEntry

        seal_pending()  # what the passes after each commit have not sealed yet
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items())
                          + f"; approved {approved}; {AuditEntry.objects.count():,} history rows sealed into the "
                          f"audit chain")

    def people(self) -> None:
        for username, role, full_name in DEMO_PEOPLE:
            user, created = User.objects.get_or_create(username=username)
            if created:
                first, last = full_name.split(" ", 1)
                user.first_name, user.last_name = first, last
                user.set_password(DEMO_PASSWORD.format(username))
                user.is_staff = user.is_superuser = role == "admin"
                user.save()
            user.groups.add(Group.objects.get(name=role))
        if not settings.DEBUG:
            self.stdout.write(self.style.WARNING("DEBUG is off: change the demo passwords before exposing the hub."))
