"""Deterministic demo / benchmark data: master data as three source systems hold it.

``DemoGenerator(n_customers, seed)`` invents ``n_customers`` real-world
companies (customers of a professional-services firm), some of them in
cross-country groups, and streams the records that a CRM, an ERP and a PSA
hold about them — with the variations real systems have — plus the firm's own
legal entities (ERP), contracts (CRM and ERP) and projects (PSA).  Every row
carries its ground truth (``truth_id``: the real-world thing; ``group_id``: the
corporate group).

Everything streams: one corporate group is in memory at a time, plus the set
of names (and, in the customer pass, web domains) already taken, so that
distinct companies never share them (~150 bytes per company).  Four sequential
random-number streams (core, detail, contracts, projects) feed it; the
contract and project passes replay the cheap company "core" stream instead of
keeping the companies.  Same ``(n_customers, seed)`` -> same rows, on any
machine (no ``hash()``, no clock, no locale).

Per-system field names are exactly those of ``mdm.defaults.MAPPINGS`` plus the
system's id column (``ID_FIELDS``); a value a system does not have is ``""``.
"""

from __future__ import annotations

import itertools
import random
import re
import warnings
from bisect import bisect
from datetime import date, timedelta
from typing import Iterator, NamedTuple

from unidecode import unidecode

from mdm.defaults import ID_FIELDS, MAPPINGS
from mdm.demo import data as D
from mdm.demo.ids import NumberedIds, SalesforceIds
from mdm.demo.taxids import (
    _choice,
    _randrange,
    corrupt_tax_id,
    fixed_tax_id,
    format_registration,
    format_tax_id,
    make_duns,
    make_lei,
    make_tax_and_registration,
)
from mdm.demo.vocab import BILLING_MODEL_SPELLINGS, ERP_OPEN_END, PAYMENT_TERMS, STATUS_SPELLINGS

CUSTOMER, LEGAL_ENTITY, CONTRACT, PROJECT = "customer", "legal_entity", "contract", "project"
CRM, ERP, PSA = "crm", "erp", "psa"
SYSTEMS = (CRM, ERP, PSA)

# "Today" for statuses derived from dates: fixed, so output never depends on the clock.
AS_OF = date(2025, 6, 30)

# Share of non-empty tax ids that carry a typing error breaking the check digits.
INVALID_TAX_ID_RATE = 0.015


class SourceRow(NamedTuple):
    """One source record as a system would send it."""

    system: str
    entity_type: str
    source_id: str
    data: dict  # the system's own field names (MAPPINGS + id column) -> str
    truth_id: str  # the real-world thing this record describes
    group_id: str | None  # corporate group of a customer (None: standalone / not a customer)


# ---------------------------------------------------------------------------
# The firm's own legal entities (ERP company codes)
# ---------------------------------------------------------------------------

FIRM_NAME = "Northbridge Advisory"
# code -> (name, country, base currency, city)
LEGAL_ENTITIES: dict[str, tuple[str, str, str, str]] = {
    "UK01": ("Northbridge Advisory UK Limited", "GB", "GBP", "London"),
    "UK02": ("Northbridge Digital Limited", "GB", "GBP", "Manchester"),
    "DE01": ("Northbridge Advisory Deutschland GmbH", "DE", "EUR", "Berlin"),
    "FR01": ("Northbridge Advisory France SAS", "FR", "EUR", "Paris"),
    "NL01": ("Northbridge Advisory Nederland B.V.", "NL", "EUR", "Amsterdam"),
    "US01": ("Northbridge Advisory US Inc.", "US", "USD", "New York"),
    "IE01": ("Northbridge Advisory Ireland Limited", "IE", "EUR", "Dublin"),
    "ES01": ("Northbridge Advisory España S.L.", "ES", "EUR", "Madrid"),
    "IT01": ("Northbridge Advisory Italia S.r.l.", "IT", "EUR", "Milan"),
    "BE01": ("Northbridge Advisory Belgium BV", "BE", "EUR", "Brussels"),
    "SE01": ("Northbridge Advisory Sverige AB", "SE", "SEK", "Stockholm"),
}
# Which entity contracts with a customer of a given country: [(code, weight)].
_LE_FOR_COUNTRY = {
    "GB": (("UK01", 80), ("UK02", 20)),
    "IE": (("IE01", 85), ("UK01", 15)),
    "DE": (("DE01", 95), ("NL01", 5)),
    "FR": (("FR01", 95), ("BE01", 5)),
    "NL": (("NL01", 95), ("BE01", 5)),
    "BE": (("BE01", 85), ("NL01", 10), ("FR01", 5)),
    "US": (("US01", 95), ("UK01", 5)),
    "ES": (("ES01", 92), ("FR01", 8)),
    "IT": (("IT01", 95), ("FR01", 5)),
    "SE": (("SE01", 90), ("UK01", 10)),
}

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def _erp_date(d: date | None) -> str:
    return f"{d.day:02d}.{d.month:02d}.{d.year}" if d else ERP_OPEN_END


def _psa_date(d: date | None) -> str:
    return f"{d.day:02d}-{_MONTHS[d.month]}-{d.year}" if d else ""


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m, day)
        except ValueError:
            continue
    raise AssertionError


