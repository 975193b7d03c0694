"""Querysets compiled once (``mdm/api/compiled.py``): each call answers what
the queryset itself would, with the values of that call, and a query whose
parameters would not all reach the SQL cannot be built."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from knox.models import AuthToken

from mdm.api.compiled import CompiledQuery, fetch
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
