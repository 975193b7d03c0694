"""History tables index what history is read by (record id, date, audit
columns) and nothing else: each index costs every history row written."""

from __future__ import annotations

from mdm.models import GOLDEN_MODELS, CrossReference, SourceRecord

READ_BY = {"id", "history_date", "history_user", "history_origin", "history_actor", "history_correlation_id"}


def indexed(model) -> set[str]:
    return {f.name for f in model._meta.fields if (f.db_index or f.unique) and not f.primary_key}


def test_golden_history_tables_index_only_record_id_date_and_audit_columns():
    for model in GOLDEN_MODELS.values():
        assert indexed(model.history.model) == READ_BY, model
        assert "legal_name" not in indexed(model.history.model)
    assert {"legal_name", "tax_id", "state"} <= indexed(GOLDEN_MODELS["customer"])  # the masters keep theirs


def test_source_record_and_xref_history_keep_the_golden_id_they_are_looked_up_by():
    assert indexed(SourceRecord.history.model) == READ_BY
    assert indexed(CrossReference.history.model) == READ_BY | {"golden_id"}
