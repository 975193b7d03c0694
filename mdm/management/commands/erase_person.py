"""Erase a person's personal data on request (right to erasure).

    python manage.py erase_person --email jane.doe@example.com --phone "+44 20 7946 0018" \\
        --name "Jane Doe" --reason "GDPR art. 17 request" --reference DPO-2026-014 --by dpo.alice

Replaces every value equal to one of the person's identifiers — in current
records (through the services, leaving history that says so) and in every
history row — with ``[erased]``, and records the erasure (who, why, when,
which rows and fields; never the values) in the audit chain, so
``verify_audit`` still passes.  ``--dry-run`` reports what would be erased
and changes nothing.  See ``mdm/services/erasure.py``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from mdm.services.erasure import ErasureError, Person, erase_person


class Command(BaseCommand):
    help = "Erase a person's e-mail, phone and name from records and history, keeping the audit chain verifiable."

    def add_arguments(self, parser):
        parser.add_argument("--email", action="append", default=[], help="An e-mail address (repeatable).")
        parser.add_argument("--phone", action="append", default=[], help="A phone number, any format (repeatable).")
        parser.add_argument("--name", action="append", default=[], help="A full name (repeatable).")
        parser.add_argument("--reason", required=True, help="Why: the request this answers.")
        parser.add_argument("--reference", default="", help="The request's ticket number.")
        parser.add_argument("--by", default="", help="Username of the person carrying out the erasure.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be erased; change nothing.")

    def handle(self, *args, **opts):
        user = None
        if opts["by"]:
            user = get_user_model().objects.filter(username=opts["by"]).first()
            if user is None:
                raise CommandError(f"No user '{opts['by']}'")
        try:
            person = Person(emails=opts["email"], phones=opts["phone"], names=opts["name"])
            result = erase_person(person=person, reason=opts["reason"], user=user, reference=opts["reference"],
                                  dry_run=opts["dry_run"])
        except ErasureError as exc:
            raise CommandError(str(exc)) from None
        verb = "would erase" if opts["dry_run"] else "erased"
        if not (result.current or result.history):
            self.stdout.write("Nothing found for this person.")
        for key, n in sorted(result.current.items()):
            self.stdout.write(f"{verb} in current records: {key}: {n}")
        for key, n in sorted(result.history.items()):
            self.stdout.write(f"{verb} in history rows: {key}: {n}")
        if result.erasure is not None:
            self.stdout.write(self.style.SUCCESS(
                f"Erasure #{result.erasure.pk} recorded and sealed ({len(result.erasure.items)} history rows "
                f"scrubbed, {result.goldens_rebuilt} golden records rebuilt)."))
