"""Decisions and edits through the workbench: each goes through a service,
leaves history with the steward's reason, confirms with a toast, shows a
refusal as a form error, and is refused (403) to roles that may not do it."""

from __future__ import annotations

import pytest
from django.test import override_settings

from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import Customer, ManualOverride, MatchTask, MergeEvent, NotDuplicate, SourceRecord
from mdm.services import golden as golden_svc

from .conftest import customer, ingest


def decide(client, task, action, reason="same company", **extra):
    return client.post(f"/review/{task.pk}/decide/", {"action": action, "reason": reason, **extra})


def toasts(client):
    return client.session.get("mdm_toasts", [])


# --- the review queue -----------------------------------------------------------------

def test_steward_merges_with_a_per_field_pick_from_the_other_record(northwind, steward):
    task = northwind["task"]
    # the page's sides: A is the task's golden_a
    a, b = Customer.objects.get(pk=task.golden_a), Customer.objects.get(pk=task.golden_b)
    survivor_side = "a" if a.created_at <= b.created_at else "b"
    # the rules keep ERP's legal name; the steward keeps the CRM record's instead
    crm_side = "a" if a.legal_name == "Northwind Limited" else "b"
    response = decide(steward, task, "merge", reason="Same company: same VAT and city",
                      pick_legal_name=crm_side, survivor=survivor_side)
    assert response.status_code == 302
    event = MergeEvent.objects.get()
    survivor = Customer.objects.get(pk=event.survivor_id)
    other = b if survivor.pk == a.pk else a
    other.refresh_from_db()
    assert other.state == "merged" and other.merged_into_id == survivor.pk
    picked_from = a if crm_side == "a" else b
    assert survivor.legal_name == "Northwind Limited"
    assert event.picks == {"legal_name": str(picked_from.pk)}
    assert MatchTask.objects.get(pk=task.pk).status == "merged"
    row = survivor.history.filter(history_change_reason__contains="Same company").first()
    assert row is not None and row.history_actor == "alice" and row.history_origin == "web"
    [t] = [t for t in toasts(steward) if t["undo"]]
    assert t["undo"] == event.pk and t["link"] == f"/merges/{event.pk}/"


def test_merge_without_picks_follows_the_survivorship_rules(northwind, steward):
    task = northwind["task"]
    decide(steward, task, "merge", reason="same")
    event = MergeEvent.objects.get()
    assert event.picks == {}
    survivor = Customer.objects.get(pk=event.survivor_id)
    assert survivor.legal_name == "Northwind Traders Ltd"  # ERP outranks CRM for the legal name
    assert survivor.industry == "Retail"  # only CRM had it


def test_after_a_decision_the_next_task_opens(queue_of, steward):
    queue_of(3)
    first, second = MatchTask.objects.filter(status="open").order_by("-score", "created_at", "id")[:2]
    response = decide(steward, first, "defer", reason="ask the account owner")
    assert response.status_code == 302 and response["Location"].startswith(f"/review/{second.pk}/")
    assert MatchTask.objects.get(pk=first.pk).status == "deferred"


def test_clearing_the_last_task_returns_to_the_queue_with_a_message(northwind, steward):
    response = decide(steward, northwind["task"], "not_duplicate", reason="Different companies")
    assert response.status_code == 302 and response["Location"].startswith("/review/")
    assert any("queue is clear" in t["text"] for t in toasts(steward))


def test_not_a_duplicate_is_remembered_and_the_pair_is_not_proposed_again(northwind, steward):
    a, b, task = northwind["a"], northwind["b"], northwind["task"]
    decide(steward, task, "not_duplicate", reason="Different companies")
    assert NotDuplicate.objects.filter(entity_type="customer").count() == 1
    assert MatchTask.objects.get(pk=task.pk).status == "not_duplicate"
    from mdm.services.ingest import open_review_task

    with audit_context(origin=Origin.MATCH, reason="re-match"):
        assert open_review_task("customer", b.pk, a.pk, 0.9, []) is None
    assert "Northwind" not in steward.get("/review/").content.decode().split('id="queue-table"')[1]


def test_decision_without_a_reason_is_a_form_error_and_changes_nothing(northwind, steward):
    task = northwind["task"]
    response = decide(steward, task, "merge", reason="   ")
    assert response.status_code == 400
    assert "Give a reason" in response.content.decode()
    assert MergeEvent.objects.count() == 0 and MatchTask.objects.get(pk=task.pk).status == "open"


