"""``python manage.py revoke_tokens <name> [--token-key KEY] [--deactivate]``:
revoke a service account's tokens (all, or the one whose key starts the
token), optionally deactivating the account."""

from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import ServiceAccount


class Command(BaseCommand):
    help = "Revoke a service account's API tokens (all, or one by its key), optionally deactivating the account."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Service account name.")
        parser.add_argument("--token-key", help="Revoke only the token starting with this key (first 15 characters).")
        parser.add_argument("--deactivate", action="store_true", help="Also deactivate the account.")

    def handle(self, *args, name, token_key, deactivate, **options):
        account = ServiceAccount.objects.filter(name=name).first()
        if account is None:
            raise CommandError(f"No service account named '{name}'.")
        tokens = AuthToken.objects.filter(user=account.user)
        if token_key:
            tokens = tokens.filter(token_key=token_key[:15])
            if not tokens.exists():
                raise CommandError(f"{name} has no token with key {token_key[:15]}.")
        count, _ = tokens.delete()
        if deactivate and account.active:
            with audit_context(origin=Origin.SYSTEM, reason=f"service account {name} deactivated (revoke_tokens)"):
                account.active = False
                account.save()
        self.stdout.write(f"Revoked {count} token(s) of {name}" + ("; account deactivated." if deactivate else "."))
