"""The workbench in a real headless Chromium (Playwright, the system's
/usr/bin/chromium; never ``playwright install``), against a live server.

Run with ``MDM_INTEGRATION=1`` (as ``.ci/run`` does).  Screenshots of the
main pages are written to ``$MDM_SCREENSHOTS`` (default
``build/screenshots/``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer, MatchTask, MergeEvent, NotDuplicate

from .conftest import customer, ingest, review_task

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("MDM_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "build" / "screenshots")
EXPLANATION = [
    {"field": "(prior)", "value_a": None, "value_b": None, "level": "prior", "weight": -7.2, "tf_adjustment": 0.0},
    {"field": "legal_name", "value_a": "northwind traders", "value_b": "northwind", "level": "jaro-winkler >= 0.88",
     "weight": 5.1, "tf_adjustment": 0.3},
    {"field": "tax_id", "value_a": "GB980780684", "value_b": None, "level": "null", "weight": 0.0},
    {"field": "country", "value_a": "GB", "value_b": "GB", "level": "exact", "weight": 1.9},
    {"field": "city", "value_a": "london", "value_b": "london", "level": "exact", "weight": 3.4},
    {"field": "website", "value_a": None, "value_b": "northwind.example", "level": "null", "weight": 0.0},
    {"field": "phone", "value_a": "+44 20 7946 0000", "value_b": "+44 161 496 0000", "level": "else",
     "weight": -2.1},
]


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module.  Playwright's sync API runs an
    event loop in this thread, so Django's async-safety check must be off
    while these tests run (and only then)."""
    from tests.conftest import require_service

    require_service("Chromium", Path(CHROMIUM).exists(), CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("Playwright", False, "pip install -r .ci/requirements-integration.txt")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: errors.append(f"external request {req.url}")
            if not req.url.startswith(live_server.url) and not req.url.startswith("data:") else None)
    yield page
    context.close()
    # no script errors, no Content-Security-Policy violations, nothing loaded from elsewhere
    # (403s that a test provokes on purpose are logged by Chromium as failed resources)
    assert [e for e in errors if "403" not in e] == []


