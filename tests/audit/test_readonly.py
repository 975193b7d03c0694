"""An auditor reads everything and changes nothing — through the UI, the
API or the admin — and no path edits or deletes history."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mdm import audit_chain
from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import MatchTask, MergeEvent
from mdm.services import stewardship as stw
from mdm.services.ingest import open_review_task
from tests.audit.conftest import ingest

WRITE_METHODS = ("post", "put", "patch", "delete")
SKIP = {"login", "logout"}  # signing in and out changes no data


def fingerprint() -> str:
    """A digest of every row of the hub's own tables (data, history, audit chain)."""
    h = hashlib.sha256()
    for model in apps.get_models():
        if model._meta.app_label not in {"mdm", "stewardship", "sync"}:
            continue
        for row in model.objects.order_by("pk").values_list():
            h.update(json.dumps(row, default=str).encode())
    return h.hexdigest()


def walk(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from walk(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


@pytest.fixture
def world(two_customers, people):
    a, b = two_customers
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="t"):
        c = ingest("erp", "C2", {"customer_name": "Fabrikam SA", "vat_id": "FR40303265045", "country_code": "FR"})
        event = stw.merge(survivor=a, others=[c], actor=people["alice"], reason="dup")
        task = open_review_task("customer", a.pk, b.pk, 0.7, [])
    audit_chain.seal_pending()
    return {"a": a, "b": b, "task": task, "event": event}


def concrete(route: str, world) -> str | None:
    """Fill a route's parameters with ids that exist."""
    a = world["a"]
    out = route.replace("^", "").replace("$", "").replace("\\Z", "")
    fills = {
        "<uuid:pk>": str(a.pk), "<slug:slug>": "customers", "<int:pk>": str(world["event"].pk),
        "<int:source_pk>": "1", "<str:label>": "mdm.customer", "<str:object_id>": str(a.pk),
        "<pk>": str(a.pk), "<path:object_id>": str(a.pk),
    }
    for k, v in fills.items():
        out = out.replace(k, v)
    if "<" in out or "(?P" in out:
        return None
    return "/" + out


def test_an_auditor_cannot_change_anything_through_the_ui_or_api(world, client, people):
    client.force_login(people["carol"])
    before = fingerprint()
    tried = refused = 0
    for route, pattern in walk():
        if pattern.name in SKIP or route.startswith("admin/"):
            continue
        url = concrete(route, world)
        if url is None:
            continue
        for method in WRITE_METHODS:
            response = getattr(client, method)(url, data={"reason": "x", "version": "1"}, content_type=(
                "application/json" if url.startswith("/api/") else "application/x-www-form-urlencoded"))
            tried += 1
            # refused (403/405), or a page that only reads (200); never a write's success
            assert response.status_code in (200, 400, 403, 404, 405), (method, url, response.status_code)
            refused += response.status_code in (403, 405)
    assert tried > 40 and refused > tried * 3 // 4
    assert fingerprint() == before  # the real test: not one row changed anywhere


def test_steward_actions_answer_403_to_an_auditor(world, client, people):
    client.force_login(people["carol"])
    a, task, event = world["a"], world["task"], world["event"]
    for url in (reverse("record-edit", args=["customers", a.pk]), reverse("record-approve", args=["customers", a.pk]),
                reverse("record-retire", args=["customers", a.pk]), reverse("task-decide", args=[task.pk]),
                reverse("merge-undo", args=[event.pk])):
        assert client.post(url, {"reason": "x", "version": a.version}).status_code == 403, url
    assert client.post(f"/api/v1/customers/{a.pk}/approve/", {}, content_type="application/json").status_code in (
        403, 404)
    assert MergeEvent.objects.get(pk=event.pk).undone_at is None
    assert MatchTask.objects.get(pk=task.pk).status == "open"


def test_audit_pages_and_api_are_read_only_even_for_admins(world, client, people):
    client.force_login(people["dave"])
    a = world["a"]
    pages = [reverse("audit-log"), reverse("audit-export"), reverse("audit-record", args=["mdm.customer", a.pk]),
             reverse("audit-merge", args=[world["event"].pk]), reverse("audit-chain")]
    api = ["/api/v1/audit/log/", "/api/v1/audit/log/csv/", f"/api/v1/audit/records/mdm.customer/{a.pk}/",
           f"/api/v1/audit/merges/{world['event'].pk}/", "/api/v1/audit/chain/"]
    for url in pages:
        assert client.get(url).status_code == 200, url
        assert client.post(url).status_code == 405, url
    for url in api:
        assert client.get(url).status_code == 200, url
        assert client.delete(url).status_code == 403, url


def test_only_auditors_stewards_and_admins_see_the_audit_trail(world, client, people):
    from django.contrib.auth.models import User

    nobody = User.objects.create_user("eve", password="pw-eve")
    client.force_login(nobody)
    assert client.get(reverse("audit-log")).status_code == 403
    assert client.get("/api/v1/audit/log/").status_code == 403
    for name in ("carol", "alice", "dave"):
        client.force_login(people[name])
        assert client.get(reverse("audit-log")).status_code == 200, name
        assert client.get("/api/v1/audit/log/").status_code == 200, name


def test_a_service_account_token_cannot_read_the_audit_trail(world, client):
    from mdm.services.accounts import create_service_account

    _, token = create_service_account(name="crm-sync", system_code="crm")
    r = client.get("/api/v1/audit/log/", HTTP_AUTHORIZATION=f"Token {token}")
    assert r.status_code == 403


def test_no_admin_page_edits_or_deletes_history(world, client, people):
    from simple_history.admin import SimpleHistoryAdmin

    client.force_login(people["dave"])  # a superuser
    before = fingerprint()
    history_labels = {hm._meta.label_lower for hm in audit_chain.history_models().values()}
    for model, model_admin in admin.site._registry.items():
        assert model._meta.label_lower not in history_labels, f"history table {model} is in the admin"
        assert model._meta.app_label != "mdm" or model.__name__ not in {"AuditEntry", "AuditErasure", "AuditPending"}
        if isinstance(model_admin, SimpleHistoryAdmin):
            hist = model.history.model.objects.first() if hasattr(model, "history") else None
            if hist is None:
                continue
            obj_id = getattr(hist, model._meta.pk.attname)
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_simple_history",
                          args=[obj_id, hist.history_id])
            response = client.post(url, {"legal_name": "Rewritten", "_change_history": "1"})
            assert response.status_code in (200, 403, 404, 405), (url, response.status_code)
    assert fingerprint() == before