def test_decision_refused_by_the_service_is_shown_on_the_page(northwind, steward):
    task = northwind["task"]
    decide(steward, task, "defer", reason="later")
    decide(steward, task, "not_duplicate", reason="different")
    response = decide(steward, task, "merge", reason="oops")
    assert response.status_code == 400
    assert "already" in response.content.decode() or "not a duplicate" in response.content.decode()
    assert MergeEvent.objects.count() == 0


def test_bad_pick_value_is_refused(northwind, steward):
    response = decide(steward, northwind["task"], "merge", pick_legal_name="c")
    assert response.status_code == 400 and MergeEvent.objects.count() == 0


def test_undo_from_the_toast_unmerges(northwind, steward):
    a, b, task = northwind["a"], northwind["b"], northwind["task"]
    decide(steward, task, "merge", reason="same")
    event = MergeEvent.objects.get()
    response = steward.post(f"/merges/{event.pk}/undo/", {"reason": "Undone right after merging"})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.undone_at is not None and event.undo_reason == "Undone right after merging"
    assert {c.state for c in Customer.objects.filter(pk__in=[a.pk, b.pk])} == {"pending"}
    assert steward.get(f"/merges/{event.pk}/").status_code == 200


def test_undo_needs_a_reason(northwind, steward):
    decide(steward, northwind["task"], "merge", reason="same")
    event = MergeEvent.objects.get()
    steward.post(f"/merges/{event.pk}/undo/", {"reason": ""})
    event.refresh_from_db()
    assert event.undone_at is None
    assert any("not undone" in t["text"] for t in toasts(steward))


def test_bulk_not_a_duplicate_with_a_reason(queue_of, steward):
    queue_of(3)
    tasks = list(MatchTask.objects.filter(status="open")[:3])
    response = steward.post("/review/bulk-not-duplicate/", {"tasks": [t.pk for t in tasks],
                                                             "reason": "Different companies"})
    assert response.status_code == 302
    assert {t.status for t in MatchTask.objects.filter(pk__in=[t.pk for t in tasks])} == {"not_duplicate"}
    assert NotDuplicate.objects.count() == 3


def test_bulk_without_a_reason_or_selection_changes_nothing(queue_of, steward):
    queue_of(2)
    ids = list(MatchTask.objects.values_list("pk", flat=True))
    steward.post("/review/bulk-not-duplicate/", {"tasks": ids, "reason": ""})
    steward.post("/review/bulk-not-duplicate/", {"reason": "x"})
    assert NotDuplicate.objects.count() == 0
    assert all("Nothing changed" in t["text"] for t in toasts(steward))


