"""Tax ids, company registration numbers, LEIs and DUNS numbers for the demo.

The generators compute the real check digits (verified against python-stdnum
in the tests) with plain integer arithmetic, because the demo makes up to a
million of them.  ``is_valid_tax_id`` is the reference check (python-stdnum).
"""

from __future__ import annotations

import random

_US_EIN_PREFIXES = (
    "01 02 03 04 05 06 10 11 12 13 14 15 16 20 21 22 23 24 25 26 27 30 32 33 34 35 36 37 38 39 40 41 42 43 44 "
    "45 46 47 48 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 71 72 73 74 75 76 77 80 81 82 83 84 "
    "85 86 87 88 90 91 92 93 94 95 98 99"
).split()
# Prefixes the IRS never assigned: an EIN with one of these is invalid.
_US_EIN_BAD_PREFIXES = ("00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89", "96", "97")
_IE_ALPHABET = "WABCDEFGHIJKLMNOPQRSTUV"
_LEI_LOUS = ("5493", "2138", "5299", "9695", "7245", "2549", "8156", "6354", "3157", "8945", "2594", "8945")
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

def _choice(rng: random.Random, seq):
    """``rng.choice`` without its bit-twiddling (3x faster; deterministic)."""
    return seq[int(rng.random() * len(seq))]


def _randrange(rng: random.Random, a: int, b: int | None = None) -> int:
    """``rng.randrange`` the fast way: uniform int in [a, b) (or [0, a))."""
    if b is None:
        a, b = 0, a
    return a + int(rng.random() * (b - a))


# Prefixes of VAT numbers by country (US EINs have none).
VAT_PREFIX = {"GB": "GB", "DE": "DE", "FR": "FR", "NL": "NL", "IE": "IE", "ES": "ES", "IT": "IT", "BE": "BE", "SE": "SE", "US": ""}


def _luhn_digit(digits: str) -> str:
    """The Luhn check digit to append to ``digits``."""
    total = 0
    double = True
    for ch in reversed(digits):
        d = ord(ch) - 48
        if double:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        double = not double
    return str((10 - total % 10) % 10)


def _mod_11_10_digit(digits: str) -> str:
    check = 5
    for ch in digits:
        check = (((check or 10) * 2) % 11 + ord(ch) - 48) % 10
    return str((1 - ((check or 10) * 2) % 11) % 10)


def _digits(rng: random.Random, n: int, first_nonzero: bool = True) -> str:
    lo = 10 ** (n - 1) if first_nonzero else 0
    return str(_randrange(rng, lo, 10 ** n)).zfill(n)


# The check digits of each country's VAT id, from its digit body (shared by the random and the numbered ids).

def _gb_vat(body: str, base: int = 0) -> str:
    """GB, 7 digits, 2 check digits: ``base`` 0 the mod-97 scheme, 55 the "9755" one."""
    s = sum(w * (ord(c) - 48) for w, c in zip((8, 7, 6, 5, 4, 3, 2), body))
    return f"GB{body}{(base - s) % 97:02d}"


def _de_vat(body: str) -> str:
    return "DE" + body + _mod_11_10_digit(body)


def _fr_vat(body: str) -> tuple[str, str]:
    """The VAT id and the SIREN of an 8-digit body."""
    siren = body + _luhn_digit(body)
    return f"FR{int(siren + '12') % 97:02d}{siren}", siren


def _nl_check(body: str) -> int:
    """The check digit of an 8-digit body; 10 means no valid id has this body."""
    return sum((9 - i) * (ord(c) - 48) for i, c in enumerate(body)) % 11


def _ie_vat(body: str, second: str = "") -> str:
    s = sum((8 - i) * (ord(c) - 48) for i, c in enumerate(body)) + 9 * _IE_ALPHABET.index(second)
    return f"IE{body}{_IE_ALPHABET[s % 23]}{second}"


def _es_cif(letter: str, body: str) -> str:
    return letter + body + _luhn_digit(body)


def _it_vat(body: str) -> str:
    return "IT" + body + _luhn_digit(body)


def _be_number(head: str) -> str:
    return f"{head}{97 - int(head) % 97:02d}"


def _se_org(body: str) -> str:
    return body + _luhn_digit(body)


