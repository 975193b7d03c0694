"""Fellegi–Sunter scores: symmetric, explained, persisted, decided."""

from __future__ import annotations

import json
import math
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdm.matching.engine import Matcher

NAMES = ["Acme", "Acme Digital", "Northwind", "Globex Corp", "Initech GmbH", "Umbrella S.A.R.L.", "Acme Ltd"]
records = st.fixed_dictionaries({
    "legal_name": st.sampled_from(NAMES + [None]),
    "trading_name": st.sampled_from(NAMES + [None]),
    "tax_id": st.sampled_from(["GB980780684", "DE136695976", "980780684", "GB123", None]),
    "website": st.sampled_from(["acme.com", "https://www.acme.com", "globex.de", None]),
    "phone": st.sampled_from(["+442079460958", "020 7946 0958", "+49 30 1234567", None]),
    "address_line": st.sampled_from(["12 High Street", "High St 12", "Hauptstraße 5", None]),
    "postcode": st.sampled_from(["SW1A 1AA", "10115", None]),
    "city": st.sampled_from(["London", "Berlin", None]),
    "country": st.sampled_from(["GB", "United Kingdom", "DE", None]),
})
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(a=records, b=records)
def test_score_is_symmetric(fitted, a, b):
    s_ab, _ = fitted.score(a, b)
    s_ba, _ = fitted.score(b, a)
    assert math.isclose(s_ab, s_ba, rel_tol=1e-9, abs_tol=1e-12)


@SETTINGS
@given(a=records)
def test_a_record_with_a_name_an_identifier_and_a_country_matches_itself(fitted, a):
    if not (a["legal_name"] or a["trading_name"]) or not (a["tax_id"] or a["website"] or a["phone"]) \
            or not a["country"]:
        return
    score, _ = fitted.score(a, dict(a))
    assert fitted.decide(score) == "match"


def test_a_record_too_thin_to_tell_a_group_member_apart_goes_to_review_even_against_itself(fitted):
    """A name and a shared domain in a city, no country nor tax id, is what a
    group's sister abroad also shows: the evidence (in bits) stays below the
    match threshold, so a steward decides."""
    a = {"legal_name": "Initech GmbH", "website": "globex.de", "postcode": "10115", "city": "London"}
    score, _ = fitted.score(a, dict(a))
    assert fitted.decide(score) == "review"
    assert fitted.decide(fitted.score({**a, "country": "DE"}, {**a, "country": "DE"})[0]) == "match"


@SETTINGS
@given(a=records, b=records)
def test_prior_and_field_weights_add_up_to_the_match_weight_behind_the_score(fitted, a, b):
    score, explanation = fitted.score(a, b)
    total = sum(e["weight"] for e in explanation)
    assert math.isclose(total, fitted.match_weight(a, b), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(score, 1 / (1 + 2 ** -total), rel_tol=1e-9, abs_tol=1e-12)
    assert explanation[0]["field"] == "(prior)"
    assert {e["field"] for e in explanation[1:]} == {c.name for c in fitted.comparisons}


def test_explanation_names_values_levels_and_weights(fitted, customers):
    a, b = customers[0], customers[1]
    _, explanation = fitted.score(a, b)
    row = next(e for e in explanation if e["field"] == "legal_name")
    assert set(row) == {"field", "value_a", "value_b", "level", "weight", "tf_adjustment"}


def test_conflicting_valid_tax_ids_weigh_heavily_against_a_match(fitted):
    a = {"legal_name": "Acme Ltd", "tax_id": "GB980780684", "website": "acme.com", "country": "GB",
         "address_line": "12 High Street", "postcode": "SW1A 1AA", "city": "London", "phone": "+442079460958"}
    b = dict(a, tax_id="DE136695976")
    _, explanation = fitted.score(a, b)
    tax = next(e for e in explanation if e["field"] == "tax_id")
    assert tax["level"] == "both valid and different" and tax["weight"] <= -10
    assert fitted.decide(fitted.score(a, b)[0]) != "match"


def test_parameters_survive_json_and_give_the_same_scores(fitted, customers):
    params = json.loads(json.dumps(fitted.to_dict()))
    again = Matcher.from_dict(params)
    for a, b in zip(customers[:20], customers[1:21]):
        assert math.isclose(fitted.score(a, b)[0], again.score(a, b)[0], rel_tol=1e-6, abs_tol=1e-9)


def test_decide_uses_the_thresholds(fitted):
    t = fitted.thresholds
    assert fitted.decide(t["match"]) == "match"
    assert fitted.decide((t["match"] + t["review"]) / 2) == "review"
    assert fitted.decide(t["review"] / 2) == "new"


def test_thresholds_in_bits_decide_a_pair_alike_whatever_the_data_size(fitted, customers):
    # a hundred times the records: any two are a hundred times less likely the same
    larger = fitted.with_model(replace(fitted.model, prior=fitted.model.prior / 100))
    assert larger.thresholds["match"] < fitted.thresholds["match"]
    decided = set()
    for a, b in zip(customers[:60], customers[1:61]):
        small, large = fitted.score(a, b)[0], larger.score(a, b)[0]
        assert large < small or small == large == 1.0
        assert fitted.decide(small) == larger.decide(large)
        decided.add(fitted.decide(small))
    assert {"match", "new"} <= decided


def test_score_many_agrees_with_score(fitted, customers):
    record, others = customers[0], customers[1:6]
    many = fitted.score_many(record, others)
    for s, other in zip(many, others):
        assert math.isclose(s, fitted.score(record, other)[0], rel_tol=1e-9, abs_tol=1e-12)


def test_explaining_many_pairs_in_one_table_agrees_with_scoring_each_pair(fitted, customers):
    from mdm.services.matching import _as_strings, score_pairs

    rows = [_as_strings(r) for r in customers[:60]]
    pairs = [(a, b) for a in range(0, 60, 7) for b in range(1, 60, 11) if a != b]
    scores, explain = score_pairs(fitted, rows, [a for a, _ in pairs], [b for _, b in pairs], explainer=True)
    for (a, b), score, why in zip(pairs, scores, explain(pairs)):
        alone_score, alone_why = fitted.score(rows[a], rows[b])
        assert why == alone_why
        assert math.isclose(score, alone_score, rel_tol=1e-9, abs_tol=1e-12)
