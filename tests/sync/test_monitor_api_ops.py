"""The sync monitor pages, the /api/v1/sync/ endpoints, /healthz, /metrics,
add_subscription and the selectors behind them."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mdm.audit import audit_context
from mdm.choices import Origin
from sync import selectors, tasks
from sync.models import Delivery, Subscription
from tests.sync.conftest import approve, new_customer, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def traffic(subscription, receiver):
    """One delivered, one business failure, one dead delivery."""
    ok = approve(new_customer(1))
    tasks.deliver(str(Delivery.objects.get(golden_id=ok.pk).pk))
    receiver.reject = lambda msg: "VAT number is required" if msg["golden_id"] != str(ok.pk) else None
    bad = approve(new_customer(2))
    tasks.deliver(str(Delivery.objects.get(golden_id=bad.pk).pk))
    receiver.reject = None
    dead = approve(new_customer(3))
    Delivery.objects.filter(golden_id=dead.pk).update(status="dead", error_category="technical",
                                                      last_error="HTTP 503: down", attempts=15)
    return {"ok": Delivery.objects.get(golden_id=ok.pk), "failed": Delivery.objects.get(golden_id=bad.pk),
            "dead": Delivery.objects.get(golden_id=dead.pk)}


def test_sync_health_counts_latency_and_problems_per_system(traffic):
    (row,) = selectors.sync_health()
    assert (row["system"], row["pending"], row["delivered"], row["failed"], row["dead"]) == ("hooks", 0, 1, 1, 1)
    assert row["problems"] == {"business": 1, "technical": 1}
    assert row["delivered_last_hour"] == 1 and sum(row["series"]) == 1 and len(row["series"]) == 60
    assert row["p50_ms"] is not None and row["p95_ms"] >= row["p50_ms"]


def test_error_groups_keep_business_apart_from_technical(traffic):
    groups = selectors.error_groups()
    assert [g["message"] for g in groups["business"]] == ["HTTP 422: VAT number is required"]
    assert [g["message"] for g in groups["technical"]] == ["HTTP 503: down"]


def test_erp_subscribed_only_for_erp_kind_systems(seeded, receiver):
    assert not selectors.erp_subscribed("customer")
    subscribe(receiver.url, system="hooks")
    assert not selectors.erp_subscribed("customer")
    subscribe(receiver.url, system="erp", entities=("customer",))
    assert selectors.erp_subscribed("customer") and not selectors.erp_subscribed("project")


def test_monitor_shows_systems_errors_and_replay_buttons_to_stewards(client, people, traffic):
    client.force_login(people["alice"])
    html = client.get("/sync/").content.decode()
    assert "hooks" in html and "VAT number is required" in html and "HTTP 503: down" in html
    assert "Replay 1 dead" in html and "<polyline" in html


def test_auditors_read_but_cannot_replay(client, people, traffic):
    client.force_login(people["carol"])
    html = client.get("/sync/").content.decode()
    assert "hooks" in html and "Replay 1 dead" not in html
    assert client.post(f"/sync/deliveries/{traffic['dead'].pk}/replay/").status_code == 403
    assert client.post("/sync/systems/hooks/replay-dead/").status_code == 403
    assert Delivery.objects.get(pk=traffic["dead"].pk).status == "dead"


def test_steward_replays_a_dead_delivery_from_the_ui(client, people, traffic, django_capture_on_commit_callbacks):
    client.force_login(people["alice"])
    with django_capture_on_commit_callbacks(execute=False):
        r = client.post(f"/sync/deliveries/{traffic['dead'].pk}/replay/")
    assert r.status_code == 302
    d = Delivery.objects.get(pk=traffic["dead"].pk)
    assert d.status == "pending" and d.replay_count == 1 and d.replayed_by == "alice"


def test_replay_all_dead_of_a_system_from_the_ui(client, people, traffic):
    client.force_login(people["dave"])
    r = client.post("/sync/systems/hooks/replay-dead/", follow=True)
    assert "1 dead deliveries to hooks queued again" in r.content.decode()


def test_delivery_list_filters_and_refuses_bad_filters_without_500(client, people, traffic):
    client.force_login(people["carol"])
    html = client.get("/sync/deliveries/?category=business").content.decode()
    assert "VAT number is required" in html and "HTTP 503" not in html
    r = client.get("/sync/deliveries/?golden_id=nope&status=bogus")
    assert r.status_code == 200 and "Not a record id" in r.content.decode() and "Unknown status" in r.content.decode()


def test_record_drill_down_and_delivery_detail(client, people, traffic):
    client.force_login(people["carol"])
    d = traffic["failed"]
    html = client.get(f"/sync/records/customer/{d.golden_id}/").content.decode()
    assert "VAT number is required" in html and "Business rule" in html
    html = client.get(f"/sync/deliveries/{d.pk}/").content.decode()
    assert str(d.pk) in html and "Acme Number 2 Ltd" in html
    assert client.get("/sync/records/nonsense/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_people_without_a_role_are_refused(client, traffic):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("nobody", password="x"))
    assert client.get("/sync/").status_code == 403


def test_api_lists_deliveries_with_filters_and_400_on_unknown_parameters(client, people, traffic):
    client.force_login(people["carol"])
    body = client.get("/api/v1/sync/deliveries/?status=failed").json()
    assert [r["error_category"] for r in body["results"]] == ["business"]
    assert body["results"][0]["idempotency_key"] == str(traffic["failed"].pk)
    assert client.get("/api/v1/sync/deliveries/?colour=red").status_code == 400
    assert client.get("/api/v1/sync/deliveries/?golden_id=x").status_code == 400
    health = client.get("/api/v1/sync/health/").json()
    assert health[0]["system"] == "hooks" and health[0]["dead"] == 1


def test_api_replay_needs_a_steward_and_answers_409_when_not_replayable(client, people, traffic):
    client.force_login(people["carol"])
    assert client.post(f"/api/v1/sync/deliveries/{traffic['dead'].pk}/replay/").status_code == 403
    client.force_login(people["alice"])
    r = client.post(f"/api/v1/sync/deliveries/{traffic['dead'].pk}/replay/")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert client.post(f"/api/v1/sync/deliveries/{traffic['ok'].pk}/replay/").status_code == 409
    r = client.post("/api/v1/sync/systems/hooks/replay-dead/")
    assert r.json() == {"system": "hooks", "replayed": 0, "stale": 0}


def test_api_service_account_sees_only_its_own_systems_deliveries(client, seeded, traffic):
    from mdm.services.accounts import create_service_account

    _, token = create_service_account(name="crm-bot", system_code="crm")
    r = client.get("/api/v1/sync/deliveries/", HTTP_AUTHORIZATION=f"Token {token}")
    assert r.status_code == 200 and r.json()["results"] == []
    r = client.get(f"/api/v1/sync/deliveries/{traffic['ok'].pk}/", HTTP_AUTHORIZATION=f"Token {token}")
    assert r.status_code == 404
    r = client.post(f"/api/v1/sync/deliveries/{traffic['dead'].pk}/replay/", HTTP_AUTHORIZATION=f"Token {token}")
    assert r.status_code in (403, 404)


def test_healthz_reports_database_and_broker(client, db):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["checks"]["database"]["ok"] and r.json()["checks"]["broker"]["ok"]


def test_healthz_answers_503_when_the_broker_is_down(client, db):
    from sync import harness

    with harness.use_broker("redis://127.0.0.1:1/0", "nowhere"):
        r = client.get("/healthz")
    assert r.status_code == 503 and not r.json()["checks"]["broker"]["ok"]


def test_metrics_expose_sync_gauges(client, traffic, monkeypatch):
    text = client.get("/metrics").content.decode()
    assert 'mdm_sync_deliveries{status="dead",system="hooks"} 1.0' in text
    assert 'mdm_sync_problem_deliveries{category="business",system="hooks"} 1.0' in text
    assert "mdm_sync_latency_seconds" in text
    monkeypatch.setenv("MDM_METRICS_TOKEN", "t0k")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer t0k").status_code == 200


def test_metrics_expose_the_review_backlog_and_background_jobs(client, seeded):
    import uuid

    from mdm.models import Customer, Job, MatchTask

    a, _, c = new_customer(1), new_customer(2), new_customer(3)
    approve(a)
    Customer.objects.filter(pk=c.pk).update(is_valid=False)
    open_tasks = MatchTask.objects.filter(status="open").count() + 1  # (look-alikes the ingest proposed, and one)
    MatchTask.objects.create(entity_type="customer", golden_a=uuid.uuid4(), golden_b=uuid.uuid4(), score=0.8)
    MatchTask.objects.create(entity_type="customer", golden_a=uuid.uuid4(), golden_b=uuid.uuid4(), score=0.7,
                             status="deferred")
    MatchTask.objects.create(entity_type="customer", golden_a=uuid.uuid4(), golden_b=uuid.uuid4(), score=0.7,
                             status="merged")  # decided: not backlog
    Job.objects.create(kind="rematch", title="Rematch customers", status="running")
    Job.objects.create(kind="rebuild", title="Rebuild customers")
    text = client.get("/metrics").content.decode()
    assert f'mdm_review_tasks{{entity_type="customer",status="open"}} {open_tasks:.1f}' in text
    assert 'mdm_review_tasks{entity_type="customer",status="deferred"} 1.0' in text
    assert 'status="merged"' not in text
    assert 'mdm_records_awaiting_approval{entity_type="customer"} 2.0' in text
    assert 'mdm_records_awaiting_approval{entity_type="contract"} 0.0' in text
    assert 'mdm_records_failing_validation{entity_type="customer"} 1.0' in text
    assert 'mdm_jobs{kind="rematch",status="running"} 1.0' in text
    assert 'mdm_jobs{kind="rebuild",status="queued"} 1.0' in text


@pytest.mark.integration
@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/7", "amqp://guest:guest@127.0.0.1:5672//"])
def test_metrics_report_the_depth_of_the_brokers_task_queue(client, db, url):
    from mdm.celery import app
    from mdm.ops import _check_broker
    from sync import harness
    from tests.conftest import require_service

    queue = "mdm-metrics-test"
    harness.purge(url, queue)
    with harness.use_broker(url, queue):
        ok, detail = _check_broker()
        require_service("Redis" if url.startswith("redis") else "RabbitMQ", ok, detail)
        for _ in range(3):
            app.send_task("sync.tasks.deliver", args=["00000000-0000-0000-0000-000000000000"], queue=queue)
        try:
            text = client.get("/metrics").content.decode()
        finally:
            harness.purge(url, queue)
        emptied = client.get("/metrics").content.decode()
    assert f'mdm_queue_depth{{queue="{queue}"}} 3.0' in text
    assert f'mdm_queue_depth{{queue="{queue}"}} 0.0' in emptied  # (an empty Redis queue has no key at all)


def test_metrics_leave_out_the_queue_depth_when_the_broker_does_not_answer(client, db):
    from sync import harness

    with harness.use_broker("redis://127.0.0.1:1/0", "nowhere"):
        response = client.get("/metrics")
    assert response.status_code == 200 and "mdm_queue_depth" not in response.content.decode()
    assert "mdm_review_tasks" in response.content.decode()


def test_add_subscription_creates_then_updates_and_never_stores_the_secret_in_clear(seeded, capsys):
    call_command("add_subscription", "billing", "--connector", "webhook", "--url", "https://b.example/hook",
                 "--secret", "s3cret-value", "--entity", "customer")
    sub = Subscription.objects.get(system__code="billing")
    assert sub.entity_types == ["customer"] and sub.config["url"] == "https://b.example/hook"
    assert "s3cret-value" not in sub.secret_encrypted and sub.secret_encrypted
    from sync.services import subscription_secret

    assert subscription_secret(sub) == "s3cret-value"
    call_command("add_subscription", "billing", "--url", "https://b.example/v2", "--entity", "customer",
                 "--entity", "contract")
    sub.refresh_from_db()
    assert sub.entity_types == ["contract", "customer"] and sub.config["url"] == "https://b.example/v2"
    assert subscription_secret(sub) == "s3cret-value"  # kept
    assert sub.history.count() == 2
    assert "created" in capsys.readouterr().out


def test_add_subscription_with_an_env_secret_and_refusals(seeded, monkeypatch):
    monkeypatch.setenv("PSA_HOOK_SECRET", "from-env")
    call_command("add_subscription", "psa", "--url", "http://psa.local/hook", "--secret", "env:PSA_HOOK_SECRET",
                 "--entity", "project")
    sub = Subscription.objects.get(system__code="psa")
    from sync.services import subscription_secret

    assert sub.secret_encrypted == "" and subscription_secret(sub) == "from-env"
    with pytest.raises(CommandError, match="url"):
        call_command("add_subscription", "x1", "--url", "ftp://nope", "--secret", "s", "--entity", "customer")
    with pytest.raises(CommandError, match="secret"):
        call_command("add_subscription", "x2", "--url", "http://ok.local/", "--entity", "customer")
    with pytest.raises(CommandError, match="connector"):
        call_command("add_subscription", "x3", "--connector", "carrier_pigeon", "--url", "http://ok.local/",
                     "--secret", "s", "--entity", "customer")
    assert not Subscription.objects.filter(system__code__in=["x1", "x2", "x3"]).exists()


def test_subscription_mapping_is_validated(seeded):
    from sync.services import SyncError, upsert_subscription

    with audit_context(origin=Origin.SYSTEM, reason="t"), pytest.raises(SyncError, match="mapping|entity type"):
        upsert_subscription(system="m1", config={"url": "http://x.local/"}, secret="s", entity_types=["customer"],
                            mapping={"customer": {"fields": {}, "colour": 1}})
