"""Blocking keys and candidate pairs."""

from __future__ import annotations

import numpy as np

from mdm.matching import bench
from mdm.matching.blocking import candidate_pairs
from mdm.matching.builtin import builtin_spec
from mdm.matching.engine import Matcher
from mdm.matching.synthetic import customer_rows
from mdm.matching.table import Table


def test_blocking_keys_are_deterministic_prefixed_strings(fitted):
    record = {"legal_name": "Acme Ltd", "tax_id": "980780684", "website": "https://www.acme.com/x",
              "country": "United Kingdom", "postcode": "SW1A 1AA", "address_line": "12 High St"}
    keys = fitted.blocking_keys(record)
    assert keys == fitted.blocking_keys(dict(record))
    assert "tax:GB980780684" in keys
    assert "dom:acme.com" in keys
    assert "na:ACEM|GB" in keys
    assert all(isinstance(k, str) and ":" in k for k in keys)


def test_name_keys_are_qualified_by_the_city_when_there_is_one(fitted):
    with_city = fitted.blocking_keys({"legal_name": "Sauer Warenhaus GmbH", "city": "Düsseldorf", "country": "DE"})
    brand = fitted.blocking_keys({"trading_name": "Sauer", "city": "Dusseldorf", "country": "Germany"})
    assert "nw:SAUER|DUSS" in with_city and "nw:SAUER|DUSS" in brand
    assert not any(k.startswith("nw:") for k in fitted.blocking_keys({"legal_name": "Sauer", "country": "DE"}))


def test_spellings_one_slip_apart_share_a_key_in_their_city(fitted):
    def name_keys(name, city):
        return {k for k in fitted.blocking_keys({"legal_name": name, "city": city, "country": "GB"})
                if k.startswith("nw:")}

    right = name_keys("Quordeynx Analytics Ltd", "London")
    # a letter mistyped in the first syllable: sound and first letters differ, one deletion agrees
    for slip in ("Quorfeynx Analytics", "Qourdeynx Analytics", "Quordeyx Analytics", "Quorrdeynx Analytics"):
        assert right & name_keys(slip, "London"), slip
        assert not right & name_keys(slip, "Leeds"), slip
    assert not right & name_keys("Quorvantis Analytics", "London")
    # short words make no deletion keys ("AD", "IBM" would leave blocks of every two-letter name)
    assert name_keys("IBM Consulting", "London") == {"nw:IBM|LOND"}


def test_every_name_has_a_country_wide_key_even_a_short_one(fitted):
    assert "na:ADHTY|DE" in fitted.blocking_keys({"legal_name": "AD Thy GmbH", "country": "DE"})
    assert "na:BIM|US" in fitted.blocking_keys({"legal_name": "IBM", "country": "US"})


def test_records_sharing_a_key_are_candidates_and_giant_blocks_are_capped():
    spec = builtin_spec("customer")
    rows = [{"legal_name": f"Company {i:04d}", "website": "gmail.com", "country": "GB"} for i in range(400)]
    table = Table.from_records(spec, rows)
    matcher = Matcher(spec)
    candidates = matcher.candidates(table)
    all_pairs = 400 * 399 // 2
    assert 0 < len(candidates) < all_pairs / 5  # never all pairs, even in one big block
    assert np.all(candidates.ia < candidates.ib)


def test_blocking_recall_on_labelled_data_is_high():
    rows = list(customer_rows(800, seed=11))
    matcher = Matcher(builtin_spec("customer"))
    table = matcher.table(rows)
    candidates = matcher.candidates(table)
    truth = np.asarray([hash(r["truth_id"]) for r in rows])
    truth_pairs = bench.true_pairs(truth)
    recall = np.isin(truth_pairs, candidates.ia * table.n + candidates.ib).mean()
    assert recall >= 0.98


def test_spec_blocking_rules_join_the_named_columns():
    spec = {"fields": [{"name": "surname", "type": "person_name"}, {"name": "dob", "type": "date"}],
            "blocking": [["surname", "dob"]]}
    matcher = Matcher(spec)
    assert matcher.blocking_keys({"surname": "Smith", "dob": "1.2.1980"}) == ["b0:smith|1980-02-01"]
    table = Table.from_records(matcher.spec, [{"surname": "Smith", "dob": "1980-02-01"},
                                              {"surname": "smith", "dob": "01/02/1980"},
                                              {"surname": "Jones", "dob": "1980-02-01"}])
    c = candidate_pairs(table, matcher.rules)
    assert list(zip(c.ia.tolist(), c.ib.tolist())) == [(0, 1)]
