"""Normalisers, one per field type of the spec contract.

Every normaliser takes a raw value (string, number or None) and, where it
matters, the record's country (ISO alpha-2), and returns a string: ``""``
means missing.  Normalisation is idempotent: ``f(f(x)) == f(x)``.

==============  ==============================================================
type            result
==============  ==============================================================
text            lower-case ASCII words (``"Zürich  Nord"`` -> ``"zurich nord"``)
org_name        words without legal form, noise words and punctuation
                (``"The Acme & Sons GmbH"`` -> ``"acme and sons"``)
person_name     words without titles (``"Dr. José Núñez"`` -> ``"jose nunez"``)
exact           upper-case letters and digits only (``"HRB 12-34"`` -> ``"HRB1234"``)
country         ISO 3166 alpha-2 (``"Germany"`` -> ``"DE"``)
date            ISO date (``"31/01/2020"`` -> ``"2020-01-31"``)
number          canonical decimal (``"1.234,50"`` -> ``"1234.5"``)
postcode        upper-case, no blanks (``"sw1a 1aa"`` -> ``"SW1A1AA"``)
phone           E.164 (``"020 7946 0958"`` in GB -> ``"+442079460958"``)
email           lower-case address (``"Mailto:Ann@Acme.COM"`` -> ``"ann@acme.com"``)
domain          registrable domain of a URL or e-mail (``"https://www.acme.co.uk/x"`` -> ``"acme.co.uk"``)
tax_id          VAT/tax id with country prefix (``"980 7806 84"`` in GB -> ``"GB980780684"``)
address         house numbers first, street types abbreviated
                (``"Hauptstraße 5"`` -> ``"5 hauptstr"``)
==============  ==============================================================
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Callable

from unidecode import unidecode

from mdm.matching.legal_forms import GROUP_WORDS, legal_forms, longest_form, name_tokens, truncated_forms

_SPACES = re.compile(r"\s+")
_NON_ALNUM_LOWER = re.compile(r"[^a-z0-9]+")
_NON_ALNUM_UPPER = re.compile(r"[^A-Z0-9]+")


def _text(value: Any) -> str:
    if value is None:
        return ""
    s = str(value).strip()
    return "" if s.lower() in {"", "nan", "none", "null", "n/a", "-"} else s


# -- words ----------------------------------------------------------------

def normalize_text(value: Any, country: str | None = None) -> str:
    s = unidecode(_text(value)).lower()
    return " ".join(_NON_ALNUM_LOWER.sub(" ", s).split())


ORG_SYNONYMS = {
    "intl": "international", "int": "international", "internat": "international",
    "svcs": "services", "svc": "services", "srvcs": "services", "mfg": "manufacturing",
    "technologies": "technology", "tech": "technology", "techn": "technology",
    "sys": "systems", "mgmt": "management", "natl": "national", "assoc": "associates",
    "bros": "brothers", "hldgs": "holdings", "hldg": "holdings", "grp": "group",
    "consultancy": "consulting", "dept": "department", "ctr": "center", "centre": "center",
}
ORG_NOISE = {"the"}


def _strip_suffix(tokens: list[str], forms: frozenset, longest: int) -> tuple[list[str], bool]:
    for size in range(min(longest, len(tokens) - 1), 0, -1):
        if tuple(tokens[-size:]) in forms:
            return tokens[:-size], True
    return tokens, False


def _strip_legal_forms(tokens: list[str], country: str | None) -> list[str]:
    """Strip trailing legal forms, group words and the record's own country
    ("Acme Deutschland GmbH" in DE, "Acme (DE)"), a legal form cut short by a
    length limit ("... Designated Activit") or with one slip ("Ilmited"),
    until none is left (keeping at least one word)."""
    forms, longest = legal_forms(country), longest_form(country)
    own_country = country_words(country)
    while len(tokens) > 1:
        before = len(tokens)
        tokens, _ = _strip_suffix(tokens, forms, longest)
        if len(tokens) > 1 and tokens[-1] in GROUP_WORDS:
            tokens = tokens[:-1]
        elif len(tokens) > 2 and tuple(tokens[-2:]) in own_country:
            tokens = tokens[:-2]
        elif len(tokens) > 1 and tuple(tokens[-1:]) in own_country:
            tokens = tokens[:-1]
        elif len(tokens) > 2:
            tokens, _ = _strip_suffix(tokens, truncated_forms(country), 4)
        if len(tokens) == before and len(tokens) > 1 and _misspelt_form(tokens[-1], country):
            tokens = tokens[:-1]
        if len(tokens) == before:
            break
    return tokens


def _misspelt_form(token: str, country: str | None) -> bool:
    """A one-word legal form of 5+ letters with one slip ("Ilmited", "Gmbhh")."""
    if len(token) < 5 or (token,) in legal_forms(country):
        return False
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    return process.extractOne(token, _single_forms(country), scorer=OSA.distance, score_cutoff=1) is not None


@lru_cache(maxsize=512)
def _single_forms(country: str | None) -> tuple[str, ...]:
    return tuple(f[0] for f in legal_forms(country) if len(f) == 1 and len(f[0]) >= 5)


@lru_cache(maxsize=512)
def country_words(country: str | None) -> frozenset[tuple[str, ...]]:
    """Ways of writing a country inside a company name, as token tuples."""
    if not country:
        return frozenset()
    import pycountry

    cc = country.upper()
    names = {cc.lower(), *(k for k, v in LOCAL_COUNTRY_NAMES.items() if v == cc), *EXTRA_COUNTRY_WORDS.get(cc, ())}
    entry = pycountry.countries.get(alpha_2=cc)
    if entry is not None:
        names.add(entry.alpha_3.lower())
        for attr in ("name", "common_name", "official_name"):
            if getattr(entry, attr, None):
                names.add(getattr(entry, attr))
    return frozenset(tuple(name_tokens(n)) for n in names if name_tokens(n))


@lru_cache(maxsize=200_000)
def normalize_org_name(value: Any, country: str | None = None) -> str:
    tokens = [ORG_SYNONYMS.get(t, t) for t in name_tokens(_text(value))]
    while len(tokens) > 1 and tokens[0] in ORG_NOISE:
        tokens = tokens[1:]
    tokens = _strip_legal_forms(tokens, country)
    tokens = [t for t in tokens if t not in ORG_NOISE] or tokens
    return " ".join(tokens)


PERSON_TITLES = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam", "mme", "mlle", "herr", "frau", "jr", "sr"}


def normalize_person_name(value: Any, country: str | None = None) -> str:
    tokens = name_tokens(_text(value))
    kept = [t for t in tokens if t not in PERSON_TITLES]
    return " ".join(kept or tokens)


# -- identifiers ------------------------------------------------------------

def normalize_exact(value: Any, country: str | None = None) -> str:
    return _NON_ALNUM_UPPER.sub("", unidecode(_text(value)).upper())


EXTRA_COUNTRY_WORDS = {
    "GB": ("uk", "u k", "great britain", "britain", "england", "united kingdom"),
    "DE": ("ger", "germany"), "US": ("usa", "us", "america", "united states"), "IE": ("irl", "eire"),
    "NL": ("holland",), "ES": ("spain",), "IT": ("italy",), "SE": ("sweden",), "BE": ("belgium",),
    "FR": ("france",),
}
LOCAL_COUNTRY_NAMES = {
    "deutschland": "DE", "osterreich": "AT", "schweiz": "CH", "suisse": "CH", "svizzera": "CH",
    "espana": "ES", "italia": "IT", "nederland": "NL", "holland": "NL", "belgie": "BE",
    "belgique": "BE", "polska": "PL", "sverige": "SE", "norge": "NO", "danmark": "DK",
    "suomi": "FI", "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB",
    "britain": "GB", "america": "US", "united states": "US", "czech republic": "CZ",
}


@lru_cache(maxsize=4096)
def normalize_country(value: Any, country: str | None = None) -> str:
    s = _text(value)
    if not s:
        return ""
    if len(s) == 2 and s.isalpha():
        return "GB" if s.upper() == "UK" else s.upper()
    local = LOCAL_COUNTRY_NAMES.get(normalize_text(s))
    if local:
        return local
    import pycountry

    for candidate in dict.fromkeys((s, normalize_exact(s))):  # "２１４" reads as "214": the Dominican Republic
        try:
            return pycountry.countries.lookup(candidate).alpha_2
        except LookupError:
            continue
    return normalize_exact(s)


VAT_PREFIXES = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "GB", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI", "CH", "NO",
}
_VAT_ALIASES = {"GR": "EL", "UK": "GB"}


_TAX_KINDS = {"us": ("ein",)}  # a US company's tax id is its EIN (not any TIN)


@lru_cache(maxsize=256)
def _tax_module(cc: str):
    from stdnum import get_cc_module

    for kind in _TAX_KINDS.get(cc.lower(), ("vat", "tin")):
        try:
            module = get_cc_module(cc.lower(), kind)
        except (ImportError, AttributeError):
            module = None
        if module is not None:
            return module
    return None


def _split_tax_prefix(s: str, country: str | None) -> tuple[str, str]:
    if s.startswith("CHE") and len(s) > 6:
        return "CH", s[3:]
    cc = (country or "").upper()
    cc = _VAT_ALIASES.get(cc, cc) if len(cc) == 2 and cc.isalpha() else ""
    head = _VAT_ALIASES.get(s[:2], s[:2])
    if (head in VAT_PREFIXES and len(s) > 6) or (head == cc and cc):
        return head, s[2:]
    return cc, s


def _module_for(cc: str):
    return _tax_module({"EL": "gr"}.get(cc, cc))


@lru_cache(maxsize=200_000)
def normalize_tax_id(value: Any, country: str | None = None) -> str:
    s = normalize_exact(value)
    if not s:
        return ""
    cc, body = _split_tax_prefix(s, country)
    if not cc:
        return body
    if cc == "CH":
        body = re.sub(r"(MWST|TVA|IVA)$", "", body)
    module = _module_for(cc)
    if module is not None:
        try:  # python-stdnum's own compact form, when that form is a valid id
            compact = normalize_exact(module.compact(body))
        except Exception:  # stdnum raises its own errors on garbage
            compact = body
        if compact.startswith(cc) or (cc == "CH" and compact.startswith("CHE")):
            compact = compact[3:] if cc == "CH" else compact[2:]
        if compact != body and tax_id_is_valid(cc + compact):
            body = compact
    return cc + body


@lru_cache(maxsize=200_000)
def tax_id_is_valid(normalized: str) -> bool:
    """True when a normalised tax id passes its country's check digits."""
    if len(normalized) < 4 or not normalized[:2].isalpha():
        return False
    cc, body = normalized[:2], normalized[2:]
    module = _module_for(cc)
    if module is None:
        return False
    for candidate in (body, normalized, "CHE" + body if cc == "CH" else None):
        try:
            if candidate and module.is_valid(candidate):
                return True
        except Exception:
            continue
    return False