def login(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/$"))


def logout(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/login/.*"))


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def decide_with_keys(page, key, reason):
    """The keyboard path: a key for the decision, the reason, Enter."""
    page.keyboard.press(key)
    page.keyboard.type(reason)
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.fixture
def pair(seeded, people):
    with audit_context(origin=Origin.IMPORT, reason="browser test data"):
        a = customer("erp", "C1", {"customer_name": "Northwind Traders Ltd", "vat_id": "GB980780684",
                                   "country_code": "GB", "city": "London", "currency": "GBP",
                                   "payment_terms": "NET30", "phone": "+44 20 7946 0000"})
        b = customer("crm", "001X", {"AccountName": "Northwind", "LegalName": "Northwind Limited",
                                     "Website": "northwind.example", "BillingCountry": "GB",
                                     "BillingCity": "London", "Industry": "Retail", "Phone": "+44 161 496 0000"})
        task = review_task(a, b, score=0.82)
        task.explanation = EXPLANATION
        task.save()
    return {"a": a, "b": b, "task": task}


def three_more(prefixes=("Bravo", "Charlie", "Delta")):
    with audit_context(origin=Origin.IMPORT, reason="browser test data"):
        out = []
        for i, stem in enumerate(prefixes):
            a = customer("erp", f"K{i}A", {"customer_name": f"{stem} Advisory Ltd", "country_code": "GB",
                                          "city": "Leeds"})
            b = customer("crm", f"K{i}B", {"AccountName": f"{stem} Advisory", "BillingCountry": "GB",
                                          "BillingCity": "York"})  # another city: doubtful, not a match
            assert a.pk != b.pk
            out.append(review_task(a, b, score=0.7 - i / 100))
    return out


def test_steward_clears_the_queue_with_the_keyboard(pair, browser_page):
    page = browser_page
    extra = three_more()
    total = MatchTask.objects.filter(status="open").count()
    assert total >= 4
    login(page, "alice")
    page.goto("/review/")
    shot(page, "queue")
    # j selects the first row, Enter opens it
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/review/\d+/", page.url)
    first = int(re.search(r"/review/(\d+)/", page.url).group(1))
    # j/k move between pairs without deciding
    with page.expect_navigation():
        page.keyboard.press("j")
    assert int(re.search(r"/review/(\d+)/", page.url).group(1)) != first
    with page.expect_navigation():
        page.keyboard.press("k")
    assert int(re.search(r"/review/(\d+)/", page.url).group(1)) == first
    # the help overlay lists the keys
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    decisions = ["n", "d", "m"] + ["n"] * (total - 3)
    for key in decisions:
        reason = {"n": "Different companies", "d": "Ask the account owner", "m": "Same company"}[key]
        decide_with_keys(page, key, reason)
        assert page.locator("[data-toast]").first.is_visible()
    assert "queue is clear" in page.locator("#toasts").inner_text()
    assert MatchTask.objects.filter(status="open").count() == 0
    statuses = {t.status for t in MatchTask.objects.all()}
    assert {"not_duplicate", "deferred", "merged"} <= statuses
    assert MergeEvent.objects.filter(actor__username="alice").count() == 1
    assert {t.pk for t in extra} <= set(MatchTask.objects.values_list("pk", flat=True))


def test_steward_reads_the_explanation_merges_picking_a_field_from_the_other_record(pair, browser_page,
                                                                                   monkeypatch):
    from mdm.services import matching

    # the engine's own explanation depends on its learned parameters; pin it
    monkeypatch.setattr(matching, "score_goldens", lambda *args, **kwargs: (0.82, EXPLANATION))
    page = browser_page
    task = pair["task"]
    login(page, "alice")
    page.goto(f"/review/{task.pk}/")
    # the waterfall: the prior, fields for and against, the final score
    svg = page.locator("svg.waterfall")
    assert svg.is_visible()
    assert svg.locator("rect.wf-pos").count() >= 3 and svg.locator("rect.wf-neg").count() >= 1
    assert "legal name" in svg.text_content() and "+5.10" in svg.text_content()
    sources = page.locator("section", has=page.locator("#src-head")).inner_text()
    assert "C1" in sources and "001X" in sources
    # rules would keep ERP's legal name; pick CRM's instead
    row = page.locator('tr[data-field="legal_name"]')
    side = "b" if row.locator('input[value="a"]').is_checked() else "a"
    on_page = {"a": Customer.objects.get(pk=task.golden_a), "b": Customer.objects.get(pk=task.golden_b)}
    keep_name = on_page[side].legal_name
    assert keep_name != on_page["a" if side == "b" else "b"].legal_name
    row.locator(f'input[value="{side}"]').check()
    assert row.locator("[data-result]").inner_text() == keep_name
    shot(page, "compare")
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 300})
    decide_with_keys(page, "m", "Same company: same VAT number")
    toast = page.locator("[data-toast]").filter(has_text="Merged")
    assert toast.is_visible() and toast.get_by_role("button", name="Undo merge").is_visible()
    with page.expect_navigation():
        toast.get_by_role("link", name="See the merge").click()
    assert "Merge #" in page.locator("h1").inner_text()
    event = MergeEvent.objects.get()
    survivor = Customer.objects.get(pk=event.survivor_id)
    assert survivor.legal_name == keep_name
    page.goto(f"/records/customers/{survivor.pk}/")
    history = page.locator("#history")
    assert "Same company: same VAT number" in history.inner_text()
    assert keep_name in history.inner_text()
    shot(page, "golden_detail")


def test_undo_from_the_toast_restores_both_records(pair, browser_page):
    page = browser_page
    login(page, "alice")
    page.goto(f"/review/{pair['task'].pk}/")
    decide_with_keys(page, "m", "Same company")
    toast = page.locator("[data-toast]").filter(has_text="Merged")
    with page.expect_navigation():
        toast.get_by_role("button", name="Undo merge").click()
    assert "Merge undone" in page.locator("#toasts").inner_text()
    assert MergeEvent.objects.get().undone_at is not None
    assert set(Customer.objects.values_list("state", flat=True)) == {"pending"}


