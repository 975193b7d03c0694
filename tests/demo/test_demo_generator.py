"""The demo/benchmark data generator: deterministic, in each system's own
field names, valid where it should be, and with a consistent ground truth.

No database needed (runs with or without pytest-django)."""

from __future__ import annotations

import collections
import itertools
import re
import warnings
from datetime import datetime
from decimal import Decimal

import pycountry
import pytest

from mdm.canonical import field_names
from mdm.defaults import ID_FIELDS, MAPPINGS
from mdm.demo import generator as G
from mdm.demo.data import COUNTRY_NAMES
from mdm.demo.generator import DemoGenerator, SourceRow, customer_benchmark_rows
from mdm.demo.ids import sf_checksum
from mdm.demo.taxids import is_valid_tax_id
from mdm.demo.vocab import BILLING_MODEL_SPELLINGS, DATE_FORMATS, ERP_OPEN_END, STATUS_SPELLINGS

N = 2000
SEED = 7
ORDER = ["legal_entity", "customer", "contract", "project"]
NAME_TO_CODE = {name.upper(): code for code, name in COUNTRY_NAMES.items()}


@pytest.fixture(scope="module")
def gen() -> DemoGenerator:
    return DemoGenerator(n_customers=N, seed=SEED)


@pytest.fixture(scope="module")
def rows(gen) -> list[SourceRow]:
    G._FIELD_CHECK.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a row not fitting MAPPINGS would warn
        return list(gen.source_rows())


@pytest.fixture(scope="module")
def by_kind(rows) -> dict[tuple[str, str], list[SourceRow]]:
    out = collections.defaultdict(list)
    for r in rows:
        out[(r.system, r.entity_type)].append(r)
    return out


def _country_of(row: SourceRow) -> str:
    d = row.data
    value = d.get("country_code") or d.get("BillingCountry") or d.get("country") or ""
    return NAME_TO_CODE.get(value.upper(), value.upper())


def _tax_value(row: SourceRow) -> str:
    return row.data.get("vat_id") or row.data.get("VATNumber") or ""


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_rows(rows):
    again = list(DemoGenerator(n_customers=N, seed=SEED).source_rows())
    assert again == rows
    other = list(itertools.islice(DemoGenerator(n_customers=N, seed=SEED + 1).source_rows(), 200))
    assert other != rows[:200]


def test_benchmark_rows_deterministic():
    a = list(customer_benchmark_rows(150, 3))
    b = list(customer_benchmark_rows(150, 3))
    assert a == b and len(a) > 150


# --------------------------------------------------------------------------- shape


def test_rows_use_exactly_the_mapped_field_names(rows):
    assert {(r.system, r.entity_type) for r in rows} == {
        ("erp", "legal_entity"), ("crm", "customer"), ("erp", "customer"), ("psa", "customer"),
        ("crm", "contract"), ("erp", "contract"), ("psa", "project"),
    }
    for r in rows:
        expected = set(MAPPINGS[r.system][r.entity_type]) | {ID_FIELDS[r.system][r.entity_type]}
        assert set(r.data) == expected, (r.system, r.entity_type)
        assert r.data[ID_FIELDS[r.system][r.entity_type]] == r.source_id
        assert all(isinstance(v, str) for v in r.data.values())
    assert all(v is None for v in G._FIELD_CHECK.values()), "some rows had to be fitted to MAPPINGS"


def test_order_and_unique_source_ids(rows):
    kinds = [ORDER.index(r.entity_type) for r in rows]
    assert kinds == sorted(kinds)
    keys = [(r.system, r.entity_type, r.source_id) for r in rows]
    assert len(keys) == len(set(keys))


def test_source_ids_look_like_each_systems_own(by_kind):
    def sf_ok(i, prefix):
        return re.fullmatch(prefix + r"[0-9A-Za-z]{15}", i) and sf_checksum(i[:15]) == i[15:]

    assert all(sf_ok(r.source_id, "001") for r in by_kind[("crm", "customer")])
    assert all(sf_ok(r.source_id, "800") for r in by_kind[("crm", "contract")])
    assert all(sf_ok(r.data["OpportunityId"], "006") for r in by_kind[("crm", "contract")] if r.data["OpportunityId"])
    assert all(re.fullmatch(r"C\d{6,7}", r.source_id) for r in by_kind[("erp", "customer")])
    assert all(re.fullmatch(r"CL-\d{5,}", r.source_id) for r in by_kind[("psa", "customer")])
    assert all(re.fullmatch(r"CT-20\d\d-\d{6,}", r.source_id) for r in by_kind[("erp", "contract")])
    assert all(re.fullmatch(r"PRJ-20\d\d-\d{5,}", r.source_id) for r in by_kind[("psa", "project")])
    assert {r.source_id for r in by_kind[("erp", "legal_entity")]} >= {"UK01", "DE01", "FR01", "NL01", "US01"}


