"""Every workbench page answers for every role, shows the right controls,
and reads data with a bounded number of queries."""

from __future__ import annotations

import pytest

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Contract, Customer, MatchTask
from stewardship.templatetags.workbench import waterfall, waterfall_steps

from .conftest import customer, ingest


def page_urls(nw):
    a, task = nw["a"], nw["task"]
    return [
        "/", "/review/", f"/review/{task.pk}/", "/exceptions/", "/overrides/", "/audit/",
        "/records/customers/", "/records/legal-entities/", "/records/contracts/", "/records/projects/",
        f"/records/customers/{a.pk}/", "/search/?q=north",
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(northwind, client):
    for url in page_urls(northwind):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_login_page_signs_in_and_lands_on_the_dashboard(people, client):
    page = client.get("/login/")
    assert page.status_code == 200 and b'for="id_username"' in page.content
    response = client.post("/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert b"Dashboard" in client.get("/").content


def test_wrong_password_shows_a_form_error(people, client):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200 and b"alert--error" in response.content


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "dave"])
def test_every_page_answers_for_every_role(northwind, client_for, who):
    c = client_for(who)
    for url in page_urls(northwind):
        response = c.get(url, follow=url.startswith("/search"))
        assert response.status_code == 200, (who, url, response.status_code)
        assert b'<main id="main"' in response.content


def test_layout_has_search_box_navigation_and_no_cdn(northwind, steward):
    html = steward.get("/").content.decode()
    assert 'role="search"' in html and 'aria-label="Main"' in html
    for label in ("Dashboard", "Review queue", "Exceptions", "Customers", "Legal entities", "Sync", "Audit"):
        assert label in html
    assert "htmx" in html and "/static/" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_dashboard_shows_open_tasks_exceptions_pending_and_sync_empty_state(northwind, steward):
    html = steward.get("/").content.decode()
    assert 'data-kpi="open-tasks">1<' in html
    assert "No subscriptions yet" in html
    assert "Recent activity" in html and "Northwind" in html
    assert 'class="barchart"' in html or "No records fail validation" in html


def test_queue_lists_pairs_with_names_systems_and_assignee(northwind, steward):
    html = steward.get("/review/").content.decode()
    assert "Northwind Traders Ltd" in html and "Northwind Limited" in html
    assert ">crm<" in html and ">erp<" in html
    assert "Claim" in html and "Mark as not duplicates" in html


def test_queue_filters_and_search(northwind, queue_of, steward):
    queue_of(3)
    assert "Northwind Traders" in steward.get("/review/?q=northwind").content.decode()
    assert "Queue Company" not in steward.get("/review/?q=northwind").content.decode()
    assert "Northwind" not in steward.get("/review/?entity=project").content.decode()
    assert "The queue is clear" not in steward.get("/review/?status=decided").content.decode()
    assert "No pairs match these filters" in steward.get("/review/?status=decided").content.decode()
    # bad values fall back to defaults instead of failing
    assert steward.get("/review/?sort=evil&band=x&status=nope&page=abc").status_code == 200


def test_queue_paginates_with_counts(queue_of, steward, monkeypatch):
    from stewardship import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    queue_of(5)
    n = MatchTask.objects.filter(status="open").count()
    assert n >= 5
    html = steward.get("/review/?page=2").content.decode()
    assert f"3–4 of {n}" in html and f"Page 2 of {(n + 1) // 2}" in html


