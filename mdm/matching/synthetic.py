"""A small, self-contained generator of customer records with ground truth.

Used by the matching tests and, when the demo generator
(``mdm.demo.generator.customer_benchmark_rows``) is not available, by
``bench_matching``.  Each real-world company (``truth_id``) appears as one to
three source records (``system``: crm, erp, psa) written differently: legal
forms spelt otherwise, typos, missing tax ids, tax ids without prefix or with
blanks, other address and phone formats, trading instead of legal names.
About a fifth of the companies belong to a corporate group (``group_id``)
whose members share the website domain, the head-office address and the
phone switchboard and most of the name, but each has its own tax id and,
often, its own country.
"""

from __future__ import annotations

import random
import string
from typing import Iterator

COUNTRIES = {
    # code: (name, legal forms (canonical, variants), phone prefix, city, postcode maker)
    "GB": ("United Kingdom", [("Limited", "Ltd", "Ltd.", "LTD"), ("PLC", "plc", "Public Limited Company")], "+44"),
    "DE": ("Germany", [("GmbH", "Gmbh", "G.m.b.H.", "GMBH"), ("AG", "Aktiengesellschaft")], "+49"),
    "FR": ("France", [("SAS", "S.A.S.", "Sas"), ("SARL", "S.A.R.L.", "Sarl")], "+33"),
    "NL": ("Netherlands", [("B.V.", "BV", "B.V")], "+31"),
    "US": ("United States", [("Inc.", "Inc", "Incorporated"), ("LLC", "L.L.C.")], "+1"),
}
CITIES = {
    "GB": [("London", "EC1A {d}AB"), ("Manchester", "M{d} 4BT"), ("Leeds", "LS{d} 7HY")],
    "DE": [("Berlin", "101{d}5"), ("München", "803{d}1"), ("Hamburg", "204{d}9")],
    "FR": [("Paris", "750{d}8"), ("Lyon", "690{d}2"), ("Lille", "590{d}0")],
    "NL": [("Amsterdam", "10{d}1 AB"), ("Utrecht", "35{d}2 CD"), ("Rotterdam", "30{d}1 EF")],
    "US": [("New York", "100{d}1"), ("Chicago", "606{d}1"), ("Boston", "021{d}6")],
}
STREETS = {
    "GB": ["High Street", "Station Road", "Church Lane", "Victoria Avenue", "Mill Road", "King Street"],
    "DE": ["Hauptstraße", "Bahnhofstraße", "Lindenweg", "Gartenstraße", "Schillerstraße", "Marktplatz"],
    "FR": ["Rue de la Paix", "Avenue Victor Hugo", "Rue Lafayette", "Boulevard Voltaire", "Rue du Bac"],
    "NL": ["Keizersgracht", "Prinsengracht", "Dorpsstraat", "Kerkstraat", "Stationsweg"],
    "US": ["Main Street", "Oak Avenue", "Park Road", "Elm Street", "Lake Drive", "Broadway"],
}
STREET_ABBREV = {"Street": "St.", "Road": "Rd", "Avenue": "Ave", "Lane": "Ln", "straße": "str.", "Drive": "Dr."}
WORDS = """Acme Apex Summit Nova Orion Vertex Zenith Harbor Cedar Falcon Granite Lumen Nimbus Quartz Sterling
Meridian Atlas Beacon Crest Delta Echo Fusion Horizon Kestrel Lynx Mosaic Onyx Pioneer Radiant Sable Titan Vantage
Willow Aurora Bolt Cobalt Ember Fjord Glacier Helix Ion Juniper Kinetic Lotus Magnet Nexus Opal Prism Quill Raven
Silex Tundra Umbra Vivid Wren Xenon Yonder Zephyr Alder Birch Comet Dune Evergreen Flint Garnet Hazel Indigo""".split()
SECTORS = ["Consulting", "Logistics", "Software", "Engineering", "Foods", "Capital", "Systems", "Retail", "Media",
           "Energy", "Health", "Design", "Analytics", "Construction", "Textiles", "Robotics", "Pharma", "Labs"]
DIVISIONS = ["Digital", "Services", "Advisory", "Finance", "Solutions", "Operations", "Ventures"]


def _tax_id(country: str, rng: random.Random) -> str:
    """A tax id that passes python-stdnum's check for its country."""
    from stdnum import get_cc_module

    module = get_cc_module(country.lower(), "vat") or get_cc_module(country.lower(), "tin")
    while True:
        if country == "GB":
            body = "".join(rng.choices(string.digits, k=7))
            s = sum(w * int(c) for w, c in zip((8, 7, 6, 5, 4, 3, 2), body))
            candidate = f"{body}{(-s) % 97:02d}"
        elif country == "DE":
            body = str(rng.randrange(10_000_000, 99_999_999))
            candidate = next(body + str(d) for d in range(10) if module.is_valid(body + str(d)))
        elif country == "FR":
            siren = str(rng.randrange(100_000_000, 999_999_999))
            candidate = f"{int(siren + '12') % 97:02d}{siren}"
        elif country == "NL":
            candidate = f"{rng.randrange(100_000_000, 999_999_999)}B01"
        else:
            candidate = f"{rng.choice(['12', '23', '45', '61', '94'])}{rng.randrange(1_000_000, 9_999_999)}"
        if module.is_valid(candidate):
            return candidate if country == "US" else country + candidate