def make_tax_and_registration(country: str, rng: random.Random, form: str = "", city_extra: str | None = None) -> tuple[str, str]:
    """A valid VAT id (compact, with country prefix; an EIN for the US) and a
    company registration number, as the company itself would write them."""
    if country == "GB":
        body = _digits(rng, 7)
        vat = _gb_vat(body, 0 if rng.random() < 0.5 else 55)
        if form.startswith("LLP") or form.startswith("L.L.P"):
            reg = f"OC{_randrange(rng, 300000, 440000)}"
        elif city_extra in ("SC", "NI"):
            reg = f"{city_extra}{_randrange(rng, 100000, 800000)}"
        else:
            reg = f"{_randrange(rng, 1_000_000, 15_000_000):08d}"
        return vat, reg
    if country == "DE":
        vat = _de_vat(_digits(rng, 8))
        kind = "HRA" if "KG" in form else "HRB"
        reg = f"{kind} {_randrange(rng, 1000, 250000)}"
        if city_extra == "B" and kind == "HRB":
            reg += " B"
        return vat, reg
    if country == "FR":
        while True:
            body = _digits(rng, 8)
            if body[:3] != "000":
                break
        return _fr_vat(body)
    if country == "NL":
        while True:
            body = _digits(rng, 8)
            check = _nl_check(body)
            if check < 10:
                break
        suffix = "B01" if rng.random() < 0.9 else _choice(rng, ("B02", "B03", "B04"))
        return f"NL{body}{check}{suffix}", f"{_randrange(rng, 10_000_000, 99_999_999)}"
    if country == "IE":
        body = _digits(rng, 7)
        second = "H" if rng.random() < 0.25 else ""
        return _ie_vat(body, second), f"{_randrange(rng, 100000, 760000)}"
    if country == "ES":
        letter = "A" if form.startswith("S.A") and not form.startswith("S.L") else "B"
        body = f"{_randrange(rng, 1, 53):02d}{_randrange(rng, 0, 100000):05d}"
        cif = _es_cif(letter, body)
        return "ES" + cif, cif
    if country == "IT":
        while True:
            body = _digits(rng, 7, first_nonzero=False)
            if int(body):
                break
        body += f"{_randrange(rng, 1, 101):03d}"
        prov = city_extra or "MI"
        return _it_vat(body), f"{prov}-{_randrange(rng, 100000, 2600000)}"
    if country == "BE":
        num = _be_number("0" + _digits(rng, 7))
        return "BE" + num, f"{num[:4]}.{num[4:7]}.{num[7:]}"
    if country == "SE":
        org = _se_org("55" + _digits(rng, 7, first_nonzero=False))
        return f"SE{org}01", f"{org[:6]}-{org[6:]}"
    if country == "US":
        ein = f"{_choice(rng, _US_EIN_PREFIXES)}-{_digits(rng, 7, first_nonzero=False)}"
        reg = f"{_randrange(rng, 2_000_000, 7_999_999)}" if rng.random() < 0.4 else ""
        return ein, reg
    raise ValueError(f"no tax id scheme for {country}")


# ----------------------------------------------------------------------------
# How people write them
# ----------------------------------------------------------------------------

def format_tax_id(vat: str, country: str, style: int) -> str:
    """Render a compact tax id in one of the spellings systems hold.

    style 0: compact as registered ("DE123456789");
    style 1: with the separators of the national format ("DE 123 456 789");
    style 2: without the country prefix ("123456789");
    style 3: lower-case / other odd spelling ("de123456789").
    """
    if style == 0:
        return vat
    if country == "US":
        if style == 2:
            return vat.replace("-", "")
        return vat
    prefix, body = vat[:2], vat[2:]
    if style == 2:
        if country == "ES" and len(body) == 9:
            return body
        if country == "BE":
            return f"{body[:4]}.{body[4:7]}.{body[7:]}"
        return body
    if style == 3:
        if country == "ES":
            return f"{prefix}-{body}"
        return vat.lower() if country in ("NL", "IE", "ES") else f"{prefix} {body}"
    # style 1: national separators
    if country == "GB":
        return f"GB {body[:3]} {body[3:7]} {body[7:]}"
    if country == "DE":
        return f"DE {body[:3]} {body[3:6]} {body[6:]}"
    if country == "FR":
        return f"FR {body[:2]} {body[2:5]} {body[5:8]} {body[8:]}"
    if country == "NL":
        return f"NL {body[:4]}.{body[4:6]}.{body[6:9]}.{body[9:]}"
    if country == "IE":
        return f"IE {body}"
    if country == "ES":
        return f"ES {body}"
    if country == "IT":
        return f"IT {body}"
    if country == "BE":
        return f"BE {body[:4]}.{body[4:7]}.{body[7:]}"
    if country == "SE":
        return f"SE {body[:6]}-{body[6:10]} {body[10:]}"
    return vat


