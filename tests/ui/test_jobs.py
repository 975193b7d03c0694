"""Long jobs in the workbench: re-match and CSV import with progress."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mdm.models import Customer, Job, MatchTask, SourceRecord


@pytest.fixture(autouse=True)
def jobs_run_in_process():
    """Jobs run where they are started (the zero-setup mode), whatever broker this run has."""
    from mdm.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


@pytest.fixture
def client_for(client, people):
    def login(name):
        client.force_login(people[name])
        return client
    return login


def test_jobs_page_lists_jobs_and_offers_the_forms_to_stewards(seeded, client_for, django_assert_max_num_queries):
    Job.objects.create(kind="rebuild", title="Rebuild customer golden records", status="running", total=200, done=50)
    client = client_for("alice")
    with django_assert_max_num_queries(12):
        html = client.get("/jobs/").content.decode()
    assert "Rebuild customer golden records" in html and "25%" in html and 'hx-trigger="every 1s"' in html
    assert "Start re-match" in html and 'enctype="multipart/form-data"' in html


def test_a_job_row_is_polled_for_progress(seeded, client_for):
    job = Job.objects.create(kind="rematch", title="Re-match customer records", status="done", total=10, done=10,
                             result={"pairs_compared": 7, "tasks_opened": 2})
    html = client_for("carol").get(f"/jobs/{job.pk}/").content.decode()
    assert "100%" in html and "2 review tasks opened" in html and "hx-trigger" not in html


def test_uploading_a_csv_imports_it_with_a_row_numbered_report(seeded, client_for, django_capture_on_commit_callbacks):
    csv = ("customer_no,customer_name,country_code\n"
           "C1,Alpha Ltd,GB\n"
           "C2,Beta GmbH,XX\n").encode()
    client = client_for("alice")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/jobs/import/", {"system": "erp", "entity_type": "customer",
                                                 "file": SimpleUploadedFile("erp.csv", csv, "text/csv")})
    assert response.status_code == 302
    job = Job.objects.get(kind="import")
    assert job.status == "done" and job.percent == 100 and job.params["content"] == ""
    assert job.result["counts"]["created"] == 1 and job.result["counts"]["rejected"] == 1
    assert job.result["errors"][0][0] == 3 and job.result["errors"][0][1] == "country_code"
    assert list(SourceRecord.objects.values_list("source_id", flat=True)) == ["C1"]
    html = client.get("/jobs/").content.decode()
    assert "row 3" in html


def test_an_upload_without_the_id_column_is_a_form_error(seeded, client_for):
    response = client_for("alice").post("/jobs/import/", {
        "system": "erp", "entity_type": "customer",
        "file": SimpleUploadedFile("x.csv", b"name\nAlpha\n", "text/csv")})
    assert response.status_code == 400
    assert "has no &#x27;customer_no&#x27; column" in response.content.decode()
    assert not Job.objects.exists()


def test_starting_a_rematch_runs_it_and_records_the_result(seeded, client_for, django_capture_on_commit_callbacks,
                                                           ctx):
    from mdm.services.ingest import ingest_record

    ingest_record(system="erp", entity_type="customer", source_id="C1",
                  data={"customer_name": "Northwind Traders Ltd", "vat_id": "GB980780684", "country_code": "GB",
                        "city": "London"})
    ingest_record(system="psa", entity_type="customer", source_id="CL1",
                  data={"client_name": "Northwind Traders", "country": "GB", "city": "Manchester"})
    MatchTask.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for("alice").post("/jobs/rematch/", {"entity_type": "customer"}).status_code == 302
    job = Job.objects.get(kind="rematch")
    assert job.status == "done" and job.total == Customer.objects.count() == 2
    assert job.result["tasks_opened"] == 1 and MatchTask.objects.count() == 1


def test_auditors_and_approvers_cannot_start_jobs(seeded, client_for):
    for name in ("carol", "bob"):
        client = client_for(name)
        assert client.post("/jobs/rematch/", {"entity_type": "customer"}).status_code == 403
        html = client.get("/jobs/").content.decode()
        assert "Start re-match" not in html
    assert not Job.objects.exists()