def test_customers_per_company_and_systems(by_kind):
    per_truth = collections.defaultdict(list)
    for kind in (("crm", "customer"), ("erp", "customer"), ("psa", "customer")):
        for r in by_kind[kind]:
            per_truth[r.truth_id].append(r.system)
    assert len(per_truth) == N
    avg = sum(len(v) for v in per_truth.values()) / N
    assert 1.8 <= avg <= 2.05, avg
    assert all(1 <= len(set(v)) <= 3 for v in per_truth.values())
    assert sum(1 for v in per_truth.values() if len(set(v)) == 3) > N * 0.15
    assert any(len(v) > len(set(v)) for v in per_truth.values()), "expected a few same-system duplicates"
    countries = collections.Counter(_country_of(r) for r in by_kind[("erp", "customer")])
    assert set(countries) >= {"GB", "DE", "FR", "NL", "US", "IE", "ES", "IT", "BE", "SE"}


def test_country_values_resolve(by_kind):
    for kind in (("crm", "customer"), ("erp", "customer"), ("psa", "customer"), ("erp", "legal_entity")):
        values = {r.data.get("BillingCountry") or r.data.get("country_code") or r.data.get("country") for r in by_kind[kind]}
        for v in values:
            assert pycountry.countries.lookup(v), v


# --------------------------------------------------------------------------- tax ids


def test_tax_ids_valid_except_a_deliberate_share(by_kind):
    values = [(r, _tax_value(r)) for k in (("crm", "customer"), ("erp", "customer")) for r in by_kind[k]]
    present = [(r, v) for r, v in values if v]
    invalid = [(r, v) for r, v in present if not is_valid_tax_id(v, _country_of(r))]
    share = len(invalid) / len(present)
    assert 0.005 <= share <= 0.03, share
    # and some are missing, more in the CRM than in the ERP
    crm_missing = sum(1 for r in by_kind[("crm", "customer")] if not r.data["VATNumber"]) / len(by_kind[("crm", "customer")])
    erp_missing = sum(1 for r in by_kind[("erp", "customer")] if not r.data["vat_id"]) / len(by_kind[("erp", "customer")])
    assert 0.03 < erp_missing < crm_missing
    # formatted in several ways
    assert any(" " in v for _, v in present) and any(v[:2].isdigit() for _, v in present)
    for r in by_kind[("erp", "legal_entity")]:
        assert is_valid_tax_id(r.data["tax_registration"], r.data["country_code"])


def test_valid_tax_ids_identify_exactly_one_company(by_kind):
    from mdm.demo.taxids import _module

    owner: dict[str, set[str]] = collections.defaultdict(set)
    for k in (("crm", "customer"), ("erp", "customer")):
        for r in by_kind[k]:
            v, country = _tax_value(r), _country_of(r)
            if v and is_valid_tax_id(v, country):
                owner[country + ":" + _module(country).compact(v)].add(r.truth_id)
    assert len(owner) > N * 0.5
    # distinct companies (group members included) never share a tax id
    assert all(len(t) == 1 for t in owner.values())


# --------------------------------------------------------------------------- groups


def _domain(value: str) -> str:
    value = value.lower().split("@")[-1]
    value = re.sub(r"^https?://", "", value)
    value = value.split("/")[0]
    return value[4:] if value.startswith("www.") else value


def test_group_members_are_distinct_companies_sharing_name_domain_or_address(gen, by_kind):
    companies = {c["truth_id"]: c for c in gen.companies()}
    groups = collections.defaultdict(set)
    for c in companies.values():
        if c["group_id"]:
            groups[c["group_id"]].add(c["truth_id"])
    assert len(groups) >= N * 0.02
    assert sum(len(m) for m in groups.values()) >= N * 0.1
    # members in several countries, each its own company with its own records
    assert any(len({companies[t]["country"] for t in members}) >= 2 for members in groups.values())

    domains = collections.defaultdict(set)
    addresses = collections.defaultdict(set)
    for k in (("crm", "customer"), ("erp", "customer"), ("psa", "customer")):
        for r in by_kind[k]:
            d = r.data
            for v in (d.get("Website"), d.get("website"), d.get("email")):
                if v:
                    domains[r.truth_id].add(_domain(v))
            if d.get("zip"):
                addresses[r.truth_id].add((d["country_code"], d["zip"].replace(" ", "").upper()))
    sharing = 0
    for members in groups.values():
        pairs = list(itertools.combinations(sorted(members), 2))
        if any(domains[a] & domains[b] or addresses[a] & addresses[b] for a, b in pairs):
            sharing += 1
    assert sharing / len(groups) >= 0.5, sharing / len(groups)
    # most of the name is shared: every member's legal name starts with the head's base name
    for members in groups.values():
        heads = [t for t in members if companies[t]["role"] == "hq"]
        assert len(heads) == 1
        first_word = companies[heads[0]]["trading_name"].split()[0]
        assert all(companies[t]["legal_name"].startswith(first_word) for t in members)


