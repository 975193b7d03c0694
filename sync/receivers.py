"""Hooks into the hub's domain events: every outbound master change writes
the outbox in the same transaction as the change."""

from django.dispatch import receiver

from mdm.events import master_changed
from sync import services


@receiver(master_changed, dispatch_uid="sync-outbox")
def on_master_changed(sender, record, change, extra=None, **kwargs):
    services.write_outbox(record, change, extra)
