"""Each normaliser on the spellings systems actually hold, and idempotence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdm.matching.builtin import builtin_spec
from mdm.matching.normalize import (
    NORMALIZERS, normalize_address, normalize_city, normalize_country, normalize_date, normalize_domain,
    normalize_email, normalize_exact, normalize_number, normalize_org_name, normalize_person_name,
    normalize_phone, normalize_postcode, normalize_tax_id, normalize_text, tax_id_is_valid,
)
from mdm.matching.table import normalize_record


@pytest.mark.parametrize("raw, country, expected", [
    ("The Acme & Sons GmbH", "DE", "acme and sons"),
    ("ACME Holdings Ltd.", "GB", "acme"),
    ("Acme S.A.R.L.", "FR", "acme"),
    ("Aspen Motors S.à r.l.", "FR", "aspen motors"),
    ("Müller GmbH & Co. KG", "DE", "muller"),
    ("Siemens Aktiengesellschaft", "DE", "siemens"),
    ("Delgado Transportes Sociedad Limitada", "ES", "delgado transportes"),
    ("Gestion Blanc Leasing Designated Activit", "IE", "gestion blanc leasing"),
    ("Qualoa Group Ilmited", "GB", "qualoa"),
    ("Galtaus Analytics (NL)", "NL", "galtaus analytics"),
    ("Acme Deutschland GmbH", "DE", "acme"),
    ("Acme Deutschland GmbH", "GB", "acme deutschland"),
    ("A B C Consulting Intl", "GB", "abc consulting international"),
    ("Ltd", "GB", "ltd"),
])
def test_org_names_lose_legal_forms_group_words_and_own_country(raw, country, expected):
    assert normalize_org_name(raw, country) == expected


def test_person_names_lose_titles_and_accents():
    assert normalize_person_name("Dr. José  Núñez") == "jose nunez"


@pytest.mark.parametrize("raw, expected", [
    ("Hauptstraße 5", "5 haupt str"),
    ("Haupt-Str. 5", "5 haupt str"),
    ("12 High Street", "12 high st"),
    ("High St. 12", "12 high st"),
    ("Rue de la Paix 12", "12 rue de la paix"),
])
def test_addresses_put_house_numbers_first_and_abbreviate_street_types(raw, expected):
    assert normalize_address(raw) == expected


def test_postcodes_lose_blanks_and_zip_extensions():
    assert normalize_postcode("sw1a 1aa") == "SW1A1AA"
    assert normalize_postcode("12345-6789") == "12345"


@pytest.mark.parametrize("raw, country, expected", [
    ("020 7946 0958", "GB", "+442079460958"),
    ("+44 (0)20 7946 0958", None, "+442079460958"),
    ("0049 30 1234567", None, "+49301234567"),
    ("(212) 555-0101", "US", "+12125550101"),
    ("02 1234 5678", "IT", "+390212345678"),
    ("+33 1 86 62 12 45 ext. 12", "FR", "+33186621245"),
])
def test_phones_become_e164_with_the_records_country_as_default_region(raw, country, expected):
    assert normalize_phone(raw, country) == expected


def test_emails_and_urls_reduce_to_the_registrable_domain():
    assert normalize_domain("https://www.acme.co.uk/contact?x=1") == "acme.co.uk"
    assert normalize_domain("Accounts@Mail.Acme.com") == "acme.com"
    assert normalize_domain("someone@gmail.com") == ""  # a mailbox provider says nothing of the company
    assert normalize_email("Mailto:Ann@Acme.COM") == "ann@acme.com"


def test_a_domain_keeps_no_unicode_space_so_normalising_it_again_changes_nothing():
    # NEL (U+0085) and EM SPACE are whitespace to str.strip(): left at the end, a second pass removed them
    assert normalize_domain("0\x85/") == normalize_domain(normalize_domain("0\x85/")) == "0"
    assert normalize_domain("acme\u2003corp.com") == ""  # a space inside is no domain
    assert normalize_domain("www.acme.co.uk\x85:8080") == "acme.co.uk"


@pytest.mark.parametrize("raw, country, expected, valid", [
    ("GB 980 7806 84", None, "GB980780684", True),
    ("980780684", "GB", "GB980780684", True),
    ("de 136 695 976", None, "DE136695976", True),
    ("136695976", "DE", "DE136695976", True),
    ("094259216", "GR", "EL094259216", True),
    ("12-3456789", "US", "US123456789", True),
    ("09-3456789", "US", "US093456789", False),  # an EIN prefix the IRS never used
    ("DE136695977", None, "DE136695977", False),
])
def test_tax_ids_get_their_country_prefix_and_a_check_digit_verdict(raw, country, expected, valid):
    assert normalize_tax_id(raw, country) == expected
    assert tax_id_is_valid(expected) is valid


@pytest.mark.parametrize("raw, expected", [
    ("31/01/2020", "2020-01-31"), ("2020-01-31", "2020-01-31"), ("20200131", "2020-01-31"),
    ("Jan 31, 2020", "2020-01-31"), ("31 January 2020", "2020-01-31"), ("01/31/2020", "2020-01-31"),
    ("31.01.2020", "2020-01-31"), ("19991302", "19991302"),
])
def test_dates_in_common_formats_become_iso(raw, expected):
    assert normalize_date(raw) == expected


def test_numbers_in_either_decimal_convention_become_canonical():
    assert normalize_number("1,234.50") == "1234.5"
    assert normalize_number("1.234,50") == "1234.5"
    assert normalize_number("€ 1 234") == "1234"


def test_countries_become_iso_alpha2():
    assert [normalize_country(c) for c in ("Germany", "United Kingdom", "uk", "Deutschland", "DE")] == \
        ["DE", "GB", "GB", "DE", "DE"]


def test_a_country_number_in_wide_digits_is_read_like_plain_digits():
    assert normalize_country("２１４") == normalize_country("214") == "DO"


def test_cities_map_exonyms_to_the_local_name():
    assert normalize_city("Munich") == normalize_city("München") == "munchen"


def test_exact_and_text_keep_only_letters_and_digits():
    assert normalize_exact("HRB 12-34 b") == "HRB1234B"
    assert normalize_text("  Zürich   Nord ") == "zurich nord"


_countries = st.sampled_from([None, "GB", "DE", "FR", "US", "NL", "IT"])


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(sorted(NORMALIZERS)), value=st.text(max_size=40), country=_countries)
def test_every_normaliser_is_idempotent(kind, value, country):
    once = NORMALIZERS[kind](value, country)
    assert NORMALIZERS[kind](once, country) == once


_legal = st.sampled_from(["Ltd", "Limited", "GmbH & Co. KG", "S.A.R.L.", "Inc.", "B.V.", "Holdings plc", ""])


@settings(max_examples=100, deadline=None)
@given(name=st.text(alphabet="abcdefg &.-", max_size=20), legal=_legal, country=_countries)
def test_org_name_normalisation_is_idempotent_on_company_like_names(name, legal, country):
    once = normalize_org_name(f"{name} {legal}", country)
    assert normalize_org_name(once, country) == once


@settings(max_examples=60, deadline=None)
@given(record=st.fixed_dictionaries({
    "legal_name": st.text(max_size=30), "trading_name": st.text(max_size=20), "tax_id": st.text(max_size=14),
    "website": st.text(max_size=20), "email": st.emails(), "phone": st.text(alphabet="+0123456789 ()-", max_size=16),
    "address_line": st.text(max_size=30), "postcode": st.text(max_size=8), "city": st.text(max_size=12),
    "country": st.sampled_from(["GB", "Germany", "fr", "United States", "", "Narnia"]),
}))
def test_normalize_record_is_idempotent(record):
    spec = builtin_spec("customer")
    once = normalize_record(spec, record)
    assert normalize_record(spec, once) == once
