"""Querysets compiled once (``mdm/compiled.py``): each call answers what
the queryset itself would, with the values of that call, and a query whose
parameters would not all reach the SQL cannot be built."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from knox.models import AuthToken

from mdm.compiled import CompiledQuery, fetch
from mdm.models import ChangeEvent, CrossReference, Customer

MARK = uuid.UUID("00000000-0000-4000-8000-0000000000aa")


def _tokens():
    return CompiledQuery(
        lambda key: AuthToken.objects.filter(token_key=key)
        .select_related("user", "user__service_account", "user__service_account__system"),
        key="\x00key",
    )


def _facts(token):
    account = getattr(token.user, "service_account", None)
    return (token.pk, token.digest, token.user.pk, token.user.username, token.user.is_active,
            account and account.pk, account and account.active, account and account.system.code)


def test_model_rows_with_their_related_objects_match_the_queryset(seeded, make_token):
    _, crm = make_token("crm", name="c-crm")
    _, erp = make_token("erp", name="c-erp")
    person = User.objects.create_user("pat")
    _, own = AuthToken.objects.create(user=person)
    query = _tokens()
    for token in (crm, erp, own, "nothing-at-all"):
        key = token[:15]
        expected = list(AuthToken.objects.filter(token_key=key)
                        .select_related("user", "user__service_account", "user__service_account__system"))
        got = query.run(key=key)
        assert [_facts(t) for t in got] == [_facts(t) for t in expected]
    (mine,) = query.run(key=own[:15])
    assert getattr(mine.user, "service_account", None) is None  # a person's token: no account, no query


def test_each_call_reads_the_database_now(seeded, make_token, django_assert_num_queries):
    account, token = make_token("crm", name="c-live")
    query = _tokens()
    assert query.run(key=token[:15])[0].user.service_account.active
    account.active = False
    account.save()
    with django_assert_num_queries(1):
        (row,) = query.run(key=token[:15])
    assert row.user.service_account.active is False


def test_values_shapes_and_flat_rows(world):
    golden = world["acme"].pk
    by_id = CompiledQuery(lambda limit, golden_id: ChangeEvent.objects.filter(golden_id=golden_id)
                          .order_by("id").values("id", "version", "extra", "created_at")[:limit], golden_id=MARK)
    assert by_id.run(1, golden_id=golden) == list(ChangeEvent.objects.filter(golden_id=golden).order_by("id")
                                                  .values("id", "version", "extra", "created_at")[:1])
    assert by_id.run(50, golden_id=golden) == list(ChangeEvent.objects.filter(golden_id=golden).order_by("id")
                                                   .values("id", "version", "extra", "created_at")[:50])
    assert by_id.run(50, golden_id=uuid.uuid4()) == []
    systems = CompiledQuery(lambda golden_id: CrossReference.objects.filter(golden_id=golden_id)
                            .order_by("id").values_list("system__code", flat=True), golden_id=MARK)
    assert systems.run(golden_id=golden) == list(CrossReference.objects.filter(golden_id=golden).order_by("id")
                                                 .values_list("system__code", flat=True))
    state = CompiledQuery(lambda pk: Customer.objects.filter(pk=pk).values_list("state", "version"), pk=MARK)
    assert state.run(pk=golden) == [("approved", world["acme"].version)]


def test_a_parameter_that_does_not_reach_the_sql_exactly_once_is_refused(seeded):
    unused = CompiledQuery(lambda key: AuthToken.objects.filter(token_key="fixed"), key="\x00key")
    with pytest.raises(ValueError, match="exactly once"):
        unused.run(key="abc")
    twice = CompiledQuery(lambda key: AuthToken.objects.filter(token_key=key, digest=key), key="\x00key")
    with pytest.raises(ValueError, match="exactly once"):
        twice.run(key="abc")
    clash = CompiledQuery(lambda key: AuthToken.objects.filter(token_key=key, digest="x"), key="x")
    with pytest.raises(ValueError, match="exactly once"):
        clash.run(key="abc")


def test_fetch_answers_what_the_queryset_answers(world):
    qs = Customer.objects.filter(state="approved").order_by("id").values("id", "legal_name", "updated_at")
    assert fetch(qs) == list(qs)
    assert fetch(Customer.objects.filter(pk__in=[]).values("id")) == []
    models = Customer.objects.select_related("parent").order_by("id")
    assert [(c.pk, c.parent_id and c.parent.legal_name) for c in fetch(models)] == [
        (c.pk, c.parent_id and c.parent.legal_name) for c in models]
    prefetching = Customer.objects.prefetch_related("children").order_by("id")  # left to the queryset itself
    assert [(c.pk, len(c.children.all())) for c in fetch(prefetching)] == [
        (c.pk, len(c.children.all())) for c in prefetching]


# --- queries compiled per shape (the list pages) ---------------------------------------------------

def _by_country_and_time(v):
    return (Customer.objects.filter(country__in=v["country"], updated_at__gte=v["since"])
            .exclude(pk=v["not"]).order_by("legal_name", "id").values("id", "legal_name")[:50])


def test_a_shape_is_compiled_once_and_answers_each_calls_values(world, monkeypatch):
    from mdm import compiled

    plans = []
    real_plan = compiled._Plan

    def counting_plan(*args, **kwargs):
        plans.append(1)
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(compiled, "_Plan", counting_plan)
    shaped = compiled.ShapedQuery()
    early = Customer.objects.order_by("updated_at").values_list("updated_at", flat=True)[0]
    calls = [
        {"country": ["GB", "DE"], "since": early, "not": world["acme"].pk},
        {"country": ["FR", "DE"], "since": early, "not": world["acme_de"].pk},
        {"country": ["GB", "FR"], "since": early, "not": world["globex"].pk},
    ]
    for values in calls:
        assert shaped.fetch(("customers",), values, _by_country_and_time) == list(_by_country_and_time(values))
    assert len(plans) == 2  # the first call's two compilations; the other calls ran the kept SQL
    one = {"country": ["GB"], "since": early, "not": world["acme"].pk}  # another shape: one country
    assert shaped.fetch(("customers",), one, _by_country_and_time) == list(_by_country_and_time(one))
    assert len(plans) == 4


def test_a_value_transformed_on_its_way_to_the_sql_is_never_taken_from_an_earlier_call(world):
    from mdm.compiled import ShapedQuery

    shaped = ShapedQuery()

    def contains(v):  # icontains writes "%value%": the two compilations disagree, so nothing is kept
        return Customer.objects.filter(legal_name__icontains=v["name"]).order_by("id").values_list("id", flat=True)

    for name in ("acme", "globex", "umbrella", "acme d"):
        assert shaped.fetch(("contains",), {"name": name}, contains) == list(contains({"name": name}))
    assert list(shaped._plans.values()) == [None]  # the shape is known as one to compile each time


def test_constants_are_part_of_the_shape_and_other_values_are_not_compiled_in(world):
    from mdm.compiled import ShapedQuery

    shaped = ShapedQuery()

    def query(v):
        qs = Customer.objects.all()
        if v["has_parent"] is not None:
            qs = qs.filter(parent__isnull=not v["has_parent"])
        return qs.order_by("id").values_list("id", flat=True)

    for flag in (True, False, None, True):
        assert shaped.fetch(("parent",), {"has_parent": flag}, query) == list(query({"has_parent": flag}))
    limit = 2  # a number is not a parameter: built and compiled as it comes, each time
    assert shaped.fetch(("n",), {"n": limit}, lambda v: Customer.objects.order_by("id")[:v["n"]]) == list(
        Customer.objects.order_by("id")[:limit])


def test_an_array_of_any_length_is_one_parameter_of_one_shape(world, monkeypatch):
    from django.db import connection

    from mdm import compiled

    plans = []
    real_plan = compiled._Plan
    monkeypatch.setattr(compiled, "_Plan", lambda *a, **k: plans.append(1) or real_plan(*a, **k))
    shaped = compiled.ShapedQuery()
    ids = [world[k].pk for k in ("acme", "globex", "acme_de", "pending_customer")]

    def query(v):
        return Customer.objects.filter(pk__any=v["ids"]).order_by("legal_name").values_list("legal_name", flat=True)

    for chosen in (ids[:1], ids[1:3], ids, [uuid.uuid4()], ids[2:]):
        expected = list(Customer.objects.filter(pk__in=chosen).order_by("legal_name").values_list("legal_name",
                                                                                                   flat=True))
        assert shaped.fetch(("any",), {"ids": compiled.Array(chosen)}, query) == expected
    if connection.vendor == "postgresql":
        assert len(plans) == 2  # one shape for every length: "= ANY(%s)"
    assert shaped.fetch(("any",), {"ids": compiled.Array()}, query) == []  # nothing asked, nothing found
