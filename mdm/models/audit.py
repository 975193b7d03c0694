"""The tamper-evident audit chain and the audit-log index.

Every history row of every audited model gets exactly one ``AuditEntry``:
its place in one hash chain (``seq``, ``row_hash``, ``chain_hash``) and an
index copy of who, when, what and why, so the auditor's log is one indexed
table instead of a union over every history table.  Entries are appended by
the sealer (``mdm.audit_chain``), never written by writers themselves;
writers only queue their new history rows in ``AuditPending`` (one small
insert in their own transaction, no lock), so ingest is never serialised on
the chain.  An ``AuditErasure`` records an erasure of personal data: who,
why, when and which rows and fields, never the values."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.manager import HistoryManager


class AuditEntry(models.Model):
    """One sealed history row (or one erasure record) in the audit chain.

    ``row_hash`` is SHA-256 over the row's content salted with ``nonce``;
    ``chain_hash`` is an HMAC over the previous entry's chain hash and every
    column here except ``nonce``, so altering, removing or reordering an
    entry or its history row breaks the chain at that point.  An erasure
    clears ``nonce`` of the rows it scrubbed (so the old hash can no longer
    confirm a guessed value) and carries the rows' new hashes itself."""

    seq = models.BigIntegerField(primary_key=True, help_text="Position in the chain, from 1, no gaps.")
    model = models.CharField(max_length=64, help_text="The tracked model, e.g. mdm.customer.")
    history_id = models.BigIntegerField()
    object_id = models.CharField(max_length=64, help_text="The tracked record's primary key.")
    history_date = models.DateTimeField()
    history_type = models.CharField(max_length=1, help_text="+ created, ~ changed, - deleted, E erasure.")
    actor = models.CharField(max_length=150, blank=True)
    origin = models.CharField(max_length=16, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    changed_fields = models.JSONField(default=list, blank=True)
    row_hash = models.CharField(max_length=64)
    nonce = models.CharField(max_length=32, blank=True)
    chain_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        ordering = ("-history_date", "-seq")
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        constraints = [
            models.UniqueConstraint(
                fields=("model", "history_id"),
                name="uniq_audit_entry_row",
                violation_error_message="This history row is already sealed.",
            )
        ]
        indexes = [
            # keyset pagination of the global log, newest first
            models.Index(fields=("history_date", "seq"), name="audit_date_idx"),
            models.Index(fields=("model", "history_date", "seq"), name="audit_model_date_idx"),
            models.Index(fields=("model", "object_id", "history_date", "seq"), name="audit_record_idx"),
            models.Index(fields=("actor", "history_date", "seq"), name="audit_actor_idx"),
            models.Index(fields=("origin", "history_date", "seq"), name="audit_origin_idx"),
            models.Index(fields=("correlation_id",), name="audit_correlation_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.model}/{self.object_id} {self.history_type} {self.history_date:%Y-%m-%d %H:%M}"


class AuditPending(models.Model):
    """A history row written but not yet sealed.  Writers insert one per
    history row in their own transaction; the sealer consumes them."""

    id = models.BigAutoField(primary_key=True)
    model = models.CharField(max_length=64)
    history_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=("model", "history_id"),
                name="uniq_audit_pending_row",
                violation_error_message="This history row is already queued for sealing.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.model}#{self.history_id} (unsealed)"


class AuditErasure(models.Model):
    """An erasure of a person's data: who ran it, why, when, and which
    history rows and fields were scrubbed — never the erased values.
    ``items`` lists ``{"model", "history_id", "fields", "row_hash", "nonce"}``:
    the scrubbed row's new content hash, which ``verify_audit`` accepts in
    place of the hash sealed before the erasure.  Sealed into the chain
    itself, so an erasure record cannot be forged or edited unnoticed."""

    created_at = models.DateTimeField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    actor = models.CharField(max_length=150)
    reason = models.TextField()
    reference = models.CharField(max_length=128, blank=True, help_text="The request's ticket number, if any.")
    summary = models.JSONField(default=dict, blank=True, help_text="Rows scrubbed per model and field.")
    items = models.JSONField(default=list, blank=True)
    nonce = models.CharField(max_length=32)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"erasure #{self.pk} by {self.actor} on {self.created_at:%Y-%m-%d}"


class ChainedHistoryManager(HistoryManager):
    """simple-history's manager, plus: rows written by its bulk path
    (``bulk_create_with_history`` / ``bulk_update_with_history``, which send
    no ``post_create_historical_record``) are queued for the audit chain in
    the same transaction, so no bulk writer has to remember to do it."""

    def bulk_history_create(self, objs, *args, **kwargs):
        rows = super().bulk_history_create(objs, *args, **kwargs)
        if rows:
            from mdm import audit_chain

            audit_chain.append(self.model, rows, using=rows[0]._state.db or "default")
        return rows
