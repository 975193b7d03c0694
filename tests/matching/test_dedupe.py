"""Batch deduplication: decisions, clusters, guards, and a quality floor."""

from __future__ import annotations

import numpy as np

from mdm.matching import bench
from mdm.matching.builtin import builtin_spec
from mdm.matching.clustering import settle_reviews
from mdm.matching.engine import MATCH, NEW, REVIEW, Matcher

GROUP_HQ = {"id": "hq", "legal_name": "Meridian Holdings Ltd", "tax_id": "GB980780684", "website": "meridian.com",
            "phone": "+442079460958", "address_line": "1 King Street", "postcode": "EC2V 8AU", "city": "London",
            "country": "GB"}
GROUP_DIVISION = dict(GROUP_HQ, id="division", legal_name="Meridian Digital Ltd", tax_id="GB146295901")
GROUP_SISTER = dict(GROUP_HQ, id="sister", legal_name="Meridian Deutschland GmbH", tax_id="DE136695976",
                    country="DE")
HQ_AGAIN = dict(GROUP_HQ, id="hq-crm", legal_name="MERIDIAN HOLDINGS LIMITED", tax_id="980 7806 84")


def _dedupe(fitted, rows, **kw):
    return fitted.dedupe(rows, [r["id"] for r in rows], **kw)


def _matched(result) -> set[frozenset]:
    return {frozenset((a, b)) for a, b, _, d in result.pairs() if d == "match"}


def test_group_members_with_their_own_tax_ids_are_not_matched(fitted):
    result = _dedupe(fitted, [GROUP_HQ, GROUP_DIVISION, GROUP_SISTER, HQ_AGAIN])
    assert _matched(result) == {frozenset(("hq", "hq-crm"))}
    clusters = dict(zip(result.ids, result.cluster))
    assert clusters["hq"] == clusters["hq-crm"]
    assert len({clusters["hq"], clusters["division"], clusters["sister"]}) == 3


def test_not_a_duplicate_pairs_are_never_proposed(fitted):
    rows = [GROUP_HQ, HQ_AGAIN]
    assert _matched(_dedupe(fitted, rows)) == {frozenset(("hq", "hq-crm"))}
    result = _dedupe(fitted, rows, not_duplicates=[("hq-crm", "hq")])
    assert not list(result.pairs())
    assert result.cluster[0] != result.cluster[1]


def test_two_companies_are_not_chained_through_a_weak_record(fitted):
    a = dict(GROUP_HQ, id="a", website="", phone="")
    b = dict(GROUP_HQ, id="b", tax_id="GB146295901", website="", phone="")
    weak = {"id": "weak", "trading_name": "Meridian", "city": "London", "country": "GB", "website": "meridian.com"}
    result = _dedupe(fitted, [a, weak, b])
    clusters = dict(zip(result.ids, result.cluster))
    assert clusters["a"] != clusters["b"]


def test_a_new_record_joins_the_existing_cluster_id(fitted, customers):
    first = customers[:300]
    before = _dedupe(fitted, first)
    known = dict(zip(before.ids, before.cluster))
    truth = customers[300]["truth_id"]
    newcomer = dict(next(r for r in first if r["truth_id"] != truth), id="newcomer")
    after = _dedupe(fitted, [newcomer, *first], known_clusters=known)
    clusters = dict(zip(after.ids, after.cluster))
    assert all(clusters[i] == known[i] for i in known)  # nobody was renamed
    twin = next(r["id"] for r in first if r["legal_name"] == newcomer["legal_name"] and r["id"] != "newcomer")
    assert clusters["newcomer"] == known[twin]


def test_dedupe_returns_numpy_arrays_of_row_indices(deduped, customers):
    assert deduped.ia.dtype.kind == "i" and deduped.ib.dtype.kind == "i"
    assert np.all(deduped.ia < deduped.ib)
    assert len(deduped.cluster) == len(customers)
    assert set(deduped.decision_labels) <= {"match", "review"}


def test_labelled_sample_keeps_f1_above_the_floor(customers, deduped):
    truth = np.asarray([r["truth_id"] for r in customers], dtype=object)
    codes = np.unique(truth, return_inverse=True)[1]
    truth_pairs = bench.true_pairs(codes)
    n = len(customers)
    matched = np.unique(deduped.ia[deduped.decision == MATCH] * n + deduped.ib[deduped.decision == MATCH])
    metrics = bench.pair_metrics(matched, truth_pairs)
    flagged = np.unique(deduped.ia * n + deduped.ib)
    assert metrics["f1"] >= 0.95, metrics
    assert np.isin(truth_pairs, flagged).mean() >= 0.98


def test_demo_generator_customers_keep_f1_above_the_floor():
    source, rows = bench.customer_source(1500, seed=5)
    matcher = Matcher(builtin_spec("customer"))
    data = bench.stream_table(matcher, rows)
    result = matcher.dedupe((), data.ids, table=data.table, with_candidates=True)
    metrics = bench.dedupe_metrics(result, data, bench.true_pairs(data.truth), result.candidate_codes)
    assert metrics["match"]["f1"] >= 0.95, (source, metrics)
    assert metrics["blocking_recall"] >= 0.98