def test_claim_with_htmx_returns_the_assignee_cell(northwind, steward, people):
    task = northwind["task"]
    response = steward.post(f"/review/{task.pk}/assign/", {"claim": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "alice" in response.content.decode()
    assert "<html" not in response.content.decode()
    assert MatchTask.objects.get(pk=task.pk).assignee == people["alice"]
    assert "alice" in steward.get("/review/?assignee=me").content.decode()


def test_assign_to_someone_else_and_refuse_non_stewards(northwind, steward, people):
    task = northwind["task"]
    steward.post(f"/review/{task.pk}/assign/", {"assignee": people["dave"].pk})
    assert MatchTask.objects.get(pk=task.pk).assignee == people["dave"]
    response = steward.post(f"/review/{task.pk}/assign/", {"assignee": people["carol"].pk})
    assert response.status_code == 400
    assert MatchTask.objects.get(pk=task.pk).assignee == people["dave"]


# --- golden records --------------------------------------------------------------------

def edit_payload(record, **changes):
    from stewardship.forms import GoldenEditForm

    form = GoldenEditForm(record=record)
    data = {name: value for name, value in form.initial_values.items()}
    data.update(changes)
    data.setdefault("version", record.version)
    return data


def test_edit_with_a_reason_creates_an_override_and_waits_for_approval(northwind, steward):
    a = northwind["a"]
    response = steward.post(f"/records/customers/{a.pk}/edit/",
                            edit_payload(a, city="Cambridge", reason="Moved office"))
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.city == "Cambridge" and a.lineage["city"]["rule"] == "manual" and a.state == "pending"
    override = ManualOverride.objects.get(golden_id=a.pk, field="city")
    assert override.reason == "Moved office"
    assert a.history.first().history_change_reason == "Moved office"
    assert "wait" in toasts(steward)[0]["text"]


def test_edit_without_a_reason_or_change_is_a_form_error(northwind, steward):
    a = northwind["a"]
    response = steward.post(f"/records/customers/{a.pk}/edit/", edit_payload(a, city="Cambridge", reason=""))
    assert response.status_code == 400 and "Give a reason" in response.content.decode()
    response = steward.post(f"/records/customers/{a.pk}/edit/", edit_payload(a, reason="nothing"))
    assert response.status_code == 400 and "Nothing changed" in response.content.decode()
    assert not ManualOverride.objects.exists()


def test_edit_with_a_bad_value_shows_the_field_error(northwind, steward):
    a = northwind["a"]
    response = steward.post(f"/records/customers/{a.pk}/edit/",
                            edit_payload(a, country="Atlantis", reason="typo"))
    assert response.status_code == 400 and "country" in response.content.decode().lower()
    a.refresh_from_db()
    assert a.country == "GB" and not ManualOverride.objects.exists()


def test_edit_against_a_stale_version_shows_the_conflict(northwind, steward):
    a = northwind["a"]
    stale = edit_payload(a, city="Oxford", reason="mine")
    with audit_context(origin=Origin.IMPORT, reason="ERP resent"):
        ingest("erp", "C1", {"customer_name": "Northwind Traders Ltd", "vat_id": "GB980780684",
                             "country_code": "GB", "city": "Bristol", "currency": "GBP", "payment_terms": "NET30"})
    response = steward.post(f"/records/customers/{a.pk}/edit/", stale)
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    a.refresh_from_db()
    assert a.city == "Bristol"


def test_clearing_a_manual_value_lets_the_rules_decide_again(northwind, steward):
    a = northwind["a"]
    steward.post(f"/records/customers/{a.pk}/edit/", edit_payload(a, city="Cambridge", reason="moved"))
    a.refresh_from_db()
    response = steward.post(f"/records/customers/{a.pk}/edit/",
                            edit_payload(a, clear_city="on", reason="source is right"))
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.city == "London" and not ManualOverride.objects.exists()


def valid_pending(nw):
    """The CRM-only customer: passes validation (no ERP rules apply)."""
    b = nw["b"]
    assert b.is_valid and b.state == "pending", [i.message for i in golden_svc.validate(b)]
    return b


def test_approver_approves_a_pending_record(northwind, approver):
    a = valid_pending(northwind)
    response = approver.post(f"/records/customers/{a.pk}/approve/", {"version": a.version})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.state == "approved" and a.approved_by.username == "bob"
    assert "approved" in toasts(approver)[0]["text"]


def test_approver_sees_what_approving_a_change_to_a_published_record_changes(northwind, client_for):
    a = valid_pending(northwind)
    bob, alice = client_for("bob"), client_for("alice")
    assert bob.post(f"/records/customers/{a.pk}/approve/", {"version": a.version}).status_code == 302
    a.refresh_from_db()
    published = a.version
    assert 'id="awaiting-approval"' not in bob.get(f"/records/customers/{a.pk}/").content.decode()
    alice.post(f"/records/customers/{a.pk}/edit/", edit_payload(a, city="Cambridge", reason="moved"))
    a.refresh_from_db()
    assert a.state == "pending" and a.version > published
    page = bob.get(f"/records/customers/{a.pk}/").content.decode()
    panel = page[page.index('id="awaiting-approval"'):page.index('id="details"')]
    assert f"downstream systems still get version {published}" in panel
    row = panel[panel.index('data-field="city"'):]
    row = row[:row.index("</tr>")]
    assert '<td class="diff-old">London</td>' in row and '<td class="diff-new">Cambridge</td>' in row
    assert panel.count("data-field=") == 1  # only what approving changes
    assert bob.post(f"/records/customers/{a.pk}/approve/", {"version": a.version}).status_code == 302
    assert 'id="awaiting-approval"' not in bob.get(f"/records/customers/{a.pk}/").content.decode()


@override_settings(MDM_FOUR_EYES=True)
def test_four_eyes_the_last_editor_cannot_approve_their_own_change(northwind, client_for):
    a = valid_pending(northwind)
    dave = client_for("dave")  # admin: steward and approver at once
    dave.post(f"/records/customers/{a.pk}/edit/", edit_payload(a, city="Cambridge", reason="moved"))
    a.refresh_from_db()
    page = dave.get(f"/records/customers/{a.pk}/").content.decode()
    assert "another approver must approve" in page and "data-approve" not in page
    response = dave.post(f"/records/customers/{a.pk}/approve/", {"version": a.version})
    assert response.status_code == 400 and "Four eyes" in response.content.decode()
    a.refresh_from_db()
    assert a.state == "pending"
    bob = client_for("bob")
    assert bob.post(f"/records/customers/{a.pk}/approve/", {"version": a.version}).status_code == 302
    a.refresh_from_db()
    assert a.state == "approved"


@override_settings(MDM_FOUR_EYES=False)
def test_without_four_eyes_the_editor_may_approve(northwind, client_for):
    a = valid_pending(northwind)
    dave = client_for("dave")
    dave.post(f"/records/customers/{a.pk}/edit/", edit_payload(a, city="Cambridge", reason="moved"))
    a.refresh_from_db()
    assert dave.post(f"/records/customers/{a.pk}/approve/", {"version": a.version}).status_code == 302


def test_approving_an_invalid_record_shows_why(seeded, people, approver):
    with audit_context(origin=Origin.IMPORT, reason="test"):
        bad = customer("erp", "BAD1", {"customer_name": "Bad VAT Ltd", "vat_id": "GB123", "country_code": "GB"})
    response = approver.post(f"/records/customers/{bad.pk}/approve/", {"version": bad.version})
    assert response.status_code == 400 and "Cannot approve" in response.content.decode()


def test_approving_a_stale_version_is_a_conflict(northwind, approver):
    a = northwind["a"]
    response = approver.post(f"/records/customers/{a.pk}/approve/", {"version": a.version + 5})
    assert response.status_code == 409
    a.refresh_from_db()
    assert a.state == "pending"


def test_retire_asks_for_a_reason_and_confirms(northwind, steward):
    a = northwind["a"]
    assert steward.get(f"/records/customers/{a.pk}/retire/").status_code == 200
    response = steward.post(f"/records/customers/{a.pk}/retire/", {"version": a.version, "reason": ""})
    assert response.status_code == 400
    response = steward.post(f"/records/customers/{a.pk}/retire/", {"version": a.version, "reason": "Dissolved"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.state == "retired" and a.history.first().history_change_reason == "Dissolved"
    assert steward.get(f"/records/customers/{a.pk}/edit/").status_code == 302  # no editing a retired record


def test_split_a_source_record_out_into_a_new_golden(northwind, steward):
    task = northwind["task"]
    decide(steward, task, "merge", reason="same")
    survivor = Customer.objects.get(pk=MergeEvent.objects.get().survivor_id)
    crm = SourceRecord.objects.get(system__code="crm", source_id="001X")
    page = steward.get(f"/records/customers/{survivor.pk}/").content.decode()
    assert f"/split/{crm.pk}/" in page
    assert steward.get(f"/records/customers/{survivor.pk}/split/{crm.pk}/").status_code == 200
    response = steward.post(f"/records/customers/{survivor.pk}/split/{crm.pk}/", {"reason": "Different company"})
    assert response.status_code == 302
    new = Customer.objects.get(pk=crm.xref.golden_id)
    assert new.pk != survivor.pk and NotDuplicate.objects.exists()


def test_split_of_the_only_source_is_refused_with_a_message(northwind, steward):
    a = northwind["a"]
    erp = SourceRecord.objects.get(system__code="erp", source_id="C1")
    response = steward.post(f"/records/customers/{a.pk}/split/{erp.pk}/", {"reason": "x"})
    assert response.status_code == 400 and "only source" in response.content.decode()


def test_flagged_override_keep_or_drop(northwind, steward):
    a = northwind["a"]
    steward.post(f"/records/customers/{a.pk}/edit/", edit_payload(a, city="Cambridge", reason="moved"))
    with audit_context(origin=Origin.IMPORT, reason="ERP resent"):
        ingest("erp", "C1", {"customer_name": "Northwind Traders Ltd", "vat_id": "GB980780684",
                             "country_code": "GB", "city": "Bristol", "currency": "GBP", "payment_terms": "NET30"})
    override = ManualOverride.objects.get(golden_id=a.pk, field="city")
    assert override.flagged
    html = steward.get("/overrides/").content.decode()
    assert "Cambridge" in html and "Bristol" in html
    response = steward.post(f"/overrides/{override.pk}/", {"decision": "drop", "reason": "ERP is right"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.city == "Bristol" and not ManualOverride.objects.exists()
    assert "No flagged overrides" in steward.get("/overrides/").content.decode()


def test_flagged_override_needs_a_reason(northwind, steward):
    a = northwind["a"]
    steward.post(f"/records/customers/{a.pk}/edit/", edit_payload(a, city="Cambridge", reason="moved"))
    with audit_context(origin=Origin.IMPORT, reason="ERP resent"):
        ingest("erp", "C1", {"customer_name": "Northwind Traders Ltd", "vat_id": "GB980780684",
                             "country_code": "GB", "city": "Bristol", "currency": "GBP", "payment_terms": "NET30"})
    override = ManualOverride.objects.get(golden_id=a.pk, field="city")
    steward.post(f"/overrides/{override.pk}/", {"decision": "keep", "reason": ""})
    override.refresh_from_db()
    assert override.flagged


# --- what roles may not do ------------------------------------------------------------------

def forbidden_posts(nw):
    a, task = nw["a"], nw["task"]
    erp = SourceRecord.objects.get(system__code="erp", source_id="C1")
    return [
        (f"/review/{task.pk}/decide/", {"action": "merge", "reason": "x"}),
        (f"/review/{task.pk}/assign/", {"claim": "1"}),
        ("/review/bulk-not-duplicate/", {"tasks": [task.pk], "reason": "x"}),
        (f"/records/customers/{a.pk}/edit/", edit_payload(a, city="X", reason="x")),
        (f"/records/customers/{a.pk}/retire/", {"version": a.version, "reason": "x"}),
        (f"/records/customers/{a.pk}/split/{erp.pk}/", {"reason": "x"}),
        ("/overrides/1/", {"decision": "keep", "reason": "x"}),
        ("/merges/1/undo/", {"reason": "x"}),
    ]


def test_auditor_is_refused_every_change_even_when_posting_directly(northwind, auditor):
    a = northwind["a"]
    before = (a.history.count(), MatchTask.objects.get().status, MergeEvent.objects.count())
    for url, data in forbidden_posts(northwind):
        assert auditor.post(url, data).status_code == 403, url
    assert auditor.post(f"/records/customers/{a.pk}/approve/", {"version": a.version}).status_code == 403
    a.refresh_from_db()
    assert (a.history.count(), MatchTask.objects.get().status, MergeEvent.objects.count()) == before
    assert a.state == "pending"


def test_auditor_cannot_open_the_edit_forms(northwind, auditor):
    a = northwind["a"]
    assert auditor.get(f"/records/customers/{a.pk}/edit/").status_code == 403
    assert auditor.get(f"/records/customers/{a.pk}/retire/").status_code == 403


def test_approver_may_not_merge_or_edit(northwind, approver):
    for url, data in forbidden_posts(northwind)[:6]:
        assert approver.post(url, data).status_code == 403, url


def test_steward_may_not_approve(northwind, steward):
    a = northwind["a"]
    assert steward.post(f"/records/customers/{a.pk}/approve/", {"version": a.version}).status_code == 403


def test_get_on_action_urls_is_not_allowed(northwind, steward):
    task = northwind["task"]
    assert steward.get(f"/review/{task.pk}/decide/").status_code == 405
    assert steward.get("/review/bulk-not-duplicate/").status_code == 405


@pytest.mark.parametrize("url", ["/admin/mdm/customer/", "/admin/mdm/matchtask/", "/admin/mdm/sourcesystem/",
                                 "/admin/mdm/survivorshiprule/", "/admin/mdm/mergeevent/"])
def test_admin_lists_the_models(northwind, client_for, url):
    assert client_for("dave").get(url).status_code == 200


def test_admin_history_is_read_only(northwind, client_for):
    a = northwind["a"]
    dave = client_for("dave")
    response = dave.get(f"/admin/mdm/customer/{a.pk}/history/")
    assert response.status_code == 200 and b"test data" in response.content
    row = a.history.first()
    assert dave.get(f"/admin/mdm/customer/{a.pk}/history/{row.history_id}/").status_code in (200, 403)
    before = Customer.objects.get(pk=a.pk).legal_name
    dave.post(f"/admin/mdm/customer/{a.pk}/history/{row.history_id}/", {"legal_name": "Hacked"})
    dave.post(f"/admin/mdm/customer/{a.pk}/change/", {"legal_name": "Hacked"})
    assert Customer.objects.get(pk=a.pk).legal_name == before
    golden_svc  # the services remain the only way to change a golden record


def test_a_merge_pick_is_not_flagged_as_changed_right_away(northwind, steward):
    task = northwind["task"]
    a = Customer.objects.get(pk=task.golden_a)
    crm_side = "a" if a.legal_name == "Northwind Limited" else "b"
    decide(steward, task, "merge", reason="same", pick_legal_name=crm_side)
    override = ManualOverride.objects.get(field="legal_name")
    assert override.value == "Northwind Limited" and not override.flagged
    assert "No flagged overrides" in steward.get("/overrides/").content.decode()