# -- contact ---------------------------------------------------------------

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d+\s*$", re.IGNORECASE)
_TRUNK_IN_BRACKETS = re.compile(r"\(0\)")
_NOT_DIGIT = re.compile(r"[^\d]")


@lru_cache(maxsize=512)
def _dialling(country: str) -> tuple[str, str]:
    """(country calling code, national trunk prefix) of an ISO country."""
    import phonenumbers

    code = phonenumbers.country_code_for_region(country)
    meta = phonenumbers.PhoneMetadata.metadata_for_region(country)
    return (str(code) if code else "", (meta.national_prefix or "") if meta else "")


@lru_cache(maxsize=200_000)
def normalize_phone(value: Any, country: str | None = None) -> str:
    """E.164 by digit rules (international prefix, the country's calling code
    and trunk prefix) rather than full parsing: fast enough for millions of
    records, and what matters for comparing two numbers."""
    s = _text(value)
    if not s or _E164.match(s):
        return s
    s = _TRUNK_IN_BRACKETS.sub("", _EXTENSION.sub("", s))
    digits = _NOT_DIGIT.sub("", s)
    if not digits:
        return ""
    if s.lstrip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:] if digits[2:] else ""
    code, trunk = _dialling(country.upper()) if country else ("", "")
    if not code:
        return digits
    if trunk and digits.startswith(trunk) and len(digits) > 7:
        digits = digits[len(trunk):]
    return f"+{code}{digits}"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(value: Any, country: str | None = None) -> str:
    s = _text(value).lower()
    if s.startswith("mailto:"):
        s = s[7:]
    s = s.strip(" <>\"'")
    return s if _EMAIL.match(s) else ""


