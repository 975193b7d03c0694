"""What an auditor reads: the global log and its filters, a record's
timeline, a record as of a past date (also after a later merge), a merge's
story, the CSV export — in the UI and through the API."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from mdm import audit_chain, auditlog
from mdm.audit import audit_context
from mdm.choices import Origin
from mdm.models import AuditEntry, Customer
from mdm.services import stewardship as stw
from tests.audit.conftest import ERP_NORTHWIND, ingest, verify_ok


@pytest.fixture
def story(two_customers, people):
    """t_before: Northwind as first imported.  Then its city changes, and
    later Northwind is merged into Contoso (Contoso survives, picking
    Northwind's tax id), and the merge is undone."""
    a, b = two_customers
    t_before = timezone.now()
    ingest("erp", "C1", {**ERP_NORTHWIND, "city": "Manchester"}, reason="moved")
    t_moved = timezone.now()
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="same firm"):
        event = stw.merge(survivor=b, others=[a], picks={"tax_id": a.pk}, actor=people["alice"], reason="same firm")
    t_merged = timezone.now()
    audit_chain.seal_pending()
    return {"a": a, "b": b, "event": event, "t_before": t_before, "t_moved": t_moved, "t_merged": t_merged}


def values(snapshot) -> dict:
    return {name: value for name, _, value in snapshot.values}


def test_auditor_reconstructs_a_customer_as_of_a_past_date_after_a_later_merge(story):
    a, b = story["a"], story["b"]
    a.refresh_from_db()
    assert a.state == "merged" and a.merged_into_id == b.pk
    then = auditlog.as_of("mdm.customer", str(a.pk), story["t_before"])
    assert then.exists
    v = values(then)
    assert v["city"] == "London" and v["state"] == "pending" and v["tax_id"] == "GB980780684"
    assert v["merged_into_id"] is None
    assert [(x["system"], x["external_id"]) for x in then.links] == [("erp", "C1")]
    moved = values(auditlog.as_of("mdm.customer", str(a.pk), story["t_moved"]))
    assert moved["city"] == "Manchester" and moved["state"] == "pending"
    # the survivor: before the merge only its own CRM record was linked, afterwards both
    survivor_then = auditlog.as_of("mdm.customer", str(b.pk), story["t_moved"])
    assert values(survivor_then)["tax_id"] == ""
    assert [(x["system"], x["external_id"]) for x in survivor_then.links] == [("crm", "001X")]
    survivor_now = auditlog.as_of("mdm.customer", str(b.pk), story["t_merged"])
    assert values(survivor_now)["tax_id"] == "GB980780684"
    assert sorted((x["system"], x["external_id"]) for x in survivor_now.links) == [("crm", "001X"), ("erp", "C1")]
    # before it existed
    assert not auditlog.as_of("mdm.customer", str(a.pk), story["t_before"].replace(year=2000)).exists


def test_as_of_page_and_api_show_the_past_values(story, client, people):
    a = story["a"]
    client.force_login(people["carol"])
    at = story["t_before"].isoformat()
    page = client.get(reverse("audit-as-of", args=["mdm.customer", a.pk]), {"at": at})
    assert page.status_code == 200
    html = page.content.decode()
    assert "London" in html and "Manchester" not in html and "C1" in html
    api = client.get(f"/api/v1/audit/records/mdm.customer/{a.pk}/as-of/", {"at": at})
    assert api.status_code == 200, api.content
    body = api.json()
    assert body["values"]["city"] == "London" and body["linked"][0]["external_id"] == "C1"
    assert client.get(f"/api/v1/audit/records/mdm.customer/{a.pk}/as-of/", {"at": "yesterday"}).status_code == 400
    assert client.get(reverse("audit-as-of", args=["mdm.customer", a.pk]), {"at": "nope"}).status_code == 400