BRAND = {"id": "brand", "trading_name": "Virmaara", "website": "https://www.virmaara.co.uk",
         "phone": "0191 651 0644", "city": "Newcastle", "country": "GB"}
FULL_ERP = {"id": "erp", "legal_name": "Virmaara Diagnostics Ltd", "tax_id": "GB980780684",
            "email": "accounts@virmaara.co.uk", "phone": "+441916510644", "address_line": "51 Wellington Rd",
            "postcode": "NE1 6RH", "city": "Newcastle upon Tyne", "country": "GB"}
FULL_CRM = dict(FULL_ERP, id="crm", legal_name="VIRMAARA DIAGNOSTICS LIMITED", tax_id="980 7806 84", email=None,
                website="virmaara.co.uk")
DIVISION = dict(FULL_ERP, id="division", legal_name="Virmaara Services Ltd", tax_id="GB146295901",
                email="services@virmaara.co.uk")


def test_a_brand_whose_only_candidate_is_one_company_joins_it(fitted):
    assert fitted.decide(fitted.score(BRAND, FULL_ERP)[0]) == "review"
    result = _dedupe(fitted, [BRAND, FULL_ERP, FULL_CRM])
    clusters = dict(zip(result.ids, result.cluster))
    assert clusters["brand"] == clusters["erp"] == clusters["crm"]
    assert _matched(result) >= {frozenset(("brand", "erp")), frozenset(("erp", "crm"))}


def test_a_brand_that_two_group_companies_could_own_stays_in_review(fitted):
    result = _dedupe(fitted, [BRAND, FULL_ERP, FULL_CRM, DIVISION])
    clusters = dict(zip(result.ids, result.cluster))
    assert clusters["erp"] == clusters["crm"] != clusters["division"]
    assert clusters["brand"] not in (clusters["erp"], clusters["division"])
    decisions = {frozenset((a, b)): d for a, b, _, d in result.pairs()}
    assert decisions[frozenset(("brand", "erp"))] == "review"


def test_group_companies_with_their_own_tax_ids_are_not_proposed_for_review(fitted):
    result = _dedupe(fitted, [GROUP_HQ, HQ_AGAIN, GROUP_DIVISION])
    proposed = {frozenset((a, b)) for a, b, _, _ in result.pairs()}
    assert frozenset(("hq", "division")) not in proposed and frozenset(("hq-crm", "division")) not in proposed


def _settle(roots, pairs, evidence, decision, taxes, forbidden=(), sole_bits=9.0, match_bits=np.inf):
    ia, ib = np.asarray([a for a, _ in pairs]), np.asarray([b for _, b in pairs])
    return settle_reviews(np.asarray(roots), ia, ib, np.asarray(evidence, float), np.asarray(decision, np.int8),
                          [np.asarray(taxes)], forbidden, sole_bits, match_bits)


def test_settling_reviews_joins_only_a_sole_partner_with_enough_evidence():
    # rows 0 and 1 are one company (a match); row 2 is on its own
    roots, decision = _settle([0, 0, 2], [(0, 1), (1, 2)], [30, 10], [MATCH, REVIEW], [5, 0, 0])
    assert roots[2] == roots[0] and decision.tolist() == [MATCH, MATCH]
    _, decision = _settle([0, 0, 2], [(0, 1), (1, 2)], [30, 8], [MATCH, REVIEW], [5, 0, 0])
    assert decision.tolist() == [MATCH, REVIEW]
    _, decision = _settle([0, 0, 2], [(0, 1), (1, 2)], [30, 10], [MATCH, REVIEW], [5, 0, 0], forbidden=[(1, 2)])
    assert decision.tolist() == [MATCH, REVIEW]
    _, decision = _settle([0, 0, 2], [(0, 1), (1, 2)], [30, 10], [MATCH, REVIEW], [5, 0, 0], sole_bits=None)
    assert decision.tolist() == [MATCH, REVIEW]


def test_settling_reviews_keeps_a_record_between_two_clusters_in_review():
    roots, decision = _settle([0, 0, 2, 3, 3], [(0, 1), (1, 2), (2, 3), (3, 4)], [30, 12, 12, 30],
                              [MATCH, REVIEW, REVIEW, MATCH], [5, 0, 0, 0, 0])
    assert decision.tolist() == [MATCH, REVIEW, REVIEW, MATCH]
    assert len({roots[0], roots[2], roots[3]}) == 3


def test_settling_reviews_drops_pairs_between_companies_with_conflicting_identifiers():
    _, decision = _settle([0, 0, 2], [(0, 1), (1, 2)], [30, 12], [MATCH, REVIEW], [5, 0, 7])
    assert decision.tolist() == [MATCH, NEW]


def test_a_match_the_identifier_guard_refused_stays_for_a_steward():
    _, decision = _settle([0, 0, 2], [(0, 1), (1, 2)], [30, 25], [MATCH, REVIEW], [5, 0, 7], match_bits=18)
    assert decision.tolist() == [MATCH, REVIEW]