# Mailbox providers: an address there says nothing about the organisation.
FREE_MAIL = frozenset("""gmail.com googlemail.com outlook.com hotmail.com hotmail.co.uk live.com msn.com
yahoo.com yahoo.co.uk yahoo.fr yahoo.de icloud.com me.com aol.com gmx.de gmx.net gmx.com web.de t-online.de
orange.fr wanadoo.fr free.fr laposte.net sfr.fr btinternet.com sky.com virginmedia.com libero.it
protonmail.com proton.me mail.com zoho.com yandex.com ziggo.nl kpnmail.nl telia.com""".split())


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # The bundled public-suffix snapshot only: never fetch over the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=200_000)
def normalize_domain(value: Any, country: str | None = None) -> str:
    s = _text(value).lower()
    if not s:
        return ""
    if "@" in s:
        s = s.rsplit("@", 1)[1].strip(" <>\"'")
        if normalize_domain(s) in FREE_MAIL:
            return ""
    s = re.sub(r"^[a-z][a-z0-9+.-]*://", "", s).split("/")[0].split("?")[0].split(":")[0]
    s = re.sub(r"^[\s.]+|[\s.]+$", "", s)  # dots and any Unicode space at the ends (a second pass strips them too)
    if not s or re.search(r"\s", s):
        return ""
    parts = _extractor()(s)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return s[4:] if s.startswith("www.") else s