def test_timeline_shows_each_fields_before_and_after(story, client, people):
    a = story["a"]
    items = auditlog.timeline("mdm.customer", str(a.pk))
    moved = next(i for i in items if any(c.field == "city" for c in i.changes))
    city = next(c for c in moved.changes if c.field == "city")
    assert (city.old, city.new) == ("London", "Manchester")
    assert moved.reason.startswith("moved") and moved.origin == "import" and moved.entry is not None
    merged = items[0]
    assert merged.actor == "alice" and merged.origin == "web"
    assert any(c.field == "state" and (c.old, c.new) == ("pending", "merged") for c in merged.changes)
    client.force_login(people["carol"])
    page = client.get(reverse("audit-record", args=["mdm.customer", a.pk]))
    assert page.status_code == 200 and "Manchester" in page.content.decode()
    api = client.get(f"/api/v1/audit/records/mdm.customer/{a.pk}/").json()
    assert any(c == {"field": "city", "before": "London", "after": "Manchester"}
               for v in api["versions"] for c in v["changes"])


def test_merge_story_has_records_picks_actor_reason_and_its_unmerge(story, client, people):
    event = story["event"]
    with audit_context(origin=Origin.WEB, user=people["dave"], reason="not the same"):
        stw.unmerge(event=event, actor=people["dave"], reason="not the same after all")
    audit_chain.seal_pending()
    event.refresh_from_db()
    s = auditlog.merge_story(event)
    assert s.merge_actor == "alice" and s.unmerge_actor == "dave"
    assert {e.object_id for e in s.changes if e.model == "mdm.customer"} == {str(story["a"].pk), str(story["b"].pk)}
    assert any(e.model == "mdm.crossreference" for e in s.changes)
    assert s.unmerge_changes and s.unmerge_correlation_id != event.correlation_id
    client.force_login(people["carol"])
    html = client.get(reverse("audit-merge", args=[event.pk])).content.decode()
    assert "same firm" in html and "not the same after all" in html and "tax_id" in html
    api = client.get(f"/api/v1/audit/merges/{event.pk}/").json()
    assert api["picks"] == {"tax_id": str(story["a"].pk)} and api["actor"] == "alice"
    assert api["unmerge"]["actor"] == "dave" and api["unmerge"]["reason"] == "not the same after all"
    verify_ok()


# --- the global log's filters ---------------------------------------------------------

def oracle(**f):
    """The expected rows, filtered in Python over every entry."""
    out = []
    for e in AuditEntry.objects.all():
        if f.get("entity") and e.model != f["entity"]:
            continue
        if f.get("record") and e.object_id != f["record"]:
            continue
        if f.get("actor") and e.actor != f["actor"]:
            continue
        if f.get("origin") and e.origin != f["origin"]:
            continue
        if f.get("field") and f["field"] not in e.changed_fields:
            continue
        if f.get("since") and e.history_date < f["since"]:
            continue
        if f.get("until") and e.history_date >= f["until"]:
            continue
        out.append(e.seq)
    return sorted(out)


def query(**params):
    return sorted(auditlog.log_queryset(auditlog.LogFilter.from_params(params)).values_list("seq", flat=True))


def test_log_filters_return_exactly_the_expected_rows(story):
    a, b = story["a"], story["b"]
    t0, t1 = story["t_before"], story["t_moved"]
    cases = [
        ({"entity": "customer"}, {"entity": "mdm.customer"}),
        ({"record": str(a.pk)}, {"record": str(a.pk)}),
        ({"actor": "alice"}, {"actor": "alice"}),
        ({"origin": "import"}, {"origin": "import"}),
        ({"field": "tax_id"}, {"field": "tax_id"}),
        ({"since": t0.isoformat(), "until": t1.isoformat()}, {"since": t0, "until": t1}),
        ({"entity": "mdm.customer", "field": "city", "origin": "import"},
         {"entity": "mdm.customer", "field": "city", "origin": "import"}),
    ]
    for params, expected in cases:
        got = query(**params)
        assert got == oracle(**expected), params
        assert got, params  # every case selects something
    # and by hand, the ones an auditor asks: who changed Northwind's city, and Contoso's tax id?
    city = AuditEntry.objects.filter(seq__in=query(record=str(a.pk), field="city"))
    assert [(e.history_type, e.origin) for e in city.order_by("seq")] == [("+", "import"), ("~", "import")]
    tax = AuditEntry.objects.filter(seq__in=query(record=str(b.pk), field="tax_id")).get()
    assert tax.actor == "alice" and tax.origin == "web" and "same firm" in tax.reason


