"""``python manage.py create_service_account <name> --system <code> [--entity customer …]
[--expires-days N] [--read-pending]``: create (or update) a system's service
account and print a new token once.  Only its hash is stored."""

from django.core.management.base import BaseCommand, CommandError

from mdm.choices import EntityType
from mdm.models import SourceSystem
from mdm.services.accounts import create_service_account


class Command(BaseCommand):
    help = "Create or update a source system's service account and print a new API token (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Account name (a slug, e.g. erp-prod).")
        parser.add_argument("--system", required=True, help="The source system code the account writes for.")
        parser.add_argument("--entity", action="append", default=[], choices=EntityType.values,
                            dest="entity_types", help="Limit to this entity type (repeat for several; default all).")
        parser.add_argument("--expires-days", type=int, default=None, help="Token lifetime in days (default: none).")
        parser.add_argument("--read-pending", action="store_true",
                            help="May read pending (not yet approved) golden records.")

    def handle(self, *args, name, system, entity_types, expires_days, read_pending, **options):
        if not SourceSystem.objects.filter(code=system).exists():
            known = ", ".join(SourceSystem.objects.values_list("code", flat=True)) or "none (run seed_defaults)"
            raise CommandError(f"Unknown system '{system}'. Known systems: {known}.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        try:
            account, token = create_service_account(
                name=name, system_code=system, entity_types=entity_types, expires_days=expires_days,
                can_read_pending=read_pending,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        scope = ", ".join(account.entity_types) or "all entity types"
        expiry = f"expires in {expires_days} days" if expires_days else "does not expire"
        self.stderr.write(f"Service account {account.name} for {system} ({scope}); token {expiry}. "
                          "It is shown once; store it now. Use it as: Authorization: Token <token>")
        self.stdout.write(token)