def test_not_a_duplicate_does_not_come_back_after_a_rematch(pair, browser_page):
    page = browser_page
    task = pair["task"]
    login(page, "alice")
    page.goto(f"/review/{task.pk}/")
    decide_with_keys(page, "n", "Different companies, same trading name")
    assert NotDuplicate.objects.count() == 1
    # the CRM sends the record again, changed: matching runs again for it
    with audit_context(origin=Origin.API, reason="crm update"):
        result = ingest("crm", "001X", {"AccountName": "Northwind", "LegalName": "Northwind Traders Limited",
                                        "Website": "northwind.example", "BillingCountry": "GB",
                                        "BillingCity": "London", "Industry": "Retail",
                                        "VATNumber": "GB980780684"})
    assert result.outcome == "updated"
    from mdm.services.rematch import rematch_entity_type

    rematch_entity_type("customer")  # the hub-wide re-match compares every golden again
    assert not MatchTask.objects.filter(status="open").exists()
    page.goto("/review/")
    assert "The queue is clear" in page.locator("#queue-table").inner_text()


def test_steward_edits_with_a_reason_and_another_user_approves(pair, browser_page):
    page = browser_page
    b = pair["b"]  # CRM-only: passes validation
    login(page, "alice")
    page.goto(f"/records/customers/{b.pk}/")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Billing city").fill("Manchester")
    page.get_by_label("Reason for the change").fill("Head office moved (letter of 1 May)")
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()
    assert "approval" in page.locator("#toasts").inner_text()
    assert page.locator('[data-approve]').count() == 0  # stewards do not approve
    logout(page)
    login(page, "bob")
    page.goto(f"/records/customers/{b.pk}/")
    assert "Manchester" in page.locator("#details").inner_text()
    with page.expect_navigation():
        page.locator("[data-approve]").click()
    assert "approved" in page.locator("#toasts").inner_text()
    b.refresh_from_db()
    assert b.state == "approved" and b.approved_by.username == "bob" and b.city == "Manchester"
    assert "Approved" in page.locator("h1").inner_text()


def test_auditor_reads_everything_and_changes_nothing(pair, browser_page):
    page = browser_page
    a, task = pair["a"], pair["task"]
    login(page, "carol")
    shot(page, "dashboard")
    for url in ("/", "/review/", f"/review/{task.pk}/", f"/records/customers/{a.pk}/", "/exceptions/",
                "/overrides/", "/audit/", "/records/contracts/"):
        response = page.goto(url)
        assert response.status == 200, url
    page.goto(f"/review/{task.pk}/")
    assert page.locator('button[name="action"]').count() == 0
    page.keyboard.press("m")  # nothing to trigger
    page.goto(f"/records/customers/{a.pk}/")
    assert page.get_by_role("link", name="Edit").count() == 0
    # posting anyway (with a valid CSRF token) is refused
    status = page.evaluate("""async (url) => {
        const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken=')).split('=')[1];
        const body = new URLSearchParams({action: 'merge', reason: 'sneaky'});
        const r = await fetch(url, {method: 'POST', body, headers: {'X-CSRFToken': token}});
        return r.status;
    }""", f"/review/{task.pk}/decide/")
    assert status == 403
    assert MatchTask.objects.get(pk=task.pk).status == "open" and not MergeEvent.objects.exists()


def test_screenshots_folder_is_written(pair, browser_page):
    page = browser_page
    login(page, "alice")
    for name, url in (("dashboard_steward", "/"), ("queue_steward", "/review/"),
                      ("compare_steward", f"/review/{pair['task'].pk}/"),
                      ("golden_list", "/records/customers/"),
                      ("golden_detail_steward", f"/records/customers/{pair['a'].pk}/")):
        page.goto(url)
        shot(page, name)
    assert all((SHOTS / f"{n}.png").stat().st_size > 10_000
               for n in ("dashboard_steward", "queue_steward", "compare_steward", "golden_detail_steward"))
