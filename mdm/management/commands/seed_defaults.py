from django.core.management.base import BaseCommand

from mdm.services.accounts import ensure_groups
from mdm.services.setup import seed_defaults


class Command(BaseCommand):
    help = "Create the shipped source systems (crm, erp, psa), field mappings, survivorship rules and roles."

    def handle(self, *args, **options):
        ensure_groups()
        counts = seed_defaults()
        self.stdout.write(", ".join(f"{k} created: {v}" for k, v in counts.items()))