# -- places ----------------------------------------------------------------

# English and other names of cities, to the local name (normalised text).
CITY_NAMES = {
    "munich": "munchen", "muenchen": "munchen", "cologne": "koln", "koeln": "koln", "nuremberg": "nurnberg",
    "nuernberg": "nurnberg", "hanover": "hannover", "duesseldorf": "dusseldorf", "frankfurt am main": "frankfurt",
    "frankfurt a m": "frankfurt", "frankfurt main": "frankfurt", "the hague": "den haag", "s gravenhage": "den haag",
    "gravenhage": "den haag", "milan": "milano", "rome": "roma", "turin": "torino", "florence": "firenze",
    "naples": "napoli", "genoa": "genova", "padua": "padova", "venice": "venezia", "seville": "sevilla",
    "brussels": "bruxelles", "brussel": "bruxelles", "bruxelles brussel": "bruxelles", "antwerp": "antwerpen",
    "anvers": "antwerpen", "ghent": "gent", "gand": "gent", "bruges": "brugge", "louvain": "leuven",
    "gothenburg": "goteborg", "goeteborg": "goteborg", "copenhagen": "kobenhavn", "vienna": "wien",
    "prague": "praha", "warsaw": "warszawa", "lisbon": "lisboa", "geneva": "geneve", "genf": "geneve",
    "zuerich": "zurich", "new york city": "new york", "nyc": "new york", "malmoe": "malmo",
    "sf": "san francisco", "la": "los angeles",
}


def normalize_city(value: Any, country: str | None = None) -> str:
    s = normalize_text(value)
    return CITY_NAMES.get(s, s)


_ZIP_PLUS4 = re.compile(r"^(\d{5})-?\d{4}$")


def normalize_postcode(value: Any, country: str | None = None) -> str:
    s = unidecode(_text(value)).upper()
    m = _ZIP_PLUS4.match(s.replace(" ", ""))
    if m:
        return m.group(1)
    return _NON_ALNUM_UPPER.sub("", s)


STREET_TYPES = {
    "street": "st", "str": "st", "strasse": "str", "road": "rd", "avenue": "ave", "av": "ave",
    "boulevard": "blvd", "lane": "ln", "drive": "dr", "court": "ct", "place": "pl",
    "square": "sq", "terrace": "ter", "highway": "hwy", "parkway": "pkwy", "crescent": "cres",
    "close": "cl", "gardens": "gdns", "north": "n", "south": "s", "east": "e", "west": "w",
    "building": "bldg", "floor": "fl", "suite": "ste", "apartment": "apt", "unit": "unit",
    "mount": "mt", "saint": "st", "platz": "pl", "weg": "weg", "gasse": "g", "allee": "allee",
}
# Only German-style "-strasse" compounds are split; "st" is the canonical street
# abbreviation, so "str" (a German street) is kept apart from "st" (English).
STREET_TYPES["str"] = "str"
_COMPOUND = re.compile(r"(?<=[a-z])(strasse|str)\b")
_HOUSE_NO = re.compile(r"^\d+[a-z]?$")
_NOISE_ADDRESS = {"no", "nr", "number"}


