"""Field-level system-of-record rules, lineage and steward overrides."""

from __future__ import annotations

import pytest

from mdm import survivorship
from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer, ManualOverride, SurvivorshipRule
from mdm.services import golden as golden_svc
from mdm.services.golden import ConflictError
from mdm.services.ingest import ingest_record
from mdm.services.rebuild import rebuild_entity_type
from mdm.survivorship import Rule, Source, build

VAT = "GB980780684"


def src(i, system, rank, updated, **values):
    return Source(id=i, system=system, source_id=f"{system}-{i}", trust_rank=rank, updated_at=updated,
                  canonical=values)


SOURCES = [
    src(1, "erp", 10, "2026-01-01T00:00:00.000000", city="London", industry="Consulting", legal_name="Acme Ltd"),
    src(2, "crm", 20, "2026-03-01T00:00:00.000000", city="London", industry="Professional services",
        legal_name="Acme Consulting Limited"),
    src(3, "psa", 30, "2026-02-01T00:00:00.000000", city="Londres", industry="Consulting"),
]


@pytest.mark.parametrize("rule, field, winner", [
    (Rule("source_priority", ("crm", "erp")), "legal_name", "crm"),
    (Rule("source_priority", ("psa", "crm")), "city", "psa"),
    (Rule("most_recent"), "industry", "crm"),
    (Rule("most_complete"), "legal_name", "crm"),
    (Rule("most_frequent"), "industry", "erp"),  # "Consulting" twice; erp is the more trusted of the two
    (Rule("most_frequent"), "city", "erp"),
])
def test_each_rule_type_picks_its_winner_and_lineage_names_it(rule, field, winner):
    values, lineage, _ = build("customer", SOURCES, {field: rule}, now="t")
    expected = next(s for s in SOURCES if s.system == winner)
    assert values[field] == expected.canonical[field]
    assert lineage[field]["system"] == winner
    assert lineage[field]["source_record"] == expected.id
    assert lineage[field]["rule"] == rule.rule_type


def test_build_is_deterministic_whatever_the_source_order():
    rules = {"city": Rule("most_frequent"), "legal_name": Rule("most_complete")}
    first = build("customer", SOURCES, rules, now="t")[0]
    assert build("customer", list(reversed(SOURCES)), rules, now="t")[0] == first


def test_an_unchanged_value_keeps_its_lineage_time():
    _, first, _ = build("customer", SOURCES, {}, now="t1")
    _, second, _ = build("customer", SOURCES, {}, previous_lineage=first, now="t2")
    assert second["city"]["at"] == "t1"


@pytest.fixture
def acme(seeded, ctx):
    gid = ingest_record(system="erp", entity_type="customer", source_id="C1",
                        data={"customer_name": "Acme Ltd", "vat_id": VAT, "country_code": "GB", "city": "London"}
                        ).golden_id
    return Customer.objects.get(pk=gid)


def test_a_steward_override_wins_is_flagged_when_the_source_changes_and_can_be_cleared(acme, people):
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="r"):
        golden_svc.edit(acme, actor=people["alice"], changes={"city": "City of London"}, reason="per invoice")
    acme.refresh_from_db()
    assert acme.city == "City of London" and acme.lineage["city"]["rule"] == "manual"
    with audit_context(origin=Origin.IMPORT, reason="feed"):
        ingest_record(system="erp", entity_type="customer", source_id="C1",
                      data={"customer_name": "Acme Ltd", "vat_id": VAT, "country_code": "GB", "city": "Leeds"})
    override = ManualOverride.objects.get()
    acme.refresh_from_db()
    assert acme.city == "City of London"  # kept ...
    assert override.flagged and override.source_value == "London" and override.flagged_new_value == "Leeds"
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="r"):
        golden_svc.accept_override_change(override, actor=people["alice"], keep=False, reason="ERP is right")
    acme.refresh_from_db()
    assert acme.city == "Leeds" and acme.lineage["city"]["system"] == "erp"
    assert not ManualOverride.objects.exists()


def test_a_stale_edit_is_refused_with_a_conflict(acme, people):
    stale_version = acme.version
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="r"):
        golden_svc.edit(acme, actor=people["alice"], changes={"industry": "Law"}, reason="first",
                        expected_version=stale_version)
        with pytest.raises(ConflictError, match="changed by someone else"):
            golden_svc.edit(acme, actor=people["bob"], changes={"industry": "Tax"}, reason="second",
                            expected_version=stale_version)
    acme.refresh_from_db()
    assert acme.industry == "Law"


def test_a_rule_change_recomputes_the_affected_goldens(acme):
    with audit_context(origin=Origin.IMPORT, reason="feed"):
        ingest_record(system="crm", entity_type="customer", source_id="001",
                      data={"AccountName": "Acme", "LegalName": "ACME Consulting Group Limited",
                            "VATNumber": VAT, "BillingCountry": "GB"})
    acme.refresh_from_db()
    assert acme.legal_name == "Acme Ltd"  # ERP first by default
    rule = SurvivorshipRule.objects.get(entity_type="customer", field="legal_name")
    with audit_context(origin=Origin.WEB, reason="CRM names are curated now"):
        rule.rule_type, rule.systems = "source_priority", ["crm", "erp"]
        rule.save()
    survivorship.invalidate_cache()
    result = rebuild_entity_type("customer")
    acme.refresh_from_db()
    assert result["changed"] == 1
    assert acme.legal_name == "ACME Consulting Group Limited" and acme.lineage["legal_name"]["system"] == "crm"
    assert acme.history.first().history_change_reason.startswith("survivorship rules changed")


def test_saving_a_rule_queues_one_rebuild_job_per_entity_type(seeded, django_capture_on_commit_callbacks):
    from mdm.models import Job

    with audit_context(origin=Origin.WEB, reason="tune"), django_capture_on_commit_callbacks() as callbacks:
        for field in ("city", "postcode"):
            rule = SurvivorshipRule.objects.get(entity_type="customer", field=field)
            rule.rule_type = "most_recent"
            rule.save()
    jobs = Job.objects.filter(kind="rebuild")
    assert jobs.count() == 1 and jobs.get().params["entity_type"] == "customer"
    assert len(callbacks) == 1


def test_a_rebuild_job_reports_progress_and_result(acme):
    from mdm.models import Job
    from mdm.tasks import run_rebuild_job

    job = Job.objects.create(kind="rebuild", title="Rebuild customers", params={"entity_type": "customer"})
    run_rebuild_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == "done" and job.total == 1 and job.done == 1 and job.percent == 100