def format_registration(reg: str, country: str, style: int) -> str:
    """A registration number with or without its usual separators."""
    if not reg or style == 0:
        return reg
    if country == "DE":
        return reg.replace(" ", "", 1)
    if country == "FR":
        return f"{reg[:3]} {reg[3:6]} {reg[6:]}"
    if country in ("BE", "SE"):
        return reg.replace(".", "").replace("-", "")
    if country == "GB" and reg.isdigit():
        return reg.lstrip("0")
    return reg


def corrupt_tax_id(vat: str, country: str, rng: random.Random) -> str:
    """The same tax id with a typing error that breaks its check digits."""
    if country == "US":
        return _choice(rng, _US_EIN_BAD_PREFIXES) + vat[2:]
    start = 0 if country == "US" else 2
    positions = [i for i in range(start, len(vat)) if vat[i].isdigit()]
    for _ in range(20):
        i = _choice(rng, positions)
        if rng.random() < 0.5 and i + 1 < len(vat) and vat[i + 1].isdigit() and vat[i] != vat[i + 1]:
            bad = vat[:i] + vat[i + 1] + vat[i] + vat[i + 2:]  # transposed digits
        else:
            bad = vat[:i] + str((int(vat[i]) + _randrange(rng, 1, 10)) % 10) + vat[i + 1:]
        if not is_valid_tax_id(bad, country):
            return bad
    return vat[:-1]  # a dropped digit is always wrong


# ----------------------------------------------------------------------------
# Reference validation (python-stdnum)
# ----------------------------------------------------------------------------

_MODULES: dict[str, object] = {}


def _module(country: str):
    mod = _MODULES.get(country)
    if mod is None:
        if country == "GB":
            from stdnum.gb import vat as mod
        elif country == "US":
            from stdnum.us import ein as mod
        else:
            from stdnum.util import get_cc_module

            mod = get_cc_module(country.lower(), "vat")
        _MODULES[country] = mod
    return mod


def is_valid_tax_id(value: str, country: str) -> bool:
    """True when python-stdnum accepts ``value`` as a tax id of ``country``
    (a VAT number with or without prefix; an EIN for the US)."""
    if not value:
        return False
    value = value.strip()
    head = value[:2].upper()
    if head.isalpha() and head in VAT_PREFIX and head != country and country != "US":
        country = head  # a foreign VAT number carries its own prefix
    return bool(_module(country).is_valid(value))


def make_lei(rng: random.Random) -> str:
    """A 20-character LEI with valid ISO 17442 (mod 97-10) check digits."""
    base = _choice(rng, _LEI_LOUS) + "00" + "".join(_choice(rng, _ALNUM) for _ in range(12))
    numeric = "".join(str(_ALNUM.index(c)) for c in base + "00")
    return f"{base}{98 - int(numeric) % 97:02d}"


def make_duns(rng: random.Random) -> str:
    return f"{_randrange(rng, 10_000_000, 999_999_999):09d}"


# ----------------------------------------------------------------------------
# The firm's own legal entities' VAT numbers (fixed, whatever the seed)
# ----------------------------------------------------------------------------

def fixed_tax_id(country: str, salt: int) -> str:
    return make_tax_and_registration(country, random.Random(7_000_003 + salt), "Limited" if country in ("GB", "IE") else "")[0]


# ----------------------------------------------------------------------------
# One distinct valid VAT id per number, for synthetic data at scale
# ----------------------------------------------------------------------------

def numbered_tax_id(country: str, n: int) -> str:
    """A valid VAT id of ``country`` that no other ``n`` (0 to 8,999,999)
    gives: the number is the id's body, the check digits are computed."""
    if not 0 <= n < 9_000_000:
        raise ValueError("n: from 0 to 8,999,999")
    seven, eight = f"{1_000_000 + n:07d}", f"{10_000_000 + n:08d}"
    if country == "GB":
        return _gb_vat(seven)
    if country == "DE":
        return _de_vat(eight)
    if country == "FR":
        return _fr_vat(eight)[0]
    if country == "NL":
        # the body's last digit weighs 2: one of ten makes the check digit < 10
        body = next(seven + last for last in "0123456789" if _nl_check(seven + last) < 10)
        return f"NL{body}{_nl_check(body)}B01"
    if country == "IE":
        return _ie_vat(seven)
    if country == "ES":
        return "ES" + _es_cif("B", f"{10 + n // 100_000:02d}{n % 100_000:05d}")
    if country == "IT":
        return _it_vat(seven + "001")
    if country == "SE":
        return f"SE{_se_org('55' + seven)}01"
    if country == "BE":
        return "BE" + _be_number("0" + seven)
    raise ValueError(f"no tax id scheme for {country}")