_NUMBER_RANGE = re.compile(r"(\d)\s*-\s*(\d)")
_ADDRESS_JUNK = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=200_000)
def normalize_address(value: Any, country: str | None = None) -> str:
    s = unidecode(_text(value)).lower().replace("&", " and ")
    s = _COMPOUND.sub(r" \1", s)
    tokens = _ADDRESS_JUNK.sub(" ", s).split()
    numbers: list[str] = []
    rest: list[str] = []
    for t in tokens:
        if t in _NOISE_ADDRESS:
            continue
        t = STREET_TYPES.get(t, t)
        (numbers if _HOUSE_NO.match(t) else rest).append(t)
    return " ".join(numbers + rest)


def split_address(normalized: str) -> tuple[str, str]:
    """(house numbers, street words) of a normalised address."""
    tokens = normalized.split()
    i = 0
    while i < len(tokens) and _HOUSE_NO.match(tokens[i]):
        i += 1
    return " ".join(tokens[:i]), " ".join(tokens[i:])


# -- dates and numbers -------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_WORDY = re.compile(r"^(?:(\d{1,2})\s+([a-z]+)|([a-z]+)\s+(\d{1,2}))\s+(\d{4})$")


def _make_date(y: int, m: int, d: int) -> str | None:
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def _century(y: int) -> int:
    return y if y >= 100 else (2000 + y if y < 50 else 1900 + y)


def _parse_dmy(a: int, b: int, y: int, country: str | None) -> str | None:
    month_first = (country or "").upper() in {"US", "PH"} or a > 12 >= b
    if a > 12 and b > 12:
        return None
    if month_first and a <= 12 < b:
        return _make_date(y, a, b)
    if month_first and (country or "").upper() in {"US", "PH"}:
        return _make_date(y, a, b) or _make_date(y, b, a)
    return _make_date(y, b, a) or _make_date(y, a, b)


def _parse_wordy(s: str) -> str | None:
    m = _WORDY.match(re.sub(r"[,.]", " ", s).replace("  ", " ").strip())
    if not m:
        return None
    day, month = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    number = _MONTHS.get(month[:3])
    return _make_date(int(m.group(5)), number, int(day)) if number else None


@lru_cache(maxsize=100_000)
def normalize_date(value: Any, country: str | None = None) -> str:
    """ISO date; what does not parse is kept as its digits (a typo'd date is
    still comparable digit by digit) — unless the digits alone parse."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    s = " ".join(unidecode(_text(value)).lower().split())
    if not s:
        return ""
    parsed = _parse_date(s, country)
    if parsed:
        return parsed
    digits = re.sub(r"[^0-9]", "", s)
    return _parse_date(digits, country) or digits


def _parse_date(s: str, country: str | None) -> str | None:
    if m := _YMD.match(s):
        parsed = _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    elif m := _COMPACT.match(s):
        parsed = _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    elif m := _DMY.match(s):
        parsed = _parse_dmy(int(m.group(1)), int(m.group(2)), _century(int(m.group(3))), country)
    else:
        parsed = _parse_wordy(s)
    return parsed


def normalize_number(value: Any, country: str | None = None) -> str:
    s = re.sub(r"[^\d,.\-]", "", _text(value))
    if not s:
        return ""
    if "," in s and "." in s:
        s = s.replace(",", "") if s.rfind(".") > s.rfind(",") else s.replace(".", "").replace(",", ".")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = s.replace(",", "") if len(tail) == 3 and head else s.replace(",", ".")
    try:
        number = Decimal(s)
    except InvalidOperation:
        return ""
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    return format(number.normalize(), "f")


NORMALIZERS: dict[str, Callable[[Any, str | None], str]] = {
    "text": normalize_text,
    "org_name": normalize_org_name,
    "person_name": normalize_person_name,
    "exact": normalize_exact,
    "country": normalize_country,
    "date": normalize_date,
    "number": normalize_number,
    "postcode": normalize_postcode,
    "city": normalize_city,
    "phone": normalize_phone,
    "email": normalize_email,
    "domain": normalize_domain,
    "tax_id": normalize_tax_id,
    "address": normalize_address,
}


def normalize_value(field_type: str, value: Any, country: str | None = None) -> str:
    """Normalise one value of the given spec type."""
    return NORMALIZERS[field_type](value, country)
