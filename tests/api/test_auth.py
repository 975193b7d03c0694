"""Who may do what: tokens (hashed, expiring, revocable), scopes, roles,
CSRF for sessions, throttling, and approval over HTTP with If-Match."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from mdm.models import Customer, ServiceAccount, SourceRecord
from tests.api.harness import token_client

SOURCE = "/api/v1/source-records/"
ERP_RECORD = {"entity_type": "customer", "source_id": "E-1", "system": "erp",
              "data": {"customer_name": "Acme Consulting Limited", "country_code": "GB"}}


# --- tokens --------------------------------------------------------------------------------

def test_create_service_account_prints_a_working_token_once_and_stores_only_a_hash(seeded):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_service_account", "crm-prod", "--system", "crm", "--entity", "customer",
                 "--expires-days", "30", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert len(token) >= 40 and "shown once" in err.getvalue()
    account = ServiceAccount.objects.get(name="crm-prod")
    assert account.entity_types == ["customer"] and not account.can_read_pending
    stored = AuthToken.objects.get(user=account.user)
    assert token not in (stored.digest, stored.token_key) and stored.expiry is not None
    assert token_client(token).get("/api/v1/customers/").status_code == 200


def test_an_account_may_hold_several_tokens(seeded, make_token):
    _, first = make_token("crm", name="crm-a")
    _, second = make_token("crm", name="crm-a")
    assert first != second
    assert token_client(first).get("/api/v1/customers/").status_code == 200
    assert token_client(second).get("/api/v1/customers/").status_code == 200


def test_create_service_account_refuses_an_unknown_system(seeded):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown system"):
        call_command("create_service_account", "x", "--system", "nope", stdout=io.StringIO())


def test_revoked_token_is_refused(seeded, make_token):
    account, token = make_token("crm", name="crm-r")
    _, other = make_token("crm", name="crm-r")
    client = token_client(token)
    assert client.get("/api/v1/customers/").status_code == 200
    call_command("revoke_tokens", "crm-r", "--token-key", token[:15], stdout=io.StringIO())
    assert client.get("/api/v1/customers/").status_code == 401
    assert token_client(other).get("/api/v1/customers/").status_code == 200
    call_command("revoke_tokens", "crm-r", "--deactivate", stdout=io.StringIO())
    assert token_client(other).get("/api/v1/customers/").status_code == 401


def test_expired_token_is_refused(seeded, make_token):
    account, token = make_token("crm", expires_days=1)
    AuthToken.objects.filter(user=account.user).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    assert token_client(token).get("/api/v1/customers/").status_code == 401


def test_deactivated_account_is_refused(seeded, make_token):
    account, token = make_token("crm")
    ServiceAccount.objects.filter(pk=account.pk).update(active=False)
    response = token_client(token).get("/api/v1/customers/")
    assert response.status_code == 401 and "deactivated" in response.json()["detail"]


def test_a_token_checked_a_moment_ago_is_not_read_again(seeded, make_token):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, token = make_token("crm")
    client = token_client(token)
    assert client.get("/api/v1/changes/", {"limit": 1}).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/changes/", {"limit": 1}).status_code == 200
    assert not [q for q in queries.captured_queries if "knox_authtoken" in q["sql"]]


def test_a_token_revoked_from_another_process_is_refused_once_the_cache_time_has_passed(
        seeded, make_token, monkeypatch, settings):
    from mdm.api import auth

    account, token = make_token("crm")
    client = token_client(token)
    assert client.get("/api/v1/customers/").status_code == 200
    AuthToken.objects.filter(user=account.user)._raw_delete("default")  # as another process would: no signal here
    assert client.get("/api/v1/customers/").status_code == 200  # still trusted, for a moment
    later = auth.time.monotonic() + settings.MDM_TOKEN_CACHE_SECONDS + 0.1
    monkeypatch.setattr(auth.time, "monotonic", lambda: later)
    assert client.get("/api/v1/customers/").status_code == 401


def test_with_no_cache_time_a_revoked_token_is_refused_at_once(seeded, make_token, settings):
    settings.MDM_TOKEN_CACHE_SECONDS = 0
    account, token = make_token("crm")
    client = token_client(token)
    assert client.get("/api/v1/customers/").status_code == 200
    AuthToken.objects.filter(user=account.user)._raw_delete("default")
    assert client.get("/api/v1/customers/").status_code == 401


def test_a_trusted_token_is_still_refused_once_it_expires(seeded, make_token, monkeypatch):
    from mdm.api import auth

    _, token = make_token("crm", expires_days=1)
    client = token_client(token)
    assert client.get("/api/v1/customers/").status_code == 200
    later = timezone.now() + dt.timedelta(days=2)
    monkeypatch.setattr(auth.timezone, "now", lambda: later)
    assert client.get("/api/v1/customers/").status_code == 401


def test_deactivating_an_account_in_this_process_ends_its_tokens_trust_at_once(seeded, make_token):
    account, token = make_token("crm")
    client = token_client(token)
    assert client.get("/api/v1/customers/").status_code == 200
    account.active = False
    account.save()
    assert client.get("/api/v1/customers/").status_code == 401


def test_garbage_token_is_refused(seeded):
    assert token_client("not-a-real-token").get("/api/v1/customers/").status_code == 401


# --- scopes ----------------------------------------------------------------------------------

def test_crm_token_cannot_write_erp_source_records(seeded, crm_client):
    response = crm_client.post(SOURCE, ERP_RECORD, format="json")
    assert response.status_code == 403
    assert not SourceRecord.objects.exists()


def test_crm_token_cannot_read_what_it_is_not_scoped_to(world, make_token):
    _, token = make_token("crm", entity_types=("customer",))
    client = token_client(token)
    assert client.get("/api/v1/customers/").status_code == 200
    for route in ("contracts", "projects", "legal-entities"):
        assert client.get(f"/api/v1/{route}/").status_code == 403
    contract_xref_id = "K-1"
    assert client.get("/api/v1/xref/", {"system": "crm", "source_id": contract_xref_id}).status_code == 404
    feed = client.get("/api/v1/changes/").json()["results"]
    assert feed and {e["entity_type"] for e in feed} == {"customer"}


def test_crm_token_cannot_change_a_golden_record(world, crm_client):
    acme = world["acme"]
    url = f"/api/v1/customers/{acme.pk}/"
    for method in ("put", "patch", "delete"):
        assert getattr(crm_client, method)(url, {"legal_name": "Hijacked"}, format="json").status_code == 405
    response = crm_client.post(url + "approve/", {}, format="json", HTTP_IF_MATCH=f'"{acme.version}"')
    assert response.status_code == 403
    assert Customer.objects.get(pk=acme.pk).legal_name == "Acme Consulting Limited"


# --- sessions and roles -------------------------------------------------------------------------

def test_auditor_session_reads_but_cannot_write(world, people):
    client = APIClient()
    client.force_login(people["carol"])
    assert client.get("/api/v1/customers/").status_code == 200
    pending = world["pending_customer"]
    response = client.post(f"/api/v1/customers/{pending.pk}/approve/", {}, format="json",
                           HTTP_IF_MATCH=f'"{pending.version}"')
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    assert client.post(SOURCE, ERP_RECORD, format="json").status_code == 403
    assert Customer.objects.get(pk=pending.pk).state == "pending"


def test_sessions_need_the_csrf_token_for_writes(world, session_client):
    client = session_client("bob")
    pending = world["pending_customer"]
    url = f"/api/v1/customers/{pending.pk}/approve/"
    response = client.post(url, {}, format="json", HTTP_IF_MATCH=f'"{pending.version}-pending"')
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_approver_session_approves_with_if_match(world, people):
    client = APIClient()
    client.force_login(people["bob"])
    pending = world["pending_customer"]
    url = f"/api/v1/customers/{pending.pk}/approve/"
    detail = client.get(f"/api/v1/customers/{pending.pk}/")
    etag = detail["ETag"]
    assert etag == f'"{pending.version}-pending"'
    assert client.post(url, {"reason": "checked"}, format="json").status_code == 428
    stale = client.post(url, {}, format="json", HTTP_IF_MATCH=f'"{pending.version + 5}"')
    assert stale.status_code == 412
    ok = client.post(url, {"reason": "checked the VAT id"}, format="json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200, ok.json()
    assert ok.json()["state"] == "approved" and ok["ETag"] == f'"{pending.version}"'
    row = Customer.history.filter(id=pending.pk).order_by("-history_id").first()
    assert (row.history_origin, row.history_change_reason, row.history_user.username) == (
        "api", "checked the VAT id", "bob")


def test_a_steward_is_not_an_approver(world, people):
    client = APIClient()
    client.force_login(people["alice"])
    pending = world["pending_customer"]
    response = client.post(f"/api/v1/customers/{pending.pk}/approve/", {}, format="json",
                           HTTP_IF_MATCH=f'"{pending.version}"')
    assert response.status_code == 403


# --- throttling ---------------------------------------------------------------------------------------

def test_each_account_has_its_own_quota(seeded, make_token, monkeypatch):
    from django.core.cache import cache

    from mdm.api.auth import ReadThrottle

    cache.clear()
    monkeypatch.setattr(ReadThrottle, "THROTTLE_RATES", {"mdm_read": "2/min"})
    first, second = token_client(make_token("crm")[1]), token_client(make_token("crm")[1])
    assert [first.get("/api/v1/customers/").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/api/v1/customers/").status_code == 200
    cache.clear()


def test_quota_holds_across_a_window_boundary_and_frees_up_after(seeded, make_token, monkeypatch):
    from django.core.cache import cache

    from mdm.api.auth import ReadThrottle

    cache.clear()
    monkeypatch.setattr(ReadThrottle, "THROTTLE_RATES", {"mdm_read": "2/min"})
    clock = [60_000_059.9]  # 0.1 s before a minute window ends
    monkeypatch.setattr(ReadThrottle, "timer", lambda self: clock[0])
    client = token_client(make_token("crm")[1])
    codes = [client.get("/api/v1/customers/").status_code for _ in range(2)]
    clock[0] += 0.2  # the next window has just begun: the last minute still holds two requests
    refused = client.get("/api/v1/customers/")
    codes.append(refused.status_code)
    clock[0] += 60
    codes.append(client.get("/api/v1/customers/").status_code)
    assert codes == [200, 200, 429, 200]
    assert 0 < float(refused["Retry-After"]) <= 60
    cache.clear()


def test_cache_url_names_a_shared_store_or_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    from mdm.settings import cache_config

    assert cache_config("")["BACKEND"].endswith("LocMemCache")  # each process its own: the zero-setup default
    shared = cache_config("redis://10.0.0.5:6379/2")
    assert shared["BACKEND"].endswith("RedisCache") and shared["LOCATION"] == "redis://10.0.0.5:6379/2"
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL must be a redis://"):
        cache_config("memcached://10.0.0.5:11211")


@pytest.mark.integration
def test_with_a_redis_cache_every_web_process_counts_against_one_quota(seeded, make_token, monkeypatch):
    """The counts live in Redis, where any other process reads them: a second
    web process cannot grant the account a second quota."""
    import redis
    from django.core.cache import caches
    from django.test import override_settings

    from mdm.api.auth import ReadThrottle
    from mdm.settings import cache_config
    from tests.conftest import require_service

    url = "redis://127.0.0.1:6379/4"
    try:
        store = redis.Redis.from_url(url)
        store.ping()
    except redis.RedisError:
        store = None
    require_service("Redis", store is not None, url)
    store.flushdb()
    monkeypatch.setattr(ReadThrottle, "THROTTLE_RATES", {"mdm_read": "2/min"})
    account, token = make_token("crm")
    with override_settings(CACHES={"default": cache_config(url)}):
        client = token_client(token)
        assert [client.get("/api/v1/customers/").status_code for _ in range(2)] == [200, 200]
        counted = {k.decode(): int(store.get(k)) for k in store.keys("mdm:*")}
        assert sum(counted.values()) == 2 and all(str(account.user_id) in k for k in counted)  # seen by all
        caches["default"].close()
        assert token_client(token).get("/api/v1/customers/").status_code == 429  # a fresh connection: still spent
    store.flushdb()