def test_bad_filters_are_refused_with_field_messages(story, client, people):
    with pytest.raises(auditlog.FilterError) as exc:
        auditlog.LogFilter.from_params({"entity": "spaceship", "since": "soon"})
    assert set(exc.value.errors) == {"entity", "since"}
    client.force_login(people["carol"])
    r = client.get("/api/v1/audit/log/", {"colour": "red", "since": "x"})
    assert r.status_code == 400 and set(r.json()) == {"colour", "since"}
    assert client.get(reverse("audit-log"), {"since": "x"}).status_code == 400
    assert client.get("/api/v1/audit/log/", {"after": "garbage"}).status_code == 400


def test_keyset_pages_walk_every_row_once_newest_first(story, client, people):
    expected = list(AuditEntry.objects.order_by("-history_date", "-seq").values_list("seq", flat=True))
    seen, after = [], None
    while True:
        page = auditlog.log_page(auditlog.LogFilter(), after=after, limit=7)
        seen += [e.seq for e in page.entries]
        if not page.next_cursor:
            break
        after = page.next_cursor
    assert seen == expected
    client.force_login(people["carol"])
    body = client.get("/api/v1/audit/log/", {"limit": 2, "entity": "customer"}).json()
    assert len(body["results"]) == 2 and body["next"]
    nxt = client.get(body["next"]).json()
    assert not {r["seq"] for r in body["results"]} & {r["seq"] for r in nxt["results"]}


def test_log_page_lists_and_filters(story, client, people):
    client.force_login(people["carol"])
    r = client.get(reverse("audit-log"), {"record": str(story["a"].pk), "field": "city"})
    assert r.status_code == 200
    html = r.content.decode()
    shown = sorted(int(x) for x in re.findall(r'data-seq="(\d+)"', html))
    assert shown == query(record=str(story["a"].pk), field="city")
    assert client.get(reverse("audit-chain")).status_code == 200


def test_csv_export_streams_the_filtered_log(story, client, people):
    client.force_login(people["carol"])
    r = client.get(reverse("audit-export"), {"entity": "customer"})
    assert r.status_code == 200 and isinstance(r, StreamingHttpResponse)
    assert r["Content-Type"].startswith("text/csv") and "attachment" in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert [int(x["seq"]) for x in rows] == list(
        AuditEntry.objects.filter(model="mdm.customer").order_by("-history_date", "-seq").values_list("seq", flat=True))
    assert {x["entity"] for x in rows} == {"mdm.customer"}
    api = client.get("/api/v1/audit/log/csv/", {"entity": "customer"})
    assert api.status_code == 200 and isinstance(api, StreamingHttpResponse)
    assert b"".join(api.streaming_content).decode().count("\n") == len(rows) + 1


def test_csv_cells_cannot_run_as_formulas(story, people):
    with audit_context(origin=Origin.WEB, user=people["alice"], reason="=HYPERLINK(\"http://x\")"):
        c = Customer.objects.get(pk=story["b"].pk)
        c.industry = "Banking"
        c.save()
    audit_chain.seal_pending()
    text = "".join(auditlog.csv_rows(auditlog.LogFilter(actor="alice")))
    assert "'=HYPERLINK" in text


def test_any_history_table_has_a_timeline_and_a_past_view(story, client, people):
    from mdm.models import SourceRecord

    sr = SourceRecord.objects.get(source_id="C1")
    snap = auditlog.as_of("mdm.sourcerecord", str(sr.pk), story["t_before"])
    assert snap.exists and snap.links is None and values(snap)["payload"]["city"] == "London"
    client.force_login(people["carol"])
    assert client.get(reverse("audit-as-of", args=["mdm.sourcerecord", sr.pk]),
                      {"at": story["t_before"].isoformat()}).status_code == 200
    assert client.get(reverse("audit-record", args=["mdm.sourcerecord", sr.pk])).status_code == 200
    assert client.get(reverse("audit-record", args=["mdm.nothing", "1"])).status_code == 404
    assert auditlog.entity_label("legal_entity") == "mdm.legalentity"
    assert auditlog.entity_label("subscription") == "sync.subscription"