def _invented(word: str) -> bool:
    """Whether a name's first word is one coined from the generator's syllables
    (and not one of its surnames, brand or place words, nor an acronym)."""
    from mdm.demo import data as D

    vocab = {w.lower() for words in (*D.SURNAMES.values(), D.BRAND_WORDS_EN, *D.BRAND_WORDS_LOCAL.values(),
                                     *D.PLACE_WORDS.values()) for phrase in words for w in phrase.split()}
    heads = "|".join(sorted(D.COINED_HEADS, key=len, reverse=True))
    tails = "|".join(sorted(D.COINED_TAILS, key=len, reverse=True))
    mids = "|".join(m for m in D.COINED_MIDS if m)
    return bool(re.fullmatch(rf"(?:{heads})(?:{mids})*(?:{tails})", word, re.I)) and not word.isupper() \
        and word.lower() not in vocab


def test_distinct_companies_of_a_country_share_no_name_nor_invented_word():
    """As registries and trade marks have it, at a size where the word parts
    would otherwise repeat: a registered or trading name, compared as
    registries compare names, and an invented brand word belong to one
    company (or one group) per country."""
    names, words = collections.defaultdict(set), collections.defaultdict(set)
    for group in DemoGenerator(n_customers=20_000, seed=SEED)._groups():
        for co in group:
            owner = co.group_id or co.truth_id
            for name in (co.stem, co.trading):
                names[(co.country, G._name_key(name))].add(owner)
            first = co.base.split()[0]
            if _invented(first):
                words[(co.country, first.lower())].add(owner)
    assert len(words) > 5000
    assert [k for k, owners in names.items() if len(owners) > 1] == []
    assert [k for k, owners in words.items() if len(owners) > 1] == []
    assert G._name_key("Björk & Larsson") == G._name_key("BJORK + LARSSON") == G._name_key("Björk and Larsson")


def test_parent_ids_point_at_the_parent_in_the_same_system(gen, rows):
    companies = {c["truth_id"]: c for c in gen.companies()}
    seen: dict[tuple[str, str], str] = {}
    linked = 0
    for r in rows:
        if r.entity_type != "customer":
            continue
        parent_id = r.data.get("ParentId") or r.data.get("parent_customer_no")
        if parent_id:
            assert (r.system, parent_id) in seen, "parent must come before its children"
            parent_truth = seen[(r.system, parent_id)]
            assert parent_truth == companies[r.truth_id]["parent_truth_id"]
            assert companies[parent_truth]["group_id"] == r.group_id
            linked += 1
        seen[(r.system, r.source_id)] = r.truth_id
    assert linked > 20


# --------------------------------------------------------------------------- references


def test_contracts_and_projects_reference_records_in_the_same_system(by_kind):
    crm_customers = {r.source_id: r.truth_id for r in by_kind[("crm", "customer")]}
    erp_customers = {r.source_id: r.truth_id for r in by_kind[("erp", "customer")]}
    psa_clients = {r.source_id: r.truth_id for r in by_kind[("psa", "customer")]}
    entities = {r.source_id for r in by_kind[("erp", "legal_entity")]}
    contract_customer: dict[str, str] = {}
    for r in by_kind[("crm", "contract")]:
        assert r.data["AccountId"] in crm_customers
        assert r.data["LegalEntityCode"] in entities
        contract_customer[r.data["ContractNumber"]] = crm_customers[r.data["AccountId"]]
    both = 0
    for r in by_kind[("erp", "contract")]:
        assert r.data["customer_no"] in erp_customers
        assert r.data["company_code"] in entities
        truth = erp_customers[r.data["customer_no"]]
        if r.source_id in contract_customer:
            assert contract_customer[r.source_id] == truth  # same contract, same real-world customer
            both += 1
        contract_customer[r.source_id] = truth
    assert both > len(by_kind[("erp", "contract")]) * 0.5, "CRM and ERP should share many contracts"
    for r in by_kind[("erp", "customer")]:
        assert r.data["company_code"] in entities
    with_ref = 0
    for r in by_kind[("psa", "project")]:
        assert r.data["client_id"] in psa_clients
        assert r.data["entity_code"] in entities
        if r.data["contract_ref"]:
            with_ref += 1
            assert r.data["contract_ref"] in contract_customer
            assert contract_customer[r.data["contract_ref"]] == psa_clients[r.data["client_id"]]
    assert with_ref > len(by_kind[("psa", "project")]) * 0.6


