"""Writes the change feed (``ChangeEvent``) from domain events, in the same
transaction as the change and in commit order."""

from __future__ import annotations

from django.db import connection
from django.dispatch import receiver

from mdm.audit import current
from mdm.events import master_changed
from mdm.models import ChangeEvent

FEED_CHANGES = {"approved", "retired", "merged", "unmerged", "repointed"}
_FEED_LOCK_KEY = 7_202_611  # pg_advisory_xact_lock key serialising feed writers


def _serialise_writers() -> None:
    """On PostgreSQL, hold a transaction-scoped advisory lock so feed ids are
    committed in increasing order (SQLite serialises all writers anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FEED_LOCK_KEY])


@receiver(master_changed, dispatch_uid="mdm-change-feed")
def record_change(sender, record, change, extra=None, **kwargs):
    if change not in FEED_CHANGES:
        return
    _serialise_writers()
    ctx = current()
    ChangeEvent.objects.create(
        entity_type=record.entity_type, golden_id=record.pk, version=record.version, change=change,
        state=record.state, extra={k: str(v) for k, v in (extra or {}).items()},
        correlation_id=ctx.correlation_id if ctx else "",
    )
