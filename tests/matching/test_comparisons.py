"""Comparison levels per field type, on tiny tables."""

from __future__ import annotations

import numpy as np
import pytest

from mdm.matching.comparisons import build_comparisons
from mdm.matching.spec import parse_spec
from mdm.matching.table import Table


def level(field: dict, a: dict, b: dict, extra_fields: tuple = ()) -> str:
    spec = parse_spec({"fields": [field, *extra_fields]})
    comparison = build_comparisons(spec.fields)[-1 if field.get("given") else 0]
    table = Table.from_records(spec, [a, b])
    levels, _ = comparison.levels(table, np.array([0]), np.array([1]))
    return comparison.all_labels[int(levels[0])]


ORG = {"name": "name", "type": "org_name", "alternatives": ["trading"]}


@pytest.mark.parametrize("a, b, expected", [
    ("Acme Ltd", "ACME Limited", "exact"),
    ("Acme Consulting", "Acme Consluting", "very similar"),
    ("Acme", "Acme Digital", "one contains the other"),
    ("Acme Consulting", "Acme Consultants", "similar"),
    ("Acme", "Globex", "different"),
    ("Acme", None, "null"),
])
def test_org_name_levels(a, b, expected):
    assert level(ORG, {"name": a}, {"name": b}) == expected


def test_org_name_takes_the_best_of_legal_and_trading_names():
    a = {"name": "Northwind Holdings Ltd", "trading": "Blue Kettle"}
    b = {"name": None, "trading": "Northwind"}
    assert level(ORG, a, b) == "exact"


@pytest.mark.parametrize("a, b, expected", [
    ("GB980780684", "GB 980 7806 84", "exact"),
    ("GB980780684", "GB980780648", "one character off"),
    ("DE136695976", "GB980780684", "both valid and different"),
    ("DE136695976", "DE999999999", "different"),
])
def test_tax_id_levels_tell_conflicting_valid_ids_from_typos(a, b, expected):
    assert level({"name": "vat", "type": "tax_id"}, {"vat": a}, {"vat": b}) == expected


ADDRESS = {"name": "street", "type": "address", "postcode": "pc", "city": "city"}


@pytest.mark.parametrize("a, b, expected", [
    (("12 High Street", "SW1A 1AA", "London"), ("High St 12", "SW1A1AA", "LONDON"), "same street address"),
    (("12 High Street", "SW1A 1AA", "London"), ("12 Hihg Street", "SW1A1AA", "London"), "similar street, same number"),
    (("12 High Street", "SW1A 1AA", "London"), ("3 Low Road", "SW1A1AA", "London"), "same postcode"),
    (("12 High Street", None, "München"), (None, None, "Munich"), "same city"),
    (("12 High Street", None, "Dallas TX"), (None, None, "Dallas"), "same city"),
    (("12 High Street", "SW1A 1AA", "London"), ("3 Low Road", "M1 1AA", "Manchester"), "different"),
])
def test_address_levels_fold_street_postcode_and_city_into_one(a, b, expected):
    ra = dict(zip(("street", "pc", "city"), a))
    rb = dict(zip(("street", "pc", "city"), b))
    assert level(ADDRESS, ra, rb) == expected


@pytest.mark.parametrize("ftype, a, b, expected", [
    ("postcode", "SW1A 1AA", "SW1A 1AB", "one character off"),
    ("postcode", "SW1A 1AA", "SW1 9ZZ", "same district"),
    ("phone", "+44 20 7946 0958", "+44 (0)20-7946 0958", "exact"),
    ("phone", "+44 20 7946 0958", "+44 20 7946 0959", "same subscriber number or one digit off"),
    ("email", "ann@acme.com", "anne@acme.com", "one typo"),
    ("email", "ann@acme.com", "bob@acme.com", "same domain"),
    ("domain", "https://www.acme.com", "acme.de", "same name, other suffix"),
    ("date", "2020-01-31", "31/01/2020", "exact"),
    ("date", "2020-03-04", "2020-04-03", "one typo or day/month swapped"),
    ("number", "1000", "1,005", "within 1%"),
    ("number", "1000", "1090", "within 10%"),
    ("exact", "HRB 12345", "HRB 12346", "one character off"),
    ("text", "Zürich Nord", "Zurich Nord", "exact"),
    ("person_name", "Jon Smith", "John Smith", "very similar"),
])
def test_levels_per_field_type(ftype, a, b, expected):
    assert level({"name": "f", "type": ftype}, {"f": a}, {"f": b}) == expected


def test_countries_that_differ_are_a_conflict_level():
    spec = parse_spec({"fields": [{"name": "country", "type": "exact"}]})
    comparison = build_comparisons(spec.fields)[0]
    assert comparison.field.is_country and comparison.conflict_level == 1
    assert level({"name": "country", "type": "exact"}, {"country": "Germany"}, {"country": "DE"}) == "same country"


def test_combined_fields_count_agreeing_parts_and_names_are_read_given_them():
    fields = ({"name": "web", "type": "domain", "combine": "contact"},
              {"name": "phone", "type": "phone", "combine": "contact"})
    a = {"name": "Acme", "web": "acme.com", "phone": "+442079460958"}
    b = {"name": "Acme Digital", "web": "www.acme.com", "phone": "+44 20 7946 0958"}
    spec = parse_spec({"fields": [*fields, {"name": "name", "type": "org_name", "given": "contact"}]})
    contact, name = build_comparisons(spec.fields)
    table = Table.from_records(spec, [a, b])
    c_level, _ = contact.levels(table, np.array([0]), np.array([1]))
    n_level, _ = name.levels(table, np.array([0]), np.array([1]))
    assert contact.all_labels[int(c_level[0])] == "two or more agree"
    assert name.all_labels[int(n_level[0])] == "one contains the other, contact also agrees"