def _typo(s: str, rng: random.Random) -> str:
    if len(s) < 4:
        return s
    i = rng.randrange(1, len(s) - 1)
    op = rng.random()
    if op < 0.4:
        return s[:i] + s[i + 1:]
    if op < 0.7:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s[:i] + rng.choice(string.ascii_lowercase) + s[i + 1:]


def _company(rng: random.Random, country: str, base: str | None = None, head_office: dict | None = None) -> dict:
    name = base or f"{rng.choice(WORDS)} {rng.choice(SECTORS)}"
    if rng.random() < 0.3 and base is None:
        name = f"{rng.choice(WORDS)} {name}"
    forms = rng.choice(COUNTRIES[country][1])
    city, pc_pattern = rng.choice(CITIES[country])
    street = f"{rng.choice(STREETS[country])} {rng.randrange(1, 200)}" if country in ("DE", "NL", "FR") \
        else f"{rng.randrange(1, 200)} {rng.choice(STREETS[country])}"
    place = head_office or {"street": street, "city": city, "postcode": pc_pattern.format(d=rng.randrange(1, 9))}
    domain = (head_office or {}).get("domain") or name.lower().replace(" ", "") + rng.choice([".com", ".co", ".net"])
    return {
        "name": name, "forms": forms, "country": country, "tax_id": _tax_id(country, rng),
        "registration_number": str(rng.randrange(10_000_000, 99_999_999)), "domain": domain,
        "phone": (head_office or {}).get("phone") or f"{COUNTRIES[country][2]}{rng.randrange(10**8, 10**9)}",
        "email": f"accounts@{domain}", **place,
    }


def _render(company: dict, system: str, rng: random.Random) -> dict:
    c, country = company, company["country"]
    form = rng.choice(c["forms"])
    legal = f"{c['name']} {form}"
    if rng.random() < 0.12:
        legal = _typo(legal, rng)
    street = c["street"]
    for long, short in STREET_ABBREV.items():
        if rng.random() < 0.5:
            street = street.replace(long, short)
    tax = c["tax_id"] if rng.random() < 0.8 else ""
    if tax and rng.random() < 0.3:
        tax = tax[2:] if tax[:2].isalpha() else tax
    if tax and rng.random() < 0.2:
        tax = " ".join(tax[i:i + 3] for i in range(0, len(tax), 3))
    digits = c["phone"][len(COUNTRIES[country][2]):]
    phone = c["phone"] if rng.random() < 0.5 else f"0{digits[:3]} {digits[3:6]} {digits[6:]}"
    row = {
        "legal_name": legal if system != "psa" else None,
        "trading_name": c["name"] if rng.random() < 0.7 else None,
        "tax_id": tax if system == "erp" or rng.random() < 0.3 else None,
        "registration_number": c["registration_number"] if system == "erp" and rng.random() < 0.6 else None,
        "website": rng.choice([c["domain"], f"https://www.{c['domain']}", f"www.{c['domain']}/"]),
        "phone": phone if system != "psa" else None,
        "email": c["email"] if system == "erp" and rng.random() < 0.5 else None,
        "address_line": street if system != "psa" else None,
        "city": c["city"],
        "postcode": c["postcode"].replace(" ", "") if rng.random() < 0.3 else c["postcode"],
        "country": country if rng.random() < 0.7 else COUNTRIES[country][0],
    }
    if system == "psa" and not row["trading_name"]:
        row["trading_name"] = c["name"]
    return row


def customer_rows(n_customers: int, seed: int = 0, group_share: float = 0.2) -> Iterator[dict]:
    """About ``n_customers`` companies, each as 1-3 source records."""
    rng = random.Random(seed)
    made = 0
    while made < n_customers:
        members = _group(rng) if rng.random() < group_share else [_company(rng, rng.choice(list(COUNTRIES)))]
        group_id = f"g{made}" if len(members) > 1 else None
        for company in members:
            truth = f"c{made}"
            made += 1
            systems = rng.sample(["crm", "erp", "psa"], rng.choice([1, 2, 2, 3]))
            for system in systems:
                row = _render(company, system, rng)
                yield {"id": f"{system}-{truth}", "system": system, "truth_id": truth, "group_id": group_id, **row}


def _group(rng: random.Random) -> list[dict]:
    head = _company(rng, rng.choice(list(COUNTRIES)))
    office = {k: head[k] for k in ("street", "city", "postcode", "domain", "phone")}
    members = [head]
    for _ in range(rng.randrange(1, 4)):
        country = rng.choice([head["country"], *COUNTRIES])
        base = f"{head['name']} {rng.choice(DIVISIONS)}" if country == head["country"] else \
            f"{head['name']} {COUNTRIES[country][0].split()[-1]}"
        members.append(_company(rng, country, base, office if rng.random() < 0.7 else None))
    return members
