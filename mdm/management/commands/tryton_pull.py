"""python manage.py tryton_pull --url URL --database DB [--since ISO] [--user admin]

Reads companies, parties and projects from Tryton and feeds them through the
hub's ingest path as source records of the ``tryton`` system.  The password
comes from the environment (``MDM_TRYTON_PASSWORD`` or ``--password-env``)."""

from __future__ import annotations

import datetime as dt
import os

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sync.connectors.tryton.client import TrytonClient, TrytonError
from sync.connectors.tryton.inbound import count_pending, last_pulled_at, pull


def _since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since: '{value}' is not an ISO date or date-time (e.g. 2026-01-31T08:00)") from None


class Command(BaseCommand):
    help = "Pull parties, companies and projects from Tryton into the hub as source records (initial or incremental)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=os.environ.get("MDM_TRYTON_URL"), help="e.g. http://127.0.0.1:8123")
        parser.add_argument("--database", default=os.environ.get("MDM_TRYTON_DATABASE"))
        parser.add_argument("--user", default=os.environ.get("MDM_TRYTON_USER", "admin"))
        parser.add_argument("--password-env", default="MDM_TRYTON_PASSWORD",
                            help="environment variable holding the password (default MDM_TRYTON_PASSWORD)")
        parser.add_argument("--since", help="only records created or changed since (ISO); 'last' resumes")
        parser.add_argument("--system", default="tryton", help="source system code (default tryton)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, url, database, user, password_env, since, system, no_progress, **options):
        if not url or not database:
            raise CommandError("--url and --database are required (or MDM_TRYTON_URL / MDM_TRYTON_DATABASE)")
        password = os.environ.get(password_env)
        if not password:
            raise CommandError(f"set the Tryton password in the environment variable {password_env}")
        since_at = last_pulled_at(system) if since == "last" else _since(since)
        client = TrytonClient(url, database, user, password)
        try:
            total = count_pending(client, since_at)
            with tqdm(total=total, unit="rec", disable=no_progress, file=self.stderr._out) as bar:
                report = pull(client, since=since_at, system_code=system, progress=bar.update)
        except TrytonError as exc:
            raise CommandError(f"Tryton: {exc.message}") from None
        finally:
            client.close()
        self.stdout.write(report.summary())
        for entity_type, sid, message in report.errors[:20]:
            self.stdout.write(f"  refused {entity_type} {sid}: {message}")
        if len(report.errors) > 20:
            self.stdout.write(f"  … and {len(report.errors) - 20} more")
