"""What each hot read costs in queries (the load test's mix: detail,
revalidation, xref look-up, change feed), so an N+1 or an extra round trip
fails here before it shows in latency; and that the fast renderers answer
what DRF's serializers would."""

from __future__ import annotations

import pytest

from mdm.api import serializers as s
from mdm.models import ChangeEvent, CrossReference


def test_detail_read_is_two_queries_with_its_references(world, crm_client, django_assert_num_queries):
    url = f"/api/v1/customers/{world['acme_de'].pk}/"
    crm_client.get(url)
    # (the token was checked a moment ago: not read again)
    with django_assert_num_queries(2):  # the record with its references' brief columns, its xrefs
        response = crm_client.get(url)
    body = response.json()
    assert body["parent"]["id"] == str(world["acme"].pk) and body["parent"]["display"] == str(world["acme"])
    assert body["xrefs"] and body["lineage"]


def test_revalidation_answers_304_from_state_and_version_alone(world, crm_client, django_assert_num_queries):
    url = f"/api/v1/customers/{world['acme'].pk}/"
    etag = crm_client.get(url)["ETag"]
    with django_assert_num_queries(1):  # state and version (the token was checked a moment ago)
        response = crm_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304 and response["ETag"] == etag
    stale = crm_client.get(url, HTTP_IF_NONE_MATCH='"999"')
    assert stale.status_code == 200 and stale["ETag"] == etag


def test_revalidating_a_pending_record_without_the_right_is_still_404(world, crm_client):
    url = f"/api/v1/customers/{world['pending_customer'].pk}/"
    assert crm_client.get(url, HTTP_IF_NONE_MATCH="*").status_code == 404


def test_xref_lookup_and_change_feed_query_counts(world, crm_client, django_assert_num_queries):
    crm_client.get("/api/v1/xref/", {"system": "crm", "source_id": "CRM-1"})
    with django_assert_num_queries(3):  # the xref, the golden's state, its xrefs (the token was checked just before)
        assert crm_client.get("/api/v1/xref/", {"system": "crm", "source_id": "CRM-1"}).status_code == 200
    with django_assert_num_queries(1):  # one page of events
        assert crm_client.get("/api/v1/changes/", {"limit": 5}).status_code == 200


def test_fast_renderers_match_the_drf_serializers(world, rf):
    context = {"request": rf.get("/")}
    links = list(CrossReference.objects.select_related("system").order_by("id"))
    assert s.xref_rows(links) == s.XrefSerializer(links, many=True, context=context).data
    events = list(ChangeEvent.objects.order_by("id"))
    rows = list(ChangeEvent.objects.order_by("id").values(*s.CHANGE_COLUMNS))
    assert events and s.change_rows(rows, context) == s.ChangeEventSerializer(events, many=True,
                                                                              context=context).data


