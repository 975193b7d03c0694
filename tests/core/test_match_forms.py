"""Golden records keep their normalised matching form, so real-time
matching scores a candidate without normalising it again; a form that no
longer holds is never trusted, and the form stays out of history."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.matching import table
from mdm.models import Customer
from mdm.services import matching
from mdm.services.golden import LIVE_STATES
from mdm.services.ingest import ingest_many

from .test_bulk_ingest import N, erp_customer


@pytest.fixture
def goldens(seeded):
    with audit_context(origin=Origin.IMPORT, reason="load"):
        results = ingest_many(system="erp", entity_type="customer",
                              items=[(f"F{i}", erp_customer(i, vat=None)) for i in range(N)])
    return [uuid.UUID(r.golden_id) for r in results]


@pytest.fixture
def normalising(monkeypatch):
    """The records normalised from now on (the memo forgotten first)."""
    seen = []
    real = table.normalize_record

    def counting(spec, record):
        seen.append(record.get("legal_name"))
        return real(spec, record)

    matching._normalized_memo.clear()
    monkeypatch.setattr(table, "normalize_record", counting)
    return seen


def scores_against(ids, record: dict) -> list[float]:
    matcher = matching.matcher_for("customer")
    rows = matching.candidate_rows("customer", ids, LIVE_STATES)
    strings = [matching._as_strings(record)] + [rows[i] for i in ids]
    return [float(x) for x in matching.score_pairs(matcher, strings, [0] * len(ids), list(range(1, len(strings))))]


def test_every_written_golden_stores_its_form_and_history_leaves_it_out(goldens):
    forms = dict(Customer.objects.filter(pk__in=goldens).values_list("pk", "match_form"))
    assert len(forms) == len(set(goldens)) and all(form and len(form) == 3 for form in forms.values())
    assert "match_form" not in {f.name for f in Customer.history.model._meta.get_fields()}


def test_candidates_with_a_stored_form_are_scored_without_normalising_them(goldens, normalising):
    ids = list(dict.fromkeys(goldens))[:5]
    arriving = {"legal_name": "Zephyrine Quillbrook 001 Ltd", "country": "GB", "city": "London"}
    scored = scores_against(ids, arriving)
    assert normalising == [arriving["legal_name"]]  # the arriving record only
    Customer.objects.filter(pk__in=ids).update(match_form=None)
    matching._normalized_memo.clear()
    assert scores_against(ids, arriving) == pytest.approx(scored)  # the same scores when normalised afresh
    assert len(normalising) == 1 + 1 + len(ids)


def test_a_form_that_no_longer_fits_its_values_is_not_trusted(goldens, normalising):
    gid = goldens[0]
    Customer.objects.filter(pk=gid).update(legal_name="Quorvex Brightwater Holdings Ltd")  # form left as it was
    matcher = matching.matcher_for("customer")
    rows = matching.candidate_rows("customer", [gid], LIVE_STATES)
    form = matching.normalized(matcher, rows[gid])
    assert normalising == ["Quorvex Brightwater Holdings Ltd"]
    assert "QUORVEX" in " ".join(form.values()).upper()


def test_a_form_of_another_normalisation_is_not_trusted(goldens, normalising, monkeypatch):
    gid = goldens[0]
    monkeypatch.setattr(matching, "FORM_VERSION", matching.FORM_VERSION + 1)
    monkeypatch.setattr(matching, "_layouts", {})  # (the layouts of this version stay this test's)
    rows = matching.candidate_rows("customer", [gid], LIVE_STATES)
    matching.normalized(matching.matcher_for("customer"), rows[gid])
    assert len(normalising) == 1


def test_refresh_match_forms_writes_missing_and_stale_forms_only_and_no_history(goldens):
    expected = dict(Customer.objects.values_list("pk", "match_form"))
    Customer.objects.filter(pk=goldens[0]).update(match_form=None)
    Customer.objects.filter(pk=goldens[1]).update(match_form=["other", "0", []])
    history_rows = Customer.history.count()
    out = io.StringIO()
    call_command("refresh_match_forms", "--entity", "customer", "--no-progress", "--chunk", "7", stdout=out)
    assert f"{Customer.objects.count():,} live records, 2 forms written" in out.getvalue()
    assert dict(Customer.objects.values_list("pk", "match_form")) == expected
    assert Customer.history.count() == history_rows