def test_queue_htmx_filter_returns_only_the_table(northwind, steward):
    response = steward.get("/review/?entity=customer", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-table")
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="queue-table">')
    assert "<html" not in html


def test_compare_page_shows_both_records_differences_sources_and_keys(northwind, steward):
    task = northwind["task"]
    html = steward.get(f"/review/{task.pk}/").content.decode()
    assert "Northwind Traders Ltd" in html and "Northwind Limited" in html
    assert 'class="diff-changed"' in html and 'class="diff-same"' in html
    assert 'name="pick_legal_name"' in html
    assert "C1" in html and "001X" in html  # both systems' ids
    for key in ("<kbd>m</kbd>", "<kbd>n</kbd>", "<kbd>d</kbd>", "<kbd>j</kbd>", "<kbd>k</kbd>"):
        assert key in html
    assert 'data-decision-form' in html


def test_compare_page_draws_the_stored_explanation_as_a_waterfall(northwind, steward, monkeypatch):
    task = northwind["task"]
    task.explanation = [
        {"field": "(prior)", "value_a": None, "value_b": None, "level": "prior", "weight": -6.5,
         "tf_adjustment": 0.0},
        {"field": "legal_name", "value_a": "northwind traders", "value_b": "northwind", "level": "fuzzy 0.88",
         "weight": 4.25, "tf_adjustment": 0.0},
        {"field": "tax_id", "value_a": "GB980780684", "value_b": None, "level": "null", "weight": 0.0},
        {"field": "city", "value_a": "london", "value_b": "leeds", "level": "else", "weight": -1.5},
    ]
    with audit_context(origin=Origin.SYSTEM, reason="test"):
        task.save()
    from mdm.services import matching

    monkeypatch.setattr(matching, "score_goldens", lambda *a, **k: (0.5, []))
    html = steward.get(f"/review/{task.pk}/").content.decode()
    assert '<svg class="waterfall"' in html
    assert "legal name" in html and "+4.25" in html and "-1.50" in html and "fuzzy 0.88" in html
    assert 'class="wf-pos"' in html and 'class="wf-neg"' in html and 'class="wf-prior"' in html


def test_waterfall_renders_unknown_shapes_without_failing():
    steps = waterfall_steps([{"name": "x", "bayes_factor_log2": "2.5"}, "odd entry", {"weight": "nan"}, {}])
    assert [s["weight"] for s in steps] == [2.5, 0.0, 0.0, 0.0]
    assert "<svg" in waterfall(steps and [{"name": "x", "weight": 1}, {"field": "y", "weight": -3}])
    assert "no field-by-field explanation" in waterfall([])
    svg = waterfall([{"field": "<script>", "weight": 1}])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_golden_list_uses_the_shared_filtersets_sorts_and_counts(northwind, steward):
    html = steward.get("/records/customers/?country=GB&sort=legal_name").content.decode()
    assert "Northwind Traders Ltd" in html and "of 2" in html
    assert "Northwind" not in steward.get("/records/customers/?country=FR").content.decode().split(
        'class="side-main"')[1]
    assert "No customers match these filters" in steward.get("/records/customers/?q=zzzz").content.decode()


def test_golden_list_refuses_unknown_filters_with_a_message(northwind, steward):
    response = steward.get("/records/customers/?contry=GB")
    assert response.status_code == 400
    assert "contry" in response.content.decode() and "Unknown filter parameter" in response.content.decode()


def test_golden_list_exports_csv(northwind, steward):
    response = steward.get("/records/customers/?export=csv")
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert body.splitlines()[0].startswith("id,state,version,legal_name") and "Northwind Traders Ltd" in body


def test_golden_list_empty_state(seeded, steward):
    assert "No projects yet" in steward.get("/records/projects/").content.decode()
    assert steward.get("/records/nonsense/").status_code == 404


def test_record_page_shows_lineage_xrefs_history_and_validation(northwind, steward):
    a = northwind["a"]
    html = steward.get(f"/records/customers/{a.pk}/").content.decode()
    assert 'id="details"' in html and 'id="sources"' in html and 'id="history"' in html
    assert 'id="validation"' in html and 'id="hierarchy"' in html
    assert "source priority" in html and ">erp<" in html and "C1" in html
    history = html.split('id="history"')[1]
    assert "created" in history and "test data" in history and 'class="after">Northwind Traders Ltd' in history
    try:
        import sync.selectors  # noqa: F401
    except ImportError:
        return
    assert 'id="deliveries"' in html and "Nothing was sent for this record yet" in html


def test_record_page_shows_hierarchy_parent_and_children(seeded, people, steward):
    with audit_context(origin=Origin.IMPORT, reason="test"):
        # group members are separate companies: each has its own VAT id
        parent = customer("crm", "P1", {"AccountName": "Globex Group", "BillingCountry": "GB",
                                        "VATNumber": "GB980780684"})
        child = customer("crm", "P2", {"AccountName": "Globex UK", "BillingCountry": "GB", "ParentId": "P1",
                                       "VATNumber": "GB100000034"})
    child.refresh_from_db()
    assert child.parent_id == parent.pk
    html = steward.get(f"/records/customers/{parent.pk}/").content.decode()
    assert 'role="tree"' in html and "Globex UK" in html
    html = steward.get(f"/records/customers/{child.pk}/").content.decode()
    assert "Globex Group" in html.split('id="hierarchy"')[1]


def test_history_timeline_shows_per_field_before_and_after(northwind, steward):
    a = northwind["a"]
    with audit_context(origin=Origin.IMPORT, reason="ERP resent"):
        ingest("erp", "C1", {"customer_name": "Northwind Traders Limited", "vat_id": "GB980780684",
                             "country_code": "GB", "city": "Manchester", "currency": "GBP", "payment_terms": "NET30"})
    history = steward.get(f"/records/customers/{a.pk}/").content.decode().split('id="history"')[1]
    assert "Manchester" in history and 'class="before">London' in history
    assert "ERP resent" in history


def test_exception_queue_groups_by_rule_and_links_to_the_fix(seeded, people, steward):
    with audit_context(origin=Origin.IMPORT, reason="test"):
        bad = customer("erp", "BAD1", {"customer_name": "Bad VAT Ltd", "vat_id": "GB123", "country_code": "GB"})
    html = steward.get("/exceptions/").content.decode()
    assert "Invalid tax / VAT id" in html and "Bad VAT Ltd" in html
    assert f"/records/customers/{bad.pk}/edit/?field=tax_id" in html
    assert "Bad VAT Ltd" in steward.get("/exceptions/?rule=tax_id_invalid").content.decode()
    assert "Bad VAT Ltd" not in steward.get("/exceptions/?entity=project").content.decode()


def test_exception_queue_empty_state(seeded, steward):
    assert "No exceptions" in steward.get("/exceptions/").content.decode()


def test_global_search_finds_by_tax_id_system_id_golden_id_and_name(northwind, steward):
    a, b = northwind["a"], northwind["b"]
    assert steward.get("/search/?q=GB980780684")["Location"] == f"/records/customers/{a.pk}/"
    assert steward.get("/search/?q=001X")["Location"] == f"/records/customers/{b.pk}/"
    assert steward.get(f"/search/?q={b.pk}")["Location"] == f"/records/customers/{b.pk}/"
    html = steward.get("/search/?q=northwind").content.decode()
    assert "Northwind Traders Ltd" in html and "Northwind Limited" in html
    assert "Nothing found" in steward.get("/search/?q=no-such-thing").content.decode()


def test_audit_page_filters_by_correlation_id(northwind, steward):
    a = northwind["a"]
    cid = a.history.first().history_correlation_id
    html = steward.get(f"/audit/?correlation={cid}").content.decode()
    assert "Northwind" in html
    assert "No changes recorded yet" in steward.get("/audit/?correlation=nothing-here").content.decode()


def test_sync_panel_shows_an_empty_state_without_subscriptions(seeded, steward):
    assert "No subscriptions yet" in steward.get("/").content.decode()


def test_sync_panel_shows_each_subscribed_system(seeded, steward, monkeypatch):
    pytest.importorskip("sync.selectors")
    from sync import selectors

    monkeypatch.setattr(selectors, "sync_health", lambda: [{
        "system": "erp", "name": "Finance ERP", "active": True, "pending": 3, "failed": 1, "dead": 2,
        "problems": {"business": 2, "technical": 1}, "delivered_last_hour": 42, "series": [0, 2, 5, 1] * 15,
        "p95_ms": 180}])
    html = steward.get("/").content.decode().split('id="sync-head"')[1]
    assert "Finance ERP" in html and "180 ms" in html and "2 business" in html and "<polyline" in html


def test_sync_panel_failure_does_not_break_the_dashboard(seeded, steward, monkeypatch):
    pytest.importorskip("sync.selectors")
    from sync import selectors

    def boom():
        raise RuntimeError("sync tables missing")

    monkeypatch.setattr(selectors, "sync_health", boom)
    response = steward.get("/")
    assert response.status_code == 200 and "Sync health could not be read" in response.content.decode()


# --- roles: what each person sees ---------------------------------------------------

def test_auditor_sees_no_edit_controls_anywhere(northwind, auditor):
    task, a = northwind["task"], northwind["a"]
    compare = auditor.get(f"/review/{task.pk}/").content.decode()
    assert 'name="action"' not in compare and 'name="pick_' not in compare and "read-only access" in compare
    queue = auditor.get("/review/").content.decode()
    assert "Mark as not duplicates" not in queue and "Claim" not in queue and 'name="tasks"' not in queue
    record = auditor.get(f"/records/customers/{a.pk}/").content.decode()
    assert "/edit/" not in record and "/retire/" not in record and "Approve" not in record
    assert "Split out" not in record
    assert "read-only" in auditor.get("/").content.decode()


def test_steward_sees_decisions_but_not_approve(northwind, steward):
    a = northwind["a"]
    record = steward.get(f"/records/customers/{a.pk}/").content.decode()
    assert "/edit/" in record and "/retire/" in record and "data-approve" not in record


def test_approver_sees_approve_but_not_edit(northwind, approver):
    a = northwind["a"]
    record = approver.get(f"/records/customers/{a.pk}/").content.decode()
    assert "data-approve" in record and "/edit/" not in record


# --- query counts -------------------------------------------------------------------

def test_queue_page_query_count_does_not_grow_with_the_page(queue_of, people, steward,
                                                             django_assert_max_num_queries):
    from mdm.services import stewardship as stw

    queue_of(30)
    with audit_context(origin=Origin.WEB, user=people["dave"], reason="test"):
        for i, task in enumerate(MatchTask.objects.all()):
            stw.assign(task=task, assignee=people["alice" if i % 2 else "dave"], actor=people["dave"])
    with django_assert_max_num_queries(12):
        response = steward.get("/review/")
    assert response.status_code == 200 and response.content.count(b"data-nav-row") >= 30


def test_record_list_query_count_is_bounded(queue_of, steward, django_assert_max_num_queries):
    queue_of(30)
    with django_assert_max_num_queries(10):
        response = steward.get("/records/customers/")
    assert response.status_code == 200 and response.content.count(b"data-nav-row") == 50


def test_compare_page_query_count_is_bounded(northwind, steward, django_assert_max_num_queries):
    with django_assert_max_num_queries(30):
        assert steward.get(f"/review/{northwind['task'].pk}/").status_code == 200


def test_stale_task_whose_record_was_retired_cannot_be_decided_from_its_page(northwind, steward):
    from mdm.services import golden as golden_svc

    with audit_context(origin=Origin.WEB, reason="gone"):
        golden_svc.retire(northwind["b"], actor=None, reason="gone")
    task = MatchTask.objects.get(pk=northwind["task"].pk)
    html = steward.get(f"/review/{task.pk}/").content.decode()
    assert 'name="action"' not in html


def test_contract_pages_render_references_by_name(seeded, people, steward):
    with audit_context(origin=Origin.IMPORT, reason="test"):
        ingest("crm", "ACC1", {"AccountName": "Initech", "BillingCountry": "GB"})
        result = ingest("crm", "K1", {"ContractNumber": "CT-1", "AccountId": "ACC1", "Name": "Support",
                                      "BillingModel": "retainer", "CurrencyIsoCode": "GBP"}, entity_type="contract")
    contract = Contract.objects.get(pk=result.golden_id)
    html = steward.get(f"/records/contracts/{contract.pk}/").content.decode()
    assert "Initech" in html and "CT-1" in html
    customer_page = steward.get(f"/records/customers/{contract.customer_id}/").content.decode()
    assert "CT-1 Support" in customer_page
    assert Customer.objects.count() == 1


def test_benchmark_command_prints_times_and_query_counts(queue_of, people):
    from io import StringIO

    from django.core.management import call_command

    queue_of(8)
    out = StringIO()
    call_command("bench_workbench", tasks=30, repeat=2, stdout=out)
    text = out.getvalue()
    assert "queue, first page" in text and "compare page" in text and "worst p95" in text
    assert MatchTask.objects.filter(status="open").count() >= 30


def test_compare_page_draws_the_cluster_of_other_pairs_touching_the_records(northwind, steward):
    from .conftest import review_task

    a, task = northwind["a"], northwind["task"]
    with audit_context(origin=Origin.IMPORT, reason="test"):
        c = customer("crm", "001Y", {"AccountName": "Northwind Trading Co", "BillingCountry": "GB"})
        assert c.pk != a.pk
        other = review_task(a, c, score=0.7)
    html = steward.get(f"/review/{task.pk}/").content.decode()
    assert '<svg class="cluster"' in html
    assert f'href="/review/{other.pk}/"' in html and "Northwind Trading Co" in html


def test_queue_count_is_capped_for_very_large_queues(queue_of, steward, monkeypatch):
    from stewardship import views

    queue_of(4)
    monkeypatch.setattr(views, "COUNT_CAP", 3)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    html = steward.get("/review/").content.decode()
    assert "1–2 of 3+" in html and "Page 1 of 2+" in html