class _Weighted:
    """Fast weighted choice: ``pick(rng)``."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs):
        pairs = list(pairs)
        self.items = [p[0] for p in pairs]
        self.cum = list(itertools.accumulate(p[1] for p in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.total)]


_COUNTRY = _Weighted(zip(D.COUNTRY_CODES, D.COUNTRY_WEIGHTS))
_HQ_COUNTRY = _Weighted([("GB", 24), ("US", 22), ("DE", 18), ("FR", 12), ("NL", 9), ("SE", 6), ("IE", 3), ("ES", 3), ("IT", 2), ("BE", 1)])
_INDUSTRY = _Weighted(zip(D.INDUSTRY_KEYS, D.INDUSTRY_WEIGHTS))
_CITY = {c: _Weighted((city, city[2]) for city in cities) for c, cities in D.CITIES.items()}
_FORMS = {c: _Weighted((forms, w) for w, forms in lst) for c, lst in D.LEGAL_FORMS.items()}
_LE = {c: _Weighted(lst) for c, lst in _LE_FOR_COUNTRY.items()}
_CITY_STREETS = {c: D.CITY_STREETS.get(c, {}) for c in D.COUNTRY_CODES}
# Which systems know a company (in ~1.9 systems on average).
_MEMBERSHIP = _Weighted([
    ((1, 0, 0), 22), ((0, 1, 0), 8), ((0, 0, 1), 4),
    ((1, 1, 0), 30), ((1, 0, 1), 5), ((0, 1, 1), 6),
    ((1, 1, 1), 25),
])
_GROUP_SIZE = _Weighted([(2, 34), (3, 24), (4, 15), (5, 10), (6, 7), (7, 4), (8, 3), (10, 2), (12, 1)])
_TIER = _Weighted([(1, 55), (2, 35), (3, 10)])
_BILLING = _Weighted([("time_and_materials", 45), ("fixed_fee", 25), ("retainer", 15), ("milestone", 15)])
_DURATION = {
    "time_and_materials": (3, 6, 6, 9, 12, 12, 18, 24),
    "fixed_fee": (2, 3, 4, 6, 6, 9, 12),
    "retainer": (12, 12, 24, 36),
    "milestone": (6, 9, 12, 12, 18, 24),
}
_PAYMENT_TERMS = _Weighted(zip(PAYMENT_TERMS, (5, 55, 15, 20, 5)))
_N_CONTRACTS_ERP = _Weighted([(0, 12), (1, 42), (2, 25), (3, 12), (4, 6), (5, 3)])
_N_PROJECTS = _Weighted([(0, 3), (1, 65), (2, 25), (3, 7)])
_ERP_STATUS = _Weighted([("active", 90), ("blocked", 4), ("inactive", 6)])
_CRM_ONLY_STATUS = _Weighted([("prospect", 75), ("active", 12), ("inactive", 13)])

_PHONE_CC = {"GB": "44", "IE": "353", "DE": "49", "FR": "33", "NL": "31", "US": "1", "ES": "34", "IT": "39", "BE": "32", "SE": "46"}
_TLD = {
    "GB": ((".co.uk", 70), (".com", 30)), "IE": ((".ie", 65), (".com", 35)), "DE": ((".de", 85), (".com", 15)),
    "FR": ((".fr", 75), (".com", 25)), "NL": ((".nl", 80), (".com", 20)), "US": ((".com", 88), (".us", 4), (".io", 8)),
    "ES": ((".es", 75), (".com", 25)), "IT": ((".it", 80), (".com", 20)), "BE": ((".be", 80), (".com", 15), (".eu", 5)),
    "SE": ((".se", 85), (".com", 15)),
}
_TLDS = {c: _Weighted(v) for c, v in _TLD.items()}
_LOCAL_TLD = {c: v[0][0] for c, v in _TLD.items()}
_AP_MAILBOX = {
    "en": ("accounts", "ap", "invoices", "finance", "accounts.payable", "billing", "accountspayable"),
    "de": ("rechnung", "buchhaltung", "kreditoren", "rechnungseingang", "invoices", "finance"),
    "fr": ("factures", "comptabilite", "compta.fournisseurs", "facturation", "invoices"),
    "nl": ("facturen", "crediteuren", "administratie", "factuur", "invoices"),
    "es": ("facturas", "proveedores", "contabilidad", "administracion", "invoices"),
    "it": ("fatture", "amministrazione", "contabilita", "fornitori", "invoices"),
    "sv": ("faktura", "ekonomi", "leverantorsfakturor", "invoices", "finance"),
}
_EIRCODE_CHARS = "0123456789ACDEFHKNPRTVWXY"
_NL_LETTERS = "ABCDEFGHJKLMNPRSTVWXZ"
_GB_INWARD = "ABDEFGHJLNPQRSTUWXYZ"
_QWERTY_NEIGHBOURS = {
    "a": "qsz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj", "i": "uo", "j": "hk",
    "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o", "q": "wa", "r": "et", "s": "ad", "t": "ry",
    "u": "yi", "v": "cb", "w": "qe", "x": "zc", "y": "tu", "z": "xa",
}
_SLUG_OK = set("abcdefghijklmnopqrstuvwxyz0123456789")

# Firm people: CRM account owners and PSA project managers (fixed pools).
_people_rng = random.Random(20250630)
_ACCOUNT_OWNERS = sorted({f"{_people_rng.choice(D.FIRST_NAMES)} {_people_rng.choice(D.LAST_NAMES)}" for _ in range(60)})[:45]
_PROJECT_MANAGERS = sorted({f"{_people_rng.choice(D.FIRST_NAMES)} {_people_rng.choice(D.LAST_NAMES)}" for _ in range(160)})[:120]
del _people_rng


def _typo(s: str, rng: random.Random) -> str:
    """One keyboard slip: swapped, dropped, doubled or neighbouring letter."""
    letters = [i for i, ch in enumerate(s) if ch.isalpha()]
    if len(letters) < 4:
        return s
    i = letters[_randrange(rng, 1, len(letters) - 1)]  # rarely the first letter
    op = rng.random()
    if op < 0.35 and i + 1 < len(s) and s[i + 1].isalpha() and s[i] != s[i + 1]:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if op < 0.65:
        return s[:i] + s[i + 1:]
    if op < 0.8:
        return s[:i] + s[i] + s[i:]
    near = _QWERTY_NEIGHBOURS.get(s[i].lower())
    if not near:
        return s[:i] + s[i + 1:]
    ch = _choice(rng, near)
    return s[:i] + (ch.upper() if s[i].isupper() else ch) + s[i + 1:]


def _slug(text: str, rng: random.Random) -> str:
    text = unidecode(text).lower().replace("&", " and " if rng.random() < 0.4 else " ").replace("'", "")
    words = ["".join(ch for ch in w if ch in _SLUG_OK) for w in text.split()]
    words = [w for w in words if w]
    if len(words) > 5:
        words = words[:5]
    return ("-" if rng.random() < 0.45 else "").join(words) or "company"


def _join_form(stem: str, form: str) -> str:
    if not form:
        return stem
    if form[0] == ",":
        return stem + form
    return f"{stem} {form}"


def _fold(text: str, country: str, rng: random.Random) -> str:
    """How an ASCII-only system stores a name with accents."""
    if text.isascii():
        return text
    if country in ("DE", "SE") and rng.random() < 0.6:
        text = D.fold_de(text)
    return unidecode(text)


# Rows must carry exactly the mapped fields (+ id column).  The generator's
# dicts are written for the current MAPPINGS; should the mappings change, the
# first row of each kind is checked and rows are fitted (missing fields "",
# unknown ones dropped) with a warning instead of breaking the demo load.
_FIELD_CHECK: dict[tuple[str, str], list[str] | None] = {}


def _fit(row: SourceRow) -> SourceRow:
    key = (row.system, row.entity_type)
    fields = _FIELD_CHECK.get(key, False)
    if fields is None:
        return row
    if fields is False:
        expected = field_names_for(*key)
        if set(row.data) == set(expected):
            _FIELD_CHECK[key] = None
            return row
        warnings.warn(
            f"demo generator: {key} fields differ from MAPPINGS "
            f"(missing {sorted(set(expected) - set(row.data))}, extra {sorted(set(row.data) - set(expected))}); "
            "fitting rows to MAPPINGS",
            stacklevel=2,
        )
        _FIELD_CHECK[key] = fields = expected
    d = row.data
    return row._replace(data={f: d.get(f, "") for f in fields})


# ---------------------------------------------------------------------------
# Companies
# ---------------------------------------------------------------------------


class _Co:
    """One real-world company: the "core" (drawn from the core stream) and,
    during the customer pass only, its "detail" (drawn from the detail stream)."""

    __slots__ = (
        # core
        "idx", "truth_id", "group_id", "parent", "role", "country", "lang", "city", "industry", "tier",
        "forms", "stem", "base", "trading", "brand", "tag_country",
        "crm_ids", "erp_ids", "psa_id", "status", "n_contracts", "currency",
        # detail
        "vat", "reg", "lei", "duns", "street", "num", "unit", "postcode", "city_name", "phone", "domain",
        "mailbox", "owner", "terms", "le",
    )

    def keys(self) -> list[tuple[str, str]]:
        out = [(CRM, i) for i in self.crm_ids] + [(ERP, i) for i in self.erp_ids]
        if self.psa_id:
            out.append((PSA, self.psa_id))
        return out


def _name_key(name: str) -> str:
    """A name as registries compare names: case, accents, punctuation and
    spacing aside, and "&", "+" and "and" alike."""
    folded = (name if name.isascii() else unidecode(name)).lower().replace("&", "and").replace("+", "and")
    return _NOT_ALNUM.sub("", folded)


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_COINED_MIDS = [m for m in D.COINED_MIDS if m]


class _Names:
    """Names and invented words taken, per country (see ``_unique_name``).
    Fresh words come from a stream of their own, so that the main stream
    draws the same companies whatever the collisions."""

    __slots__ = ("taken", "rng", "syllables")

    def __init__(self, seed: int):
        self.taken: set[str] = set()
        self.rng = random.Random(seed * 7 + 5)
        self.syllables: dict[str, int] = {}  # middle syllables fresh words of a country now need

    def name_free(self, country: str, name: str) -> bool:
        return f"{country}|{_name_key(name)}" not in self.taken

    def take_name(self, country: str, name: str) -> None:
        self.taken.add(f"{country}|{_name_key(name)}")

    def claim_name(self, country: str, name: str) -> bool:
        """Take the name if it is free; whether it was."""
        key = f"{country}|{_name_key(name)}"
        if key in self.taken:
            return False
        self.taken.add(key)
        return True

    def word_free(self, country: str, word: str, everywhere: bool = False) -> bool:
        key = word.lower()
        if f"*|~{key}" in self.taken:
            return False
        if everywhere:
            return not any(f"{c}|~{key}" in self.taken for c in D.COUNTRY_CODES)
        return f"{country}|~{key}" not in self.taken

    def take_word(self, country: str, word: str, everywhere: bool = False) -> None:
        self.taken.add(f"{'*' if everywhere else country}|~{word.lower()}")

    def coin(self, country: str, everywhere: bool = False) -> str:
        """A word nobody in the country trades under: head, one or more
        middle syllables, tail (one syllable more once words that long
        keep being taken)."""
        rng = self.rng
        mids = _COINED_MIDS
        scope = "*" if everywhere else country
        misses = 0
        while True:
            n_mids = self.syllables.get(scope, 1)
            word = (_choice(rng, D.COINED_HEADS) + "".join(_choice(rng, mids) for _ in range(n_mids))
                    + _choice(rng, D.COINED_TAILS)).capitalize()
            if self.word_free(country, word, everywhere):
                return word
            misses += 1
            if misses % 8 == 0:
                self.syllables[scope] = n_mids + 1


class _Contract:
    __slots__ = (
        "number", "crm_id", "crm_account", "erp_customer", "le", "title", "erp_title", "model", "value", "erp_value",
        "currency", "terms", "start", "end", "erp_start", "status", "opportunity", "crm_amount_fmt",
    )


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------


class DemoGenerator:
    """Deterministic stream of demo source records.

    ``n_customers`` is the number of real-world companies; each appears in one
    to three systems (about 1.9 source records per company on average,
    including a few same-system duplicates).
    """

    crm_duplicate_rate = 0.03  # share of CRM companies with a second CRM account
    erp_duplicate_rate = 0.012  # ... with a second ERP customer (another bill-to)
    group_unit_rate = 0.065  # chance that the next unit generated is a corporate group

    def __init__(self, n_customers: int = 2000, seed: int = 42):
        if n_customers < 1:
            raise ValueError("n_customers must be >= 1")
        self.n_customers = int(n_customers)
        self.seed = int(seed)
        base = self.seed * 1_000_003
        self._core_seed = base + 1
        self._detail_seed = base + 2
        self._contract_seed = base + 3
        self._project_seed = base + 4
        cap = self.n_customers
        self._crm_account_ids = SalesforceIds("001", "8d", base + 11)
        self._crm_contract_ids = SalesforceIds("800", "8d", base + 12)
        self._crm_opportunity_ids = SalesforceIds("006", "8d", base + 13)
        self._erp_ids = NumberedIds("C", int(cap * 1.05) + 10, 6, base + 14)
        self._psa_ids = NumberedIds("CL-", int(cap * 0.8) + 10, 5, base + 15, lowest_first_digit=0)

    # -- public API ----------------------------------------------------------

    def source_rows(self) -> Iterator[SourceRow]:
        """Legal entities, then customers (per system, parents before
        children), then contracts, then projects."""
        yield from self.legal_entity_rows()
        yield from self.customer_rows()
        yield from self.contract_rows()
        yield from self.project_rows()

    def legal_entity_rows(self) -> Iterator[SourceRow]:
        for i, (code, (name, country, currency, _city)) in enumerate(LEGAL_ENTITIES.items()):
            data = {
                "company_code": code,
                "company_name": name,
                "country_code": country,
                "base_currency": currency,
                "tax_registration": fixed_tax_id(country, i),
            }
            yield _fit(SourceRow(ERP, LEGAL_ENTITY, code, data, f"LE-{code}", None))

    def customer_rows(self) -> Iterator[SourceRow]:
        for row, _co in self._customer_pass():
            yield row

    def _customer_pass(self) -> Iterator[tuple[SourceRow, _Co]]:
        drng = random.Random(self._detail_seed)
        domains: dict[str, str] = {}  # web domain -> owning company or group
        for group in self._groups():
            for co in group:
                self._detail(co, drng, domains)
            for co in group:
                for row in self._customer_records(co, drng):
                    yield _fit(row), co

    def contract_rows(self) -> Iterator[SourceRow]:
        crng = random.Random(self._contract_seed)
        state = {"seq": 0, "crm": 0}
        for group in self._groups():
            for co in group:
                for k in self._contracts_for(co, crng, state):
                    for row in self._contract_records(co, k):
                        yield _fit(row)

    def project_rows(self) -> Iterator[SourceRow]:
        crng = random.Random(self._contract_seed)
        prng = random.Random(self._project_seed)
        state = {"seq": 0, "crm": 0}
        pseq = 0
        for group in self._groups():
            for co in group:
                contracts = self._contracts_for(co, crng, state)
                if co.psa_id:
                    for row in self._projects_for(co, contracts, prng, pseq):
                        pseq += 1
                        yield _fit(row)

    def truth_pairs(self, entity_type: str = CUSTOMER) -> Iterator[tuple[tuple[str, str], tuple[str, str]]]:
        """Pairs of ``(system, source_id)`` that describe the same real-world thing."""
        if entity_type == CUSTOMER:
            for group in self._groups():
                for co in group:
                    yield from itertools.combinations(co.keys(), 2)
        elif entity_type == CONTRACT:
            crng = random.Random(self._contract_seed)
            state = {"seq": 0, "crm": 0}
            for group in self._groups():
                for co in group:
                    for k in self._contracts_for(co, crng, state):
                        if k.crm_id and k.erp_customer:
                            yield (CRM, k.crm_id), (ERP, k.number)
        elif entity_type in (LEGAL_ENTITY, PROJECT):
            return  # one system each, no duplicates
        else:
            raise ValueError(f"unknown entity type {entity_type!r}")

    def companies(self) -> Iterator[dict]:
        """The real-world companies (ground truth), one dict each."""
        for group in self._groups():
            for co in group:
                yield {
                    "truth_id": co.truth_id,
                    "group_id": co.group_id,
                    "parent_truth_id": co.parent.truth_id if co.parent else None,
                    "role": co.role,
                    "country": co.country,
                    "legal_name": _join_form(co.stem, co.forms[0]),
                    "trading_name": co.trading,
                    "records": co.keys(),
                }

    def estimated_rows(self) -> int:
        """Rough total of ``source_rows()`` (for progress bars)."""
        return int(self.n_customers * 4.3) + len(LEGAL_ENTITIES)

    # -- core stream -----------------------------------------------------------

    def _groups(self) -> Iterator[list[_Co]]:
        """Units of companies: a standalone company or a whole corporate group
        (head first, then subsidiaries, then divisions)."""
        rng = random.Random(self._core_seed)
        n = self.n_customers
        idx = 0
        gnum = 0
        counters = [0, 0, 0]  # crm, erp, psa
        # Names in use per country: distinct companies get distinct names
        # (registries insist), so a crowded name space gets qualifiers instead;
        # and an invented word belongs to one company or group per country.
        # The only state kept across units: ~100 bytes per company.
        used = _Names(self._core_seed)
        rand = rng.random
        while idx < n:
            if rand() < self.group_unit_rate and n - idx >= 2:
                gnum += 1
                size = min(_GROUP_SIZE.pick(rng), n - idx)
                group = self._make_group(rng, idx, size, f"G{gnum:06d}", counters, used)
            else:
                group = [self._make_company(rng, idx, None, "standalone", None, counters, used=used)]
            idx += len(group)
            yield group

    def _make_company(self, rng, idx, group_id, role, parent, counters, country=None, naming=None, used=None) -> _Co:
        co = _Co()
        co.idx = idx
        co.truth_id = f"TC{idx + 1:07d}"
        co.group_id = group_id
        co.role = role
        co.parent = parent
        co.country = country = country or _COUNTRY.pick(rng)
        city = _CITY[country].pick(rng)
        co.city = city
        lang = D.COUNTRIES[country][2]
        if lang == "fr/nl":
            lang = "nl" if city[5] == "nl" or (city[5] == "bi" and rng.random() < 0.4) else "fr"
        co.lang = lang
        forms = _FORMS[country].pick(rng)
        co.forms = forms
        co.tier = _TIER.pick(rng) if role in ("standalone", "division") else max(2, _TIER.pick(rng))
        co.currency = D.COUNTRIES[country][1]
        co.tag_country = ""
        if naming is None:
            co.industry = _INDUSTRY.pick(rng)
            base, brand, _coined = self._unique_name(rng, country, lang, co.industry, used, city[0])
            co.base, co.brand = base, brand
            co.stem = base
            co.trading = self._trading_name(used, country, base, brand,
                                            brand != base and len(brand) >= 4 and rng.random() < 0.25)
        else:
            naming(co, rng)
        # systems
        in_crm, in_erp, in_psa = _MEMBERSHIP.pick(rng)
        if role == "hq" and rng.random() < 0.5:
            in_crm, in_erp = 1, 1
        co.crm_ids = []
        co.erp_ids = []
        co.psa_id = ""
        if in_crm:
            co.crm_ids.append(self._crm_account_ids(counters[0]))
            counters[0] += 1
            if rng.random() < self.crm_duplicate_rate:
                co.crm_ids.append(self._crm_account_ids(counters[0]))
                counters[0] += 1
        if in_erp:
            co.erp_ids.append(self._erp_ids(counters[1]))
            counters[1] += 1
            if rng.random() < self.erp_duplicate_rate:
                co.erp_ids.append(self._erp_ids(counters[1]))
                counters[1] += 1
        if in_psa:
            co.psa_id = self._psa_ids(counters[2])
            counters[2] += 1
        # commercial state
        if in_erp:
            co.status = _ERP_STATUS.pick(rng)
            co.n_contracts = _N_CONTRACTS_ERP.pick(rng)
            if co.status != "active" and co.n_contracts > 1:
                co.n_contracts = 1
        elif in_crm:
            co.status = _CRM_ONLY_STATUS.pick(rng)
            r = rng.random()
            if co.status == "prospect":
                co.n_contracts = 1 if r < 0.12 else 0
            elif co.status == "active":
                co.n_contracts = 0 if r < 0.4 else (1 if r < 0.85 else 2)
            else:
                co.n_contracts = 1 if r < 0.35 else 0
        else:
            co.status = "active" if rng.random() < 0.85 else "inactive"
            co.n_contracts = 0
        return co

    @staticmethod
    def _make_name(rng, country, lang, industry) -> tuple[str, str, str]:
        """A company name without legal form, its short brand, and the word
        the name was coined from ("" unless the name is an invented word)."""
        words = D.INDUSTRIES[industry][2]
        ind_lang = "en" if (lang == "en" or rng.random() < 0.3) else lang
        iw = _choice(rng, words[ind_lang])
        r = rng.random()
        sur_lang = lang
        if r < 0.2:  # Blue Harbour Logistics
            if lang != "en" and rng.random() < 0.4:
                bw = _choice(rng, D.BRAND_WORDS_LOCAL[lang])
            else:
                bw = _choice(rng, D.BRAND_WORDS_EN)
                if rng.random() < 0.3:
                    bw2 = _choice(rng, D.BRAND_WORDS_EN)
                    if bw2 != bw:
                        # a two-word brand is distinctive enough to be used alone
                        return f"{bw} {bw2} {iw}", f"{bw} {bw2}", ""
            return f"{bw} {iw}", f"{bw} {iw}", ""  # "Blue" alone is no name
        if r < 0.4:  # Hargreaves Engineering / Transports Dubois
            sn = _choice(rng, D.SURNAMES[sur_lang])
            first = ind_lang == lang and rng.random() < D.INDUSTRY_FIRST[lang]
            name = f"{iw} {sn}" if first else f"{sn} {iw}"
            return name, (sn if rng.random() < 0.3 else name), ""
        if r < 0.48:  # Clarke & Webb (Partners)
            a, b = _choice(rng, D.SURNAMES[sur_lang]), _choice(rng, D.SURNAMES[sur_lang])
            if a == b:
                b = _choice(rng, D.SURNAMES[sur_lang])
            amp = " & " if rng.random() < 0.8 else (" and " if lang == "en" else " + ")
            brand = f"{a}{amp}{b}"
            if rng.random() < 0.35:
                return f"{brand} {iw}", brand, ""
            return brand, brand, ""
        if r < 0.86:  # Zentrova Analytics
            cw = (_choice(rng, D.COINED_HEADS) + _choice(rng, D.COINED_MIDS) + _choice(rng, D.COINED_TAILS)).capitalize()
            if rng.random() < 0.2:
                return cw, cw, cw
            return f"{cw} {iw}", cw, cw
        if r < 0.94:  # Thames Valley Foods / Rhein Energie
            places = D.PLACE_WORDS.get(country) or D.BRAND_WORDS_LOCAL.get(lang) or D.BRAND_WORDS_EN
            pw = _choice(rng, places)
            return f"{pw} {iw}", f"{pw} {iw}", ""
        letters = D.ACRONYM_LETTERS
        acro = "".join(_choice(rng, letters) for _ in range(_choice(rng, (2, 3, 3, 4))))
        return f"{acro} {iw}", acro, ""

    def _unique_name(self, rng, country, lang, industry, used: "_Names", city_name,
                     everywhere: bool = False) -> tuple[str, str, str]:
        """(base name, brand, invented word or "") for a new company (or, with
        ``everywhere``, a corporate group that will have companies abroad).

        The name is one no other company of the country is registered under,
        as registries compare names (``_name_key``: "Björk & Larsson" is
        "Björk + Larsson").  An invented word is a brand, owned like a trade
        mark: a second company does not coin the word another already trades
        under in its country (a group's, in any country), it coins another
        (``_Names.coin``); without that, a million companies drawn from the
        word parts would share each word a dozen times, two or three of them
        trading under it in the same city."""
        for _ in range(6):
            base, brand, coined = self._make_name(rng, country, lang, industry)
            if coined and not used.word_free(country, coined, everywhere):
                fresh = used.coin(country, everywhere)
                base, brand, coined = fresh + base[len(coined):], fresh, fresh
            if used.claim_name(country, base):
                if coined:
                    used.take_word(country, coined, everywhere)
                return base, brand, coined
        # a crowded name: qualify it as real companies do ("Smith Engineering (Leeds)")
        r = rng.random()
        if country == "GB" and r < 0.5:
            qualified = f"{base} ({city_name})"
        elif r < 0.7:
            qualified = f"{base} {city_name}"
        elif lang == "en":
            qualified = f"{base} & {'Sons' if r < 0.85 else 'Co'}"
        else:
            qualified = f"{_choice(rng, D.ACRONYM_LETTERS)}. {base}"
        n = 2
        candidate = qualified
        while not used.claim_name(country, candidate):
            candidate = f"{qualified} {n}"
            n += 1
        if coined:
            used.take_word(country, coined, everywhere)
        # The company trades under its qualified name: the plain one is
        # another company's.
        return candidate, (candidate if brand == base else brand), coined

    @staticmethod
    def _trading_name(used: "_Names", country: str, base: str, brand: str, wanted: bool) -> str:
        """The name a company trades under: its short brand when ``wanted``,
        unless another company of the country is registered or trades under
        it (business names are registered too, and passing off is
        actionable), else its name."""
        if wanted and used.claim_name(country, brand):
            return brand
        return base

    def _make_group(self, rng, idx, size, gid, counters, used) -> list[_Co]:
        """A head company plus subsidiaries abroad and divisions, sharing a name."""
        hq_country = _HQ_COUNTRY.pick(rng)
        lang0 = D.COUNTRIES[hq_country][2]
        lang0 = "fr" if lang0 == "fr/nl" else lang0
        industry = _INDUSTRY.pick(rng)
        base, brand, _coined = self._unique_name(rng, hq_country, lang0, industry, used, "International",
                                                 everywhere=True)
        holding = _choice(rng, D.HOLDING_WORDS[lang0]) if rng.random() < 0.45 else ""

        def name_hq(co, r):
            co.industry = industry
            co.base, co.brand = base, brand
            co.stem = f"{base} {holding}" if holding else base
            co.trading = self._trading_name(used, hq_country, base, brand,
                                            brand != base and len(brand) >= 4 and r.random() < 0.2)

        hq = self._make_company(rng, idx, gid, "hq", None, counters, country=hq_country, naming=name_hq)
        group = [hq]
        used_countries = {hq_country}
        sisters: list[_Co] = []
        division_words = list(D.DIVISION_WORDS)
        rng.shuffle(division_words)
        for k in range(1, size):
            r = rng.random()
            if r < 0.55 and len(used_countries) < len(D.COUNTRY_CODES):
                # a sister company abroad
                country = _COUNTRY.pick(rng)
                while country in used_countries:
                    country = _COUNTRY.pick(rng)
                used_countries.add(country)
                # Where a local company already has the group's name, the
                # subsidiary registers and trades with the country in it.
                taken_here = not used.name_free(country, base)
                with_country = rng.random() < 0.35 or taken_here
                cword = _choice(rng, D.SUBSIDIARY_COUNTRY_WORD[country])
                local = f"{base} {cword}"
                n = 2
                while taken_here and not used.name_free(country, local):  # another group's subsidiary
                    local = f"{base} {cword} {n}"
                    n += 1
                if not taken_here:
                    used.take_name(country, base)
                used.take_name(country, local)

                def name_sister(co, r2, local=local, with_country=with_country, taken_here=taken_here):
                    co.industry = industry
                    co.base, co.brand = base, brand
                    co.stem = local if with_country else base
                    co.trading = base if r2.random() < 0.7 and not taken_here else local
                    co.tag_country = co.country

                co = self._make_company(rng, idx + k, gid, "subsidiary", hq, counters, country=country, naming=name_sister)
                sisters.append(co)
            else:
                # a division at home, or in a subsidiary's country
                parent = hq if (not sisters or r < 0.85) else _choice(rng, sisters)
                word = division_words.pop() if division_words else f"Unit {k}"

                def name_division(co, r2, word=word):
                    co.industry = industry
                    co.base, co.brand = base, brand
                    co.stem = f"{base} {word}"
                    used.take_name(co.country, co.stem)
                    # "Ryan Energy", the division of Ryan Motors, unless a
                    # company of that name is there already
                    co.trading = self._trading_name(used, co.country, co.stem, f"{brand} {word}",
                                                    r2.random() >= 0.8 and brand != base)
                    co.tag_country = co.country if co.country != hq_country else ""

                co = self._make_company(rng, idx + k, gid, "division", parent, counters, country=parent.country, naming=name_division)
            group.append(co)
        return group

    # -- detail stream ----------------------------------------------------------

    def _detail(self, co: _Co, rng: random.Random, domains: dict[str, str]) -> None:
        country = co.country
        parent = co.parent
        city = co.city
        vat, reg = make_tax_and_registration(country, rng, co.forms[0], city[5])
        co.vat, co.reg = vat, reg
        big = co.role == "hq" or co.tier == 3
        co.lei = make_lei(rng) if rng.random() < (0.45 if big else 0.07) else ""
        co.duns = make_duns(rng) if rng.random() < (0.5 if big else 0.22) else ""
        co.terms = _PAYMENT_TERMS.pick(rng)
        co.le = _LE[country].pick(rng)
        if rng.random() < 0.04:
            co.currency = _choice(rng, ("EUR", "USD", "GBP"))
        # address (a division often sits in its parent's building)
        if parent is not None and co.role == "division" and rng.random() < 0.6:
            co.city, co.street, co.num, co.postcode, co.city_name = parent.city, parent.street, parent.num, parent.postcode, parent.city_name
            co.unit = parent.unit if rng.random() < 0.6 else self._unit(country, rng)
            co.phone = parent.phone if rng.random() < 0.5 else self._phone(country, co.city, rng)
        else:
            self._address(co, rng)
            co.phone = self._phone(country, co.city, rng)
        # web domain: one owner per domain (a company, or a whole group whose
        # members often share it)
        owner = co.group_id or co.truth_id
        if parent is None:
            if co.role == "hq":
                tld = ".com" if rng.random() < 0.65 else _TLDS[country].pick(rng)
            else:
                tld = _TLDS[country].pick(rng)
            slug = _slug(co.base, rng)
            candidates = [f"{slug}{tld}", f"{slug}-{country.lower()}{tld}", f"{slug}group{tld}"]
            if co.brand != co.base and rng.random() < 0.5:
                candidates.insert(0, _slug(co.brand, rng) + tld)
            for domain in candidates:
                if domains.setdefault(domain, owner) == owner:
                    break
            else:
                n = 2
                while domains.setdefault(domain := f"{slug}{n}{tld}", owner) != owner:
                    n += 1
            co.domain = domain
        else:
            r = rng.random()
            root = parent.domain
            candidate = root
            if co.role == "subsidiary":
                if 0.5 <= r < 0.9:
                    candidate = root.split(".", 1)[0] + _LOCAL_TLD[country]
                elif r >= 0.9:
                    candidate = _slug(co.stem, rng) + _LOCAL_TLD[country]
            elif r >= 0.65:
                candidate = _slug(co.stem, rng) + _TLDS[country].pick(rng)
            co.domain = candidate if domains.setdefault(candidate, owner) == owner else root
        lang = co.lang if co.lang in _AP_MAILBOX else "en"
        if parent is not None and rng.random() < 0.25:
            co.mailbox = parent.mailbox.split("@", 1)[0] + "@" + co.domain
        else:
            co.mailbox = _choice(rng, _AP_MAILBOX[lang]) + "@" + co.domain
        co.owner = _choice(rng, _ACCOUNT_OWNERS)

    @staticmethod
    def _unit(country: str, rng: random.Random):
        r = rng.random()
        if country in ("GB", "IE"):
            if r < 0.25:
                return ("building", _choice(rng, D.BUILDING_NAMES))
            if r < 0.45:
                return ("floor", _randrange(rng, 1, 25))
            if r < 0.55:
                return ("unit", _randrange(rng, 1, 40))
            return None
        if country == "US":
            return ("suite", _randrange(rng, 1, 60) * 100 + _choice(rng, (0, 0, 10, 50))) if r < 0.6 else None
        if country in ("NL", "SE", "DE"):
            return ("letter", _choice(rng, "ABCD")) if r < 0.12 else None
        if country == "BE":
            return ("box", _randrange(rng, 1, 30)) if r < 0.3 else None
        if country == "ES":
            return ("floor", _randrange(rng, 1, 12)) if r < 0.5 else None
        if country == "FR":
            return ("bis", "bis") if r < 0.06 else None
        return None

    def _address(self, co: _Co, rng: random.Random) -> None:
        country = co.country
        city = co.city
        if country == "BE":
            lang = city[5]
            if lang == "nl":
                street = _choice(rng, D.BE_STREETS_NL)
            elif lang == "fr":
                street = _choice(rng, D.BE_STREETS_FR[7:])
            else:
                street = _choice(rng, list(D.BE_BILINGUAL))
        else:
            specific = _CITY_STREETS[country].get(city[0])
            if specific and rng.random() < 0.7:
                street = _choice(rng, specific)
            else:
                street = _choice(rng, D.GENERIC_STREETS[country])
        co.street = street
        co.num = _randrange(rng, 1, 60) if rng.random() < 0.7 else _randrange(rng, 60, 400)
        co.unit = self._unit(country, rng)
        spec = city[3]
        if country == "GB":
            co.postcode = f"{_choice(rng, spec)} {_randrange(rng, 1, 10)}{_choice(rng, _GB_INWARD)}{_choice(rng, _GB_INWARD)}"
        elif country == "IE":
            co.postcode = f"{_choice(rng, spec)} " + "".join(_choice(rng, _EIRCODE_CHARS) for _ in range(4))
        elif country == "NL":
            lo, hi = spec[0]
            co.postcode = f"{_randrange(rng, lo, hi + 1)} {_choice(rng, _NL_LETTERS)}{_choice(rng, _NL_LETTERS)}"
        elif country == "SE":
            lo, hi = spec[0]
            n = f"{_randrange(rng, lo, hi + 1):05d}"
            co.postcode = f"{n[:3]} {n[3:]}"
        else:
            lo, hi = _choice(rng, spec)
            width = 4 if country == "BE" else 5
            co.postcode = f"{_randrange(rng, lo, hi + 1):0{width}d}"
        co.city_name = city[0]

    @staticmethod
    def _phone(country: str, city, rng: random.Random) -> tuple[str, str]:
        """(area code, subscriber number) without trunk prefix."""
        area = city[4]
        if isinstance(area, tuple):
            area = _choice(rng, area)
        if country == "GB":
            n = 10 - len(area)
        elif country == "IE":
            n = 7
        elif country == "DE":
            n = 8 if len(area) == 2 else 7
        elif country == "FR":
            n = 8
        elif country == "NL":
            n = 7
        elif country == "US":
            n = 7
        elif country == "ES":
            n = 9 - len(area)
        elif country == "IT":
            n = 8 if len(area) == 2 else 7
        elif country == "BE":
            n = 8 - len(area)
        else:  # SE
            n = 8 if area == "8" else 7
        first = str(_randrange(rng, 2, 10))
        if country == "GB" and area == "20":
            first = _choice(rng, "378")
        return area, first + str(_randrange(rng, 0, 10 ** (n - 1))).zfill(n - 1)

    # -- rendering helpers (detail stream) -----------------------------------------

    @staticmethod
    def _render_phone(country: str, phone: tuple[str, str], rng: random.Random, intl_share: float) -> str:
        area, sub = phone
        cc = _PHONE_CC[country]
        intl = rng.random() < intl_share
        v = rng.random()
        if country == "US":
            a, b = sub[:3], sub[3:]
            if intl:
                return (f"+1 {area} {a} {b}", f"+1 ({area}) {a}-{b}", f"+1{area}{a}{b}", f"+1-{area}-{a}-{b}")[int(v * 4)]
            return (f"({area}) {a}-{b}", f"{area}-{a}-{b}", f"{area}.{a}.{b}", f"1-{area}-{a}-{b}")[int(v * 4)]
        if country == "FR":
            pairs = " ".join(sub[i:i + 2] for i in range(0, 8, 2))
            if intl:
                return (f"+33 {area} {pairs}", f"+33 (0){area} {pairs}", f"+33{area}{sub}", f"0033 {area} {pairs}")[int(v * 4)]
            return (f"0{area} {pairs}", f"0{area}{sub}", f"0{area}." + pairs.replace(" ", "."), f"0{area} {pairs}")[int(v * 4)]
        if country == "ES":
            nsn = area + sub
            g3 = f"{nsn[:3]} {nsn[3:6]} {nsn[6:]}"
            g2 = f"{nsn[:2]} {nsn[2:5]} {nsn[5:7]} {nsn[7:]}"
            if intl:
                return (f"+34 {g3}", f"+34 {g2}", f"+34{nsn}", f"0034 {g3}")[int(v * 4)]
            return (g3, g2, nsn, g3)[int(v * 4)]
        if country == "IT":  # the trunk 0 stays in international numbers
            grouped = f"{area} {sub[:4]} {sub[4:]}"
            if intl:
                return (f"+39 {grouped}", f"+39 {area}{sub}", f"+39{area}{sub}", f"0039 {area} {sub}")[int(v * 4)]
            return (grouped, f"{area}-{sub}", f"{area} {sub}", f"{area}/{sub}")[int(v * 4)]
        # trunk-prefix countries: national "0" + area; international +cc area
        if country == "GB":
            grouped = f"{sub[:4]} {sub[4:]}" if len(sub) == 8 else (f"{sub[:3]} {sub[3:]}" if len(sub) == 7 else sub)
        elif country == "BE":
            grouped = f"{sub[:3]} {sub[3:5]} {sub[5:]}" if len(sub) == 7 else f"{sub[:2]} {sub[2:4]} {sub[4:]}"
        elif country == "SE":
            grouped = f"{sub[:3]} {sub[3:6]} {sub[6:]}" if len(sub) == 8 else f"{sub[:3]} {sub[3:5]} {sub[5:]}"
        elif country == "DE":
            grouped = sub if v < 0.5 else (f"{sub[:4]} {sub[4:]}" if len(sub) == 8 else f"{sub[:3]} {sub[3:]}")
        else:  # NL, IE
            grouped = f"{sub[:3]} {sub[3:]}"
        if intl:
            return (f"+{cc} {area} {grouped}", f"+{cc} (0){area} {grouped}", f"+{cc}{area}{sub}", f"00{cc} {area} {grouped}")[int(v * 4)]
        sep = "-" if country in ("SE", "NL", "DE") and v < 0.5 else " "
        if country == "BE" and v < 0.3:
            return f"0{area}/{grouped.replace(' ', '.')}"
        if country in ("DE", "IE") and v > 0.8:
            return f"(0{area}) {grouped}"
        return f"0{area}{sep}{grouped}"

    @staticmethod
    def _render_website(domain: str, rng: random.Random) -> str:
        v = rng.random()
        if v < 0.3:
            return f"https://www.{domain}"
        if v < 0.55:
            return f"www.{domain}"
        if v < 0.67:
            return domain
        if v < 0.77:
            return f"http://www.{domain}"
        if v < 0.85:
            return f"https://{domain}/"
        if v < 0.92:
            return f"https://www.{domain}/"
        if v < 0.97:
            return f"http://{domain}"
        return f"https://www.{domain}/en/"

    @staticmethod
    def _render_street(co: _Co, rng: random.Random, abbrev: float) -> str:
        country = co.country
        variants = D.STREET_VARIANTS[country][co.street]
        if country == "BE" and co.street in D.BE_BILINGUAL:
            r = rng.random()
            name = variants[0] if r < 0.45 else (variants[-1] if r < 0.75 else (variants[-2] if r < 0.9 else _choice(rng, variants)))
        elif len(variants) > 1 and rng.random() < abbrev:
            name = variants[_randrange(rng, 1, len(variants))]
        else:
            name = variants[0]
        num = co.num
        unit = co.unit
        if country in ("GB", "IE"):
            line = f"{num} {name}"
            if unit:
                kind, val = unit
                if kind == "building":
                    line = f"{val}, {line}" if rng.random() < 0.8 else f"{val} {line}"
                elif kind == "floor":
                    line = (f"Floor {val}, {line}" if rng.random() < 0.5 else f"{_ordinal(val)} Floor, {line}")
                elif kind == "unit":
                    line = f"Unit {val}, {line}" if rng.random() < 0.7 else f"Unit {val} {line}"
            elif rng.random() < 0.08:
                line = f"{num}, {name}"
            return line
        if country == "US":
            line = f"{num} {name}"
            if unit:
                v = rng.random()
                s = unit[1]
                line += (f", Suite {s}", f" Suite {s}", f" Ste {s}", f" #{s}", f", Ste. {s}")[int(v * 5)]
            return line
        if country == "FR":
            if name[0].islower() and rng.random() < 0.35:
                name = name[0].upper() + name[1:]
            n = f"{num} bis" if unit else str(num)
            return f"{n}, {name}" if rng.random() < 0.25 else f"{n} {name}"
        if country == "ES":
            v = rng.random()
            line = f"{name}, {num}" if v < 0.6 else (f"{name} {num}" if v < 0.85 else f"{name} nº {num}")
            if unit:
                f = unit[1]
                w = rng.random()
                line += (f", {f}º" if w < 0.5 else (f", planta {f}" if w < 0.8 else f" {f}ª planta"))
            return line
        if country == "IT":
            v = rng.random()
            return f"{name}, {num}" if v < 0.6 else (f"{name} {num}" if v < 0.9 else f"{name} n. {num}")
        if country == "BE":
            line = f"{name} {num}"
            if unit:
                b = unit[1]
                v = rng.random()
                line += (f" bte {b}" if v < 0.3 else (f" bus {b}" if v < 0.6 else (f"/{b}" if v < 0.85 else f" box {b}")))
            return line
        # DE, NL, SE: street then number
        if unit:
            letter = unit[1]
            v = rng.random()
            suffix = (letter, f" {letter}", f"-{letter}", letter.lower())[int(v * 4)]
            return f"{name} {num}{suffix}"
        return f"{name} {num}"

    @staticmethod
    def _render_postcode(co: _Co, rng: random.Random, sloppy: float) -> str:
        pc = co.postcode
        country = co.country
        if rng.random() >= sloppy:
            return pc
        v = rng.random()
        if country in ("GB", "IE", "NL", "SE"):
            if v < 0.7:
                return pc.replace(" ", "")
            if country == "SE" and v < 0.85:
                return f"SE-{pc}"
            return pc.lower()
        if country in ("DE", "IT", "BE", "FR", "ES", "US"):
            if pc[0] == "0" and v < 0.6:
                return pc.lstrip("0")  # a spreadsheet ate the leading zero
            if country == "US" and v < 0.8:
                return f"{pc}-{_randrange(rng, 1, 9999):04d}"
            return f"{ {'DE': 'D', 'IT': 'I', 'BE': 'B', 'FR': 'F', 'ES': 'E', 'US': 'US'}[country] }-{pc}".replace(" ", "")
        return pc

    @staticmethod
    def _render_city(co: _Co, rng: random.Random, alt: float, upper: float) -> str:
        name = co.city_name
        city = co.city
        v = rng.random()
        if city[1] and v < alt:
            name = _choice(rng, city[1])
        elif co.country == "IE" and name == "Dublin" and v < alt + 0.25:
            rk = co.postcode[:3]
            name = "Dublin " + (rk[1:].lstrip("0") if rk[0] == "D" else "")
        elif co.country == "FR" and city[5] == "cedex" and v < alt + 0.08:
            dep = co.postcode[-2:] if co.postcode.startswith("75") else ""
            name = f"{name} Cedex {dep}".rstrip()
        if rng.random() < upper:
            name = name.upper()
        return name

    def _legal_variant(self, co: _Co, rng: random.Random, p_canonical: float, p_none: float) -> str:
        forms = co.forms
        v = rng.random()
        if v < p_canonical:
            form = forms[0]
        elif v < p_canonical + p_none:
            form = ""
        else:
            form = forms[_randrange(rng, 1, len(forms))]
        return _join_form(co.stem, form)

    def _tax_value(self, co: _Co, rng: random.Random, style_cum: tuple[float, float, float]) -> str:
        vat = co.vat
        if rng.random() < INVALID_TAX_ID_RATE:
            vat = corrupt_tax_id(vat, co.country, rng)
        v = rng.random()
        style = 0 if v < style_cum[0] else (1 if v < style_cum[1] else (2 if v < style_cum[2] else 3))
        return format_tax_id(vat, co.country, style)

    # -- customer records --------------------------------------------------------

    def _customer_records(self, co: _Co, rng: random.Random) -> Iterator[SourceRow]:
        parent = co.parent
        truth, gid = co.truth_id, co.group_id
        country = co.country
        rand = rng.random
        for n, crm_id in enumerate(co.crm_ids):
            dup = n > 0
            if rand() < (0.6 if not dup else 0.5):
                name = co.trading
            else:
                name = self._legal_variant(co, rng, 0.35, 0.12)
            if rand() < (0.05 if not dup else 0.15):
                name = _typo(name, rng)
            v = rand()
            if v < 0.02:
                name = name.upper()
            elif v < 0.03:
                name = name.lower()
            parent_id = ""
            if parent is not None and parent.crm_ids and not dup and rand() < 0.8:
                parent_id = parent.crm_ids[0]
            has_street = rand() < (0.92 if not dup else 0.65)
            data = {
                "Id": crm_id,
                "AccountName": name,
                "LegalName": self._legal_variant(co, rng, 0.5, 0.05) if rand() < (0.45 if not dup else 0.15) else "",
                "VATNumber": self._tax_value(co, rng, (0.45, 0.7, 0.95)) if rand() < (0.55 if not dup else 0.25) else "",
                "CompanyRegNo": format_registration(co.reg, country, int(rand() < 0.3)) if rand() < 0.25 else "",
                "Website": self._render_website(co.domain, rng) if rand() < (0.88 if not dup else 0.7) else "",
                "Phone": self._render_phone(country, co.phone, rng, 0.5) if rand() < (0.85 if not dup else 0.6) else "",
                "BillingStreet": self._render_street(co, rng, 0.45) if has_street else "",
                "BillingCity": self._render_city(co, rng, 0.25, 0.04) if (has_street or rand() < 0.5) else "",
                "BillingPostalCode": (self._render_postcode(co, rng, 0.12)
                                      if has_street and not (country == "IE" and rand() < 0.25) else ""),
                "BillingCountry": country if rand() < 0.7 else D.COUNTRY_NAMES[country],
                "CurrencyIsoCode": co.currency,
                "Industry": D.INDUSTRIES[co.industry][0] if rand() < 0.9 else "",
                "OwnerName": co.owner if not dup else _choice(rng, _ACCOUNT_OWNERS),
                "ParentId": parent_id,
                "AccountStatus": STATUS_SPELLINGS[CRM][CUSTOMER][co.status if not dup or co.status != "active" else "prospect"],
            }
            yield SourceRow(CRM, CUSTOMER, crm_id, data, truth, gid)
        for n, erp_id in enumerate(co.erp_ids):
            dup = n > 0
            name = self._legal_variant(co, rng, 0.55, 0.04)
            if rand() < 0.03:
                name = _typo(name, rng)
            if rand() < 0.3:
                name = _fold(name, country, rng)
            if rand() < 0.25:
                name = name.upper()
            if len(name) > 40:
                name = name[:40].rstrip()
            parent_no = ""
            if parent is not None and parent.erp_ids and not dup and rand() < 0.7:
                parent_no = parent.erp_ids[0]
            if dup and rand() < 0.6:
                # a second bill-to address in the same city
                saved = co.street, co.num, co.unit, co.postcode, co.city_name
                self._address(co, rng)
                street = self._render_street(co, rng, 0.3)
                postcode = self._render_postcode(co, rng, 0.05)
                co.street, co.num, co.unit, co.postcode, co.city_name = saved
            else:
                street = self._render_street(co, rng, 0.3)
                postcode = self._render_postcode(co, rng, 0.05)
            upper = rand() < 0.2
            if upper:
                street = street.upper()
            if rand() < 0.25:
                street = _fold(street, country, rng)
            vat_present = rand() < (0.93 if country != "US" else 0.75)
            data = {
                "customer_no": erp_id,
                "customer_name": name,
                "vat_id": self._tax_value(co, rng, (0.7, 0.85, 0.95)) if vat_present else "",
                "reg_no": format_registration(co.reg, country, int(rand() < 0.2)) if rand() < 0.65 else "",
                "lei": co.lei if co.lei and rand() < 0.9 else "",
                "duns": co.duns if co.duns and rand() < 0.9 else "",
                "street": street,
                "city": self._render_city(co, rng, 0.05, 0.1 if not upper else 1.0),
                "zip": postcode,
                "country_code": country,
                "currency": co.currency,
                "payment_terms": co.terms,
                "email": co.mailbox if rand() < 0.85 else "",
                "phone": self._render_phone(country, co.phone, rng, 0.6) if rand() < 0.8 else "",
                "parent_customer_no": parent_no,
                "company_code": co.le,
                "status": STATUS_SPELLINGS[ERP][CUSTOMER][co.status if co.status in ("active", "blocked", "inactive") else "active"],
            }
            yield SourceRow(ERP, CUSTOMER, erp_id, data, truth, gid)
        if co.psa_id:
            v = rand()
            if co.group_id and co.tag_country and v < 0.6:
                tag = _choice(rng, D.PSA_COUNTRY_TAG[co.tag_country])
                w = rand()
                name = f"{co.trading} ({tag})" if w < 0.5 else (f"{co.trading} - {tag}" if w < 0.8 else f"{co.trading} {tag}")
            elif v < 0.8:
                name = co.trading
            else:
                name = self._legal_variant(co, rng, 0.3, 0.2)
            if rand() < 0.05:
                name = _typo(name, rng)
            data = {
                "client_id": co.psa_id,
                "client_name": name,
                "website": self._render_website(co.domain, rng) if rand() < 0.55 else "",
                "country": D.COUNTRY_NAMES[country] if rand() < 0.75 else country,
                "city": self._render_city(co, rng, 0.5, 0.0),
                "industry": D.INDUSTRIES[co.industry][1],
                "status": STATUS_SPELLINGS[PSA][CUSTOMER][co.status],
            }
            yield SourceRow(PSA, CUSTOMER, co.psa_id, data, truth, gid)

    # -- contracts ----------------------------------------------------------------

    def _contracts_for(self, co: _Co, rng: random.Random, state: dict) -> list[_Contract]:
        """All of a company's contracts; every random draw happens here so the
        contract and project passes see identical contracts."""
        out: list[_Contract] = []
        rand = rng.random
        for _ in range(co.n_contracts):
            k = _Contract()
            state["seq"] += 1
            model = _BILLING.pick(rng)
            if co.status == "prospect":
                start = AS_OF + timedelta(days=_randrange(rng, 20, 200))
            elif co.status == "inactive":
                start = date(2019, 1, 1) + timedelta(days=_randrange(rng, 0, 1500))
            else:
                start = date(2020, 1, 1) + timedelta(days=int(2300 * rand() ** 0.6))
            if rand() < 0.5:
                start = start.replace(day=1)
            months = _choice(rng, _DURATION[model])
            end = _add_months(start, months) - timedelta(days=1)
            if model == "retainer" and rand() < 0.25:
                end = None
            if start > AS_OF:
                status = "draft"
            elif end is not None and end < AS_OF:
                status = "expired" if rand() < 0.93 else "terminated"
            else:
                status = "active" if rand() < 0.96 else "terminated"
            k.number = f"CT-{start.year}-{state['seq']:06d}"
            k.model, k.start, k.end, k.status = model, start, end, status
            k.le = le = _LE[co.country].pick(rng)
            k.currency = LEGAL_ENTITIES[le][2] if rand() < 0.95 else co.currency
            k.terms = _PAYMENT_TERMS.pick(rng)
            scale = (1.0, 2.5, 6.0)[co.tier - 1]
            if model == "retainer":
                value = _randrange(rng, 5, 60) * 1000 * (months if months else 12)
            elif model == "fixed_fee":
                value = int(rng.lognormvariate(11.3, 0.8) * scale)
            elif model == "milestone":
                value = int(rng.lognormvariate(12.2, 0.7) * scale)
            else:
                value = int(rng.lognormvariate(11.9, 0.9) * scale)
            value = max(5000, round(value / 500) * 500)
            if k.currency == "SEK":
                value *= 10
            k.value = value
            k.erp_value = value if rand() < 0.92 else round(value * rng.uniform(1.05, 1.3) / 100) * 100
            service = _choice(rng, D.SERVICES)
            phase = _choice(rng, D.PHASES)
            sep = _choice(rng, (" – ", " - ", ": "))
            k.title = f"{co.trading}{sep}{service}{phase}"
            short = D.SERVICE_SHORT.get(service, service.upper()) if rand() < 0.3 else service
            erp_title = f"{short}{phase.replace(' – ', ' ')}"
            if rand() < 0.4:
                erp_title = f"{co.stem[:15].upper().strip()} {erp_title}"
            k.erp_title = erp_title[:40].rstrip()
            k.erp_start = start if rand() < 0.9 else start.replace(day=1)
            in_crm = bool(co.crm_ids) and (rand() < 0.92 or not co.erp_ids)
            in_erp = bool(co.erp_ids) and status != "draft" and (rand() < 0.9 or not in_crm)
            if not in_crm and not in_erp:
                in_crm = bool(co.crm_ids)
                in_erp = not in_crm
            if in_crm:
                k.crm_id = self._crm_contract_ids(state["crm"])
                state["crm"] += 1
                ids = co.crm_ids
                k.crm_account = ids[1] if len(ids) > 1 and rand() < 0.25 else ids[0]
                k.opportunity = self._crm_opportunity_ids(state["crm"]) if rand() < 0.85 else ""
                k.crm_amount_fmt = rand() < 0.7
            else:
                k.crm_id = k.crm_account = k.opportunity = ""
                k.crm_amount_fmt = True
            if in_erp:
                ids = co.erp_ids
                k.erp_customer = ids[1] if len(ids) > 1 and rand() < 0.3 else ids[0]
            else:
                k.erp_customer = ""
            out.append(k)
        return out

    def _contract_records(self, co: _Co, k: _Contract) -> Iterator[SourceRow]:
        if k.crm_id:
            data = {
                "Id": k.crm_id,
                "ContractNumber": k.number,
                "AccountId": k.crm_account,
                "LegalEntityCode": k.le,
                "Name": k.title,
                "BillingModel": BILLING_MODEL_SPELLINGS[CRM][k.model],
                "Amount": f"{k.value:.2f}" if k.crm_amount_fmt else str(k.value),
                "CurrencyIsoCode": k.currency,
                "StartDate": _iso(k.start),
                "EndDate": _iso(k.end),
                "Status": STATUS_SPELLINGS[CRM][CONTRACT][k.status],
                "OpportunityId": k.opportunity,
            }
            yield SourceRow(CRM, CONTRACT, k.crm_id, data, k.number, None)
        if k.erp_customer:
            data = {
                "contract_no": k.number,
                "customer_no": k.erp_customer,
                "company_code": k.le,
                "description": k.erp_title,
                "contract_value": f"{k.erp_value:.2f}",
                "currency": k.currency,
                "payment_terms": k.terms,
                "valid_from": _erp_date(k.erp_start),
                "valid_to": _erp_date(k.end),
                "status": STATUS_SPELLINGS[ERP][CONTRACT][k.status],
            }
            yield SourceRow(ERP, CONTRACT, k.number, data, k.number, None)

    # -- projects -------------------------------------------------------------------

    def _projects_for(self, co: _Co, contracts: list[_Contract], rng: random.Random, pseq: int) -> Iterator[SourceRow]:
        rand = rng.random
        plans: list[tuple[_Contract | None, int]] = []
        for k in contracts:
            n = _N_PROJECTS.pick(rng) if k.status != "draft" else (1 if rand() < 0.4 else 0)
            plans.extend((k, i) for i in range(n))
        if not contracts and rand() < 0.55:
            plans.append((None, 0))
        count = len(plans)
        for k, i in plans:
            if k is not None:
                le, model, currency = k.le, k.model, k.currency
                start = k.start + timedelta(days=_randrange(rng, 0, 30)) if i == 0 else k.start + timedelta(days=_randrange(rng, 30, 200))
                end = k.end
                if end is None:
                    end = _add_months(start, 12) - timedelta(days=1)
                elif end <= start:
                    end = start + timedelta(days=30)
                per = k.value / max(1, sum(1 for kk, _ in plans if kk is k))
                budget = max(1000, round(per * rng.uniform(0.5, 1.0) / 100) * 100)
                ref = k.number if rand() < 0.96 else ""
                if model == "retainer" and rand() < 0.1:
                    model = "time_and_materials"
                contract_status = k.status
            else:
                le = _LE[co.country].pick(rng)
                model = "time_and_materials"
                currency = LEGAL_ENTITIES[le][2]
                start = date(2022, 1, 1) + timedelta(days=_randrange(rng, 0, 1400))
                end = start + timedelta(days=_randrange(rng, 30, 240))
                budget = _randrange(rng, 5, 80) * 1000
                ref = ""
                contract_status = "active"
            if contract_status == "terminated":
                status = "cancelled"
            elif start > AS_OF:
                status = "planned"
            elif end < AS_OF:
                status = "completed" if rand() < 0.97 else "cancelled"
            else:
                status = "active" if rand() < 0.93 else "on_hold"
            pseq += 1
            code = f"PRJ-{start.year}-{pseq:05d}"
            service = _choice(rng, D.SERVICES)
            v = rand()
            short = co.brand if len(co.brand) <= 14 else co.brand[:14].rstrip()
            if v < 0.45:
                name = f"{short} – {service}"
            elif v < 0.7:
                name = f"{service} ({short})"
            elif v < 0.85:
                name = f"{short.upper()} {service}"
            else:
                name = service + (f" {i + 1}" if count > 1 else "")
            budget_s = str(budget) if rand() < 0.6 else f"{budget:.2f}"
            data = {
                "project_code": code,
                "project_name": name,
                "client_id": co.psa_id,
                "contract_ref": ref,
                "entity_code": le,
                "manager": _choice(rng, _PROJECT_MANAGERS),
                "billing_type": BILLING_MODEL_SPELLINGS[PSA][model],
                "budget": budget_s,
                "currency": currency,
                "start": _psa_date(start),
                "end": _psa_date(end),
                "status": STATUS_SPELLINGS[PSA][PROJECT][status],
            }
            yield SourceRow(PSA, PROJECT, code, data, code, None)


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"



# ---------------------------------------------------------------------------
# Benchmark rows: customer source records in canonical field names
# ---------------------------------------------------------------------------

def _canonical_customer_fields() -> list[str]:
    from mdm.canonical import field_names

    return field_names(CUSTOMER)


def customer_benchmark_rows(n_customers: int, seed: int = 42) -> Iterator[dict]:
    """Customer source records flattened for the matching benchmark.

    Each row: ``id`` ("<system>:<source_id>"), ``system``, ``truth_id``,
    ``group_id`` ("" for standalone companies), ``parent_truth_id`` ("" if
    none), then every canonical customer field (``mdm.canonical``), valued as
    the source wrote it (mapped through ``MAPPINGS``; no cleaning; ``""``
    where the system has no such field).  ``parent`` holds the system's own
    parent id, as written.
    """
    gen = DemoGenerator(n_customers=n_customers, seed=seed)
    canon = _canonical_customer_fields()
    pairs = {s: [(src, dst) for src, (dst, _t) in MAPPINGS[s][CUSTOMER].items()] for s in SYSTEMS}
    empty = dict.fromkeys(canon, "")
    for row, co in gen._customer_pass():
        system = row.system
        out = {"id": f"{system}:{row.source_id}", "system": system, "truth_id": row.truth_id,
               "group_id": row.group_id or "", "parent_truth_id": co.parent.truth_id if co.parent else ""}
        out.update(empty)
        d = row.data
        for src, dst in pairs[system]:
            out[dst] = d[src]
        yield out


def field_names_for(system: str, entity_type: str) -> list[str]:
    """Column order of a system's export: id column first, then mapped fields."""
    id_field = ID_FIELDS[system][entity_type]
    names = [id_field]
    names.extend(f for f in MAPPINGS[system][entity_type] if f != id_field)
    return names
