"""A generic test harness for the master endpoints, in the spirit of
NetBox's ``APIViewTestCases``: a subclass declares its route, the world keys
it expects to see and its filters; every check below then runs for it.

Filter values are format strings over the ``world`` fixture, so FK filters
can name ids: ``({"parent": "{acme.pk}"}, {"acme_de"})``.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from rest_framework.test import APIClient

BRIEF_KEYS = {"id", "url", "display", "state", "version", "updated_at"}
COMMON_KEYS = {"id", "url", "display", "state", "version", "is_valid", "created_at", "updated_at", "approved_at",
               "merged_into"}
DETAIL_KEYS = {"xrefs", "lineage", "history_url"}
LIST_MAX_QUERIES = 6  # token + user + service account + the page (+ savepoint noise); N+1 would be far above


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def ids(response) -> set[str]:
    return {row["id"] for row in response.json()["results"]}


class MasterAPITestCase:
    """Declare in a subclass:

    ``route``          e.g. "customers"
    ``entity_type``    e.g. "customer"
    ``visible``        world keys of the approved records the list shows
    ``pending``        world key of a pending record (or None)
    ``fields``         the entity's own field names (beyond the common ones)
    ``filters``        [(params, expected world keys), …]
    ``other_entity``   an entity type to scope a token to, to prove it cannot read this one
    """

    route: str = ""
    entity_type: str = ""
    visible: tuple[str, ...] = ()
    pending: str = ""
    fields: tuple[str, ...] = ()
    filters: list[tuple[dict, set[str]]] = []
    other_entity: str = "legal_entity"

    # --- parametrisation: one test per declared filter -------------------------------------
    def pytest_generate_tests(self, metafunc):
        if "filter_case" in metafunc.fixturenames:
            metafunc.parametrize(
                "filter_case", self.filters,
                ids=["&".join(f"{k}={v}" for k, v in params.items()) for params, _ in self.filters],
            )

    # --- helpers -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"/api/v1/{self.route}/"

    def detail_url(self, world, key: str) -> str:
        return f"{self.url}{world[key].pk}/"

    def expected_ids(self, world, keys) -> set[str]:
        return {str(world[k].pk) for k in keys}

    # --- authentication and authorisation -------------------------------------------------------
    def test_anonymous_is_refused(self, world):
        client = APIClient()
        assert client.get(self.url).status_code == 401
        assert client.get(self.detail_url(world, self.visible[0])).status_code == 401

    def test_session_without_a_hub_role_is_refused(self, world):
        client = APIClient()
        client.force_login(User.objects.create_user("nobody", password="x"))
        assert client.get(self.url).status_code == 403

    def test_steward_session_may_read(self, world, session_client):
        response = session_client("alice").get(self.url)
        assert response.status_code == 200
        assert ids(response) == self.expected_ids(world, self.visible)

    def test_token_scoped_to_another_entity_type_is_refused(self, world, make_token):
        _, token = make_token("crm", entity_types=(self.other_entity,))
        client = token_client(token)
        assert client.get(self.url).status_code == 403
        assert client.get(self.detail_url(world, self.visible[0])).status_code == 403

    def test_unsafe_methods_do_not_exist_for_service_accounts(self, world, crm_client):
        url = self.detail_url(world, self.visible[0])
        before = type(world[self.visible[0]]).objects.get(pk=world[self.visible[0]].pk).version
        assert crm_client.put(url, {"state": "retired"}, format="json").status_code == 405
        assert crm_client.patch(url, {"state": "retired"}, format="json").status_code == 405
        assert crm_client.delete(url).status_code == 405
        assert crm_client.post(self.url, {"state": "approved"}, format="json").status_code == 405
        assert type(world[self.visible[0]]).objects.get(pk=world[self.visible[0]].pk).version == before

    # --- list -----------------------------------------------------------------------------------------
    def test_list_shows_approved_records_only(self, world, crm_client):
        response = crm_client.get(self.url)
        assert response.status_code == 200
        assert ids(response) == self.expected_ids(world, self.visible)
        row = response.json()["results"][0]
        assert set(row) == COMMON_KEYS | set(self.fields)

    def test_list_rows_render_exactly_like_the_detail(self, world, crm_client):
        """The list's fast path (values() rows) and the detail serializer agree field by field."""
        rows = {row["id"]: row for row in crm_client.get(self.url).json()["results"]}
        for key in self.visible:
            detail = crm_client.get(self.detail_url(world, key)).json()
            assert rows[str(world[key].pk)] == {k: v for k, v in detail.items() if k not in DETAIL_KEYS}

    def test_pending_records_need_permission(self, world, crm_client, reader):
        assert crm_client.get(self.url, {"state": "pending"}).status_code == 403
        response = reader.get(self.url, {"state": "pending"})
        assert response.status_code == 200
        assert ids(response) == self.expected_ids(world, [self.pending])
        assert crm_client.get(self.detail_url(world, self.pending)).status_code == 404
        assert reader.get(self.detail_url(world, self.pending)).status_code == 200

    def test_each_filter(self, world, crm_client, filter_case):
        params, expected = filter_case
        query = {k: v.format_map(world) for k, v in params.items()}
        response = crm_client.get(self.url, query)
        assert response.status_code == 200, response.json()
        assert ids(response) == self.expected_ids(world, expected), query

    def test_unknown_filter_parameter_is_a_400(self, world, crm_client):
        response = crm_client.get(self.url, {"no_such_filter": "x"})
        assert response.status_code == 400
        assert "no_such_filter" in response.json()

    def test_q_finds_a_record_by_any_systems_id(self, world, crm_client):
        from mdm.models import CrossReference

        record = world[self.visible[0]]
        xref = CrossReference.objects.filter(entity_type=self.entity_type, golden_id=record.pk).first()
        response = crm_client.get(self.url, {"q": xref.external_id})
        assert str(record.pk) in ids(response)

    def test_cursor_pagination_walks_every_record_once(self, world, crm_client):
        seen, url, pages = [], self.url + "?page_size=1", 0
        while url:
            response = crm_client.get(url)
            assert response.status_code == 200
            body = response.json()
            assert len(body["results"]) <= 1
            seen += [row["id"] for row in body["results"]]
            url, pages = body["next"], pages + 1
            assert pages <= len(self.visible) + 1
        assert sorted(seen) == sorted(self.expected_ids(world, self.visible))

    def test_ordering_descending_and_unknown_ordering(self, world, crm_client):
        asc = [r["id"] for r in crm_client.get(self.url, {"ordering": "id"}).json()["results"]]
        desc = [r["id"] for r in crm_client.get(self.url, {"ordering": "-id"}).json()["results"]]
        assert asc == sorted(asc) and desc == list(reversed(asc))
        assert crm_client.get(self.url, {"ordering": "lineage"}).status_code == 400

    def test_a_cursor_from_another_ordering_is_refused(self, world, crm_client):
        first = crm_client.get(self.url, {"page_size": 1, "ordering": "id"}).json()
        cursor = first["next"].split("cursor=")[1].split("&")[0]
        response = crm_client.get(self.url, {"cursor": cursor, "ordering": "-created_at"})
        assert response.status_code == 400 and "cursor" in response.json()
        assert crm_client.get(self.url, {"cursor": "not-a-cursor!"}).status_code == 400

    def test_page_size_is_capped(self, world, crm_client):
        assert crm_client.get(self.url, {"page_size": 1001}).status_code == 400
        assert crm_client.get(self.url, {"page_size": 0}).status_code == 400

    def test_brief_form(self, world, crm_client):
        response = crm_client.get(self.url, {"brief": "1"})
        assert response.status_code == 200
        for row in response.json()["results"]:
            assert set(row) == BRIEF_KEYS

    def test_brief_form_pages_under_every_ordering(self, world, crm_client):
        for ordering in self.orderings():
            seen, url = [], f"{self.url}?brief=1&page_size=1&ordering={ordering}"
            while url:
                response = crm_client.get(url)
                assert response.status_code == 200, (ordering, response.content)
                seen += [row["id"] for row in response.json()["results"]]
                url = response.json()["next"]
            assert sorted(seen) == sorted(self.expected_ids(world, self.visible)), ordering

    def orderings(self) -> list[str]:
        from mdm.api.urls import router

        viewset = next(v for prefix, v, _ in router.registry if prefix == self.route)
        return [*viewset.ordering_fields, *[f"-{f}" for f in viewset.ordering_fields]]

    def test_updated_since(self, world, crm_client):
        future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).isoformat()
        assert ids(crm_client.get(self.url, {"updated_since": future})) == set()
        past = "2000-01-01T00:00:00Z"
        assert ids(crm_client.get(self.url, {"updated_since": past})) == self.expected_ids(world, self.visible)
        assert crm_client.get(self.url, {"updated_since": "yesterday"}).status_code == 400

    def test_list_query_count_does_not_grow_with_rows(self, world, crm_client, django_assert_max_num_queries):
        with django_assert_max_num_queries(LIST_MAX_QUERIES):
            response = crm_client.get(self.url, {"page_size": 1000})
        assert response.status_code == 200 and len(response.json()["results"]) == len(self.visible)

    # --- detail ---------------------------------------------------------------------------------------
    def test_detail_has_xrefs_lineage_and_an_etag(self, world, crm_client):
        record = world[self.visible[0]]
        response = crm_client.get(self.detail_url(world, self.visible[0]))
        assert response.status_code == 200
        body = response.json()
        assert set(body) == COMMON_KEYS | set(self.fields) | DETAIL_KEYS
        assert response["ETag"] == f'"{record.version}"'
        assert body["xrefs"] and {"system", "external_id", "role"} <= set(body["xrefs"][0])
        assert body["lineage"] and all("system" in v or "rule" in v for v in body["lineage"].values())

    def test_if_none_match_answers_304(self, world, crm_client):
        url = self.detail_url(world, self.visible[0])
        etag = crm_client.get(url)["ETag"]
        assert crm_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
        assert crm_client.get(url, HTTP_IF_NONE_MATCH='"999"').status_code == 200

    def test_unknown_id_is_a_404(self, world, crm_client):
        assert crm_client.get(f"{self.url}00000000-0000-0000-0000-000000000000/").status_code == 404
        assert crm_client.get(f"{self.url}not-a-uuid/").status_code == 404

    def test_as_of_answers_the_record_as_it_was(self, world, crm_client):
        url = self.detail_url(world, self.visible[0])
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        response = crm_client.get(url, {"as_of": now})
        assert response.status_code == 200 and response.json()["version"] == world[self.visible[0]].version
        assert crm_client.get(url, {"as_of": "2000-01-01T00:00:00Z"}).status_code == 404
        assert crm_client.get(url, {"as_of": "soon"}).status_code == 400

    # --- history ----------------------------------------------------------------------------------------
    def test_history_rows_say_who_when_why_and_what(self, world, reader):
        record = world[self.visible[0]]
        response = reader.get(self.detail_url(world, self.visible[0]) + "history/")
        assert response.status_code == 200
        rows = response.json()["results"]
        assert len(rows) == type(record).history.filter(id=record.pk).count()
        newest, oldest = rows[0], rows[-1]
        assert newest["state"] == "approved" and newest["reason"] == "test approval"
        assert {"field": "state", "before": "pending", "after": "approved"} in newest["changes"]
        assert oldest["type"] == "created" and oldest["origin"] == "import" and oldest["correlation_id"]
        assert oldest["changes"] and all(c["before"] is None for c in oldest["changes"])

    def test_history_hides_pending_rows_from_approved_only_readers(self, world, crm_client):
        response = crm_client.get(self.detail_url(world, self.visible[0]) + "history/")
        assert response.status_code == 200
        assert {row["state"] for row in response.json()["results"]} == {"approved"}
