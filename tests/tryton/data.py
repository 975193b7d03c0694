"""Test data helpers: valid VAT numbers and Tryton seed records."""

from __future__ import annotations

from stdnum.iso7064 import mod_11_10


def de_vat(n: int) -> str:
    """A valid German VAT number built from ``n`` (the check digit is ISO 7064 MOD 11,10)."""
    body = f"{10000000 + n % 89999999:08d}"
    body = str((int(body[0]) or 1)) + body[1:]
    return "DE" + body + mod_11_10.calc_check_digit(body)


def seed_country_currency(client) -> tuple[int, int]:
    [eur] = client.create("currency.currency", {"name": "Euro", "code": "EUR", "symbol": "€"})
    [de] = client.create("country.country", {"name": "Germany", "code": "DE"})
    return de, eur


def party_values(i: int, country: int, *, code: str | None = None) -> dict:
    values = {
        "name": f"Tryton Customer {i:04d} GmbH",
        "identifiers": [["create", [{"type": "eu_vat", "code": de_vat(i)}]]],
        "addresses": [["create", [{"street_name": f"Hauptstrasse {i % 200 + 1}", "postal_code": f"{10000 + i:05d}",
                                   "city": "Berlin", "country": country}]]],
        "contact_mechanisms": [["create", [{"type": "email", "value": f"billing{i}@customer{i}.de"}]]],
    }
    if code:
        values["code"] = code
    return values


def seed_company(client, country: int, currency: int, *, name="Hub Consulting GmbH", code="HUBDE") -> int:
    [party] = client.create("party.party", {"name": name, "code": code, "addresses": [
        ["create", [{"city": "Berlin", "country": country}]]]})
    [company] = client.create("company.company", {"party": party, "currency": currency})
    uid = client.uid or client.login()
    client.write("res.user", [uid], {"companies": [["add", [company]]], "company": company})
    return company