def test_spellings_dates_and_amounts(by_kind):
    def parses(value, fmt):
        return datetime.strptime(value, fmt)

    for r in by_kind[("crm", "contract")]:
        d = r.data
        assert d["BillingModel"] in BILLING_MODEL_SPELLINGS["crm"].values()
        assert d["Status"] in STATUS_SPELLINGS["crm"]["contract"].values()
        parses(d["StartDate"], DATE_FORMATS["crm"])
        if d["EndDate"]:
            assert parses(d["EndDate"], DATE_FORMATS["crm"]) >= parses(d["StartDate"], DATE_FORMATS["crm"])
        Decimal(d["Amount"])
    for r in by_kind[("erp", "contract")]:
        d = r.data
        assert d["status"] in STATUS_SPELLINGS["erp"]["contract"].values()
        parses(d["valid_from"], DATE_FORMATS["erp"])
        parses(d["valid_to"], DATE_FORMATS["erp"])
        Decimal(d["contract_value"])
    assert any(r.data["valid_to"] == ERP_OPEN_END for r in by_kind[("erp", "contract")])
    for r in by_kind[("psa", "project")]:
        d = r.data
        assert d["billing_type"] in BILLING_MODEL_SPELLINGS["psa"].values()
        assert d["status"] in STATUS_SPELLINGS["psa"]["project"].values()
        assert parses(d["end"], DATE_FORMATS["psa"]) >= parses(d["start"], DATE_FORMATS["psa"])
        Decimal(d["budget"])
    for system in ("crm", "erp", "psa"):
        field = {"crm": "AccountStatus", "erp": "status", "psa": "status"}[system]
        assert {r.data[field] for r in by_kind[(system, "customer")]} <= set(STATUS_SPELLINGS[system]["customer"].values())


def test_real_world_variations_are_present(by_kind):
    crm = [r.data for r in by_kind[("crm", "customer")]]
    erp = [r.data for r in by_kind[("erp", "customer")]]
    names = [d["customer_name"] for d in erp] + [d["AccountName"] for d in crm]
    assert any(n.endswith(" Ltd") for n in names) and any(n.endswith(" Limited") for n in names)
    assert any(n.endswith("GmbH") for n in names) and any(n.isupper() for n in names)
    websites = [d["Website"] for d in crm if d["Website"]]
    assert any(w.startswith("https://") for w in websites) and any(not w.startswith("http") for w in websites)
    phones = [d["phone"] for d in erp if d["phone"]]
    assert any(p.startswith("+") for p in phones) and any(p.startswith("0") for p in phones)
    streets = [d["street"] for d in erp] + [d["BillingStreet"] for d in crm]
    assert any("Str." in s or "str." in s for s in streets) and any("straße" in s for s in streets)
    assert any(re.search(r"\bSt\b", s) for s in streets) and any("Street" in s for s in streets)


# --------------------------------------------------------------------------- ground truth


def test_truth_pairs_match_truth_ids(gen, by_kind):
    clusters = collections.defaultdict(list)
    for k in (("crm", "customer"), ("erp", "customer"), ("psa", "customer")):
        for r in by_kind[k]:
            clusters[r.truth_id].append((r.system, r.source_id))
    expected = {frozenset(p) for keys in clusters.values() for p in itertools.combinations(keys, 2)}
    got = [frozenset(p) for p in gen.truth_pairs("customer")]
    assert len(got) == len(set(got)) and set(got) == expected
    # group members are never truth pairs
    truth_of = {key: t for t, keys in clusters.items() for key in keys}
    assert all(len({truth_of[k] for k in pair}) == 1 for pair in got)

    crm_by_number = {r.data["ContractNumber"]: r.source_id for r in by_kind[("crm", "contract")]}
    expected_k = {frozenset({("crm", crm_by_number[r.source_id]), ("erp", r.source_id)})
                  for r in by_kind[("erp", "contract")] if r.source_id in crm_by_number}
    assert {frozenset(p) for p in gen.truth_pairs("contract")} == expected_k
    assert list(gen.truth_pairs("project")) == [] and list(gen.truth_pairs("legal_entity")) == []


def test_benchmark_rows_are_the_customer_records_in_canonical_names(by_kind):
    bench = list(customer_benchmark_rows(N, SEED))
    customers = by_kind[("crm", "customer")] + by_kind[("erp", "customer")] + by_kind[("psa", "customer")]
    assert len(bench) == len(customers)
    canonical = field_names("customer")
    for row in bench[:500]:
        assert list(row)[:5] == ["id", "system", "truth_id", "group_id", "parent_truth_id"]
        assert set(row) == {"id", "system", "truth_id", "group_id", "parent_truth_id", *canonical}
    source = {f"{r.system}:{r.source_id}": r for r in customers}
    for row in bench:
        r = source[row["id"]]
        assert row["truth_id"] == r.truth_id and row["group_id"] == (r.group_id or "")
        for src, (dst, _t) in MAPPINGS[r.system]["customer"].items():
            assert row[dst] == r.data[src]
