"""python manage.py sync_sweep [--loop SECONDS]

Re-enqueue overdue deliveries once (or every SECONDS).  With a broker, the
beat schedule does this (``celery -A mdm beat``); in the zero-setup mode
(no CELERY_BROKER_URL, tasks run in-process) this command is how retries
happen: each due delivery is tried right here."""

import time

from django.core.management.base import BaseCommand

from sync.tasks import sweep


class Command(BaseCommand):
    help = "Re-enqueue (or, without a broker, run) deliveries that are due."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, default=0, help="repeat every SECONDS until interrupted")

    def handle(self, *args, **opts):
        while True:
            n = sweep()
            self.stdout.write(f"{n} due deliveries enqueued")
            if not opts["loop"]:
                return
            time.sleep(opts["loop"])