def test_xref_and_change_feed_render_as_drf_did_and_stay_browsable(world, crm_client, people):
    from rest_framework.renderers import JSONRenderer
    from rest_framework.test import APIClient

    from mdm.api.renderers import FastJSONRenderer

    sample = {"cursor": "7", "next": None, "results": [{"extra": {"note": "Zürich – ok", "n": 1.5, "flags": [True, None]},
                                                        "version": 3, "url": "http://h/api/v1/x/"}]}
    assert FastJSONRenderer().render(sample) == JSONRenderer().render(sample)
    for url in ("/api/v1/changes/?limit=5", "/api/v1/xref/?system=crm&source_id=CRM-1"):
        response = crm_client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        assert response.content == JSONRenderer().render(response.json())
    browser = APIClient()
    browser.force_login(people["carol"])
    page = browser.get("/api/v1/changes/?limit=5", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")


def test_list_pages_answer_each_requests_own_filters_and_cursor(world, reader, monkeypatch):
    """The list queries are compiled once per shape (``ShapedQuery``): later
    requests of the same shape must still answer their own values."""
    from mdm import compiled
    from mdm.api import views

    monkeypatch.setattr(views, "_LIST_QUERIES", compiled.ShapedQuery())  # nothing kept from other tests
    monkeypatch.setattr(views, "_APPROVED_ROWS", compiled.ShapedQuery())
    compiles = []
    real_plan = compiled._Plan
    monkeypatch.setattr(compiled, "_Plan", lambda *a, **k: compiles.append(1) or real_plan(*a, **k))
    ids = {key: str(world[key].pk) for key in ("acme", "globex", "acme_de")}
    for key, tax in (("acme", "GB980780684"), (None, "FR00000000000"), ("acme", "GB980780684")):
        rows = reader.get("/api/v1/customers/", {"tax_id": tax}).json()["results"]
        assert [r["id"] for r in rows] == ([ids[key]] if key else [])
    for country, expected in (("FR", ["globex"]), ("DE", ["acme_de"]), ("GB,DE", ["acme", "acme_de"])):
        rows = reader.get("/api/v1/customers/", {"country": country, "ordering": "legal_name"}).json()["results"]
        assert [r["id"] for r in rows] == [ids[k] for k in expected]
    for ordering in ("updated_at", "-legal_name", "id"):  # page by page, one record a page
        everything = [r["id"] for r in reader.get("/api/v1/customers/", {"ordering": ordering,
                                                                          "page_size": 1000}).json()["results"]]
        walked, url = [], "/api/v1/customers/?page_size=1&ordering=" + ordering
        while url:
            body = reader.get(url).json()
            walked += [r["id"] for r in body["results"]]
            url = body["next"]
        assert walked == everything and len(walked) >= 3
    # two compilations per shape, not one per request: tax id; one country, two; per ordering the first page
    # of 1000, the first page of 1 and the pages after a cursor
    assert len(compiles) == 2 * (1 + 2 + 3 * 3)


@pytest.mark.parametrize("accept, query", [
    ("application/json", {}), ("*/*", {}), (None, {}), ("application/json; indent=2", {}),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", {}), ("text/html", {}),
    ("application/json", {"format": "api"}), ("text/csv", {}), ("application/json", {"format": "xml"}),
])
def test_remembered_content_negotiation_answers_as_drfs_and_asks_drf_once(accept, query, rf, monkeypatch):
    from django.http import Http404
    from rest_framework.exceptions import NotAcceptable
    from rest_framework.negotiation import DefaultContentNegotiation
    from rest_framework.renderers import BrowsableAPIRenderer
    from rest_framework.request import Request

    from mdm.api.renderers import FastJSONRenderer, RememberedContentNegotiation

    def outcome(negotiation):
        headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
        renderers = [FastJSONRenderer(), BrowsableAPIRenderer()]
        try:
            renderer, media_type = negotiation.select_renderer(Request(rf.get("/", query, **headers)), renderers)
        except (NotAcceptable, Http404) as exc:
            return type(exc).__name__
        return type(renderer).__name__, media_type, any(renderer is r for r in renderers)

    monkeypatch.setattr(RememberedContentNegotiation, "_chosen", {})
    expected = outcome(DefaultContentNegotiation())
    assert outcome(RememberedContentNegotiation()) == expected
    asked = []
    real = DefaultContentNegotiation.select_renderer
    monkeypatch.setattr(DefaultContentNegotiation, "select_renderer",
                        lambda *a, **k: asked.append(1) or real(*a, **k))
    assert outcome(RememberedContentNegotiation()) == expected
    assert asked == ([1] if isinstance(expected, str) else [])  # a refusal is asked again; a choice is not


def test_list_rows_show_a_referenced_records_new_name_on_the_next_request(world, crm_client):
    """The list's row function is made once per process; what it remembers of
    referenced records (a parent's display name) lasts one request."""
    from mdm.audit import audit_context

    parent = world["acme"]

    def parent_display():
        rows = crm_client.get("/api/v1/customers/", {"page_size": 100}).json()["results"]
        return {row["parent"]["display"] for row in rows if row["parent"] and row["parent"]["id"] == str(parent.pk)}

    assert parent_display() == {str(parent)}
    templates = dict(s._TEMPLATES)
    with audit_context(origin="web", reason="renamed"):
        type(parent).objects.filter(pk=parent.pk).update(legal_name="Acme Renamed Holding GmbH")
    parent.refresh_from_db()
    assert parent_display() == {str(parent)} and "Renamed" in str(parent)
    assert s._TEMPLATES == templates  # the same template served both requests
