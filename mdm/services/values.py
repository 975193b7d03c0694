"""Parsing and checking single canonical values (dates, decimals, codes)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import pycountry

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d-%b-%Y", "%d-%B-%Y", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y", "%Y%m%d", "%d %b %Y", "%d %B %Y",
                "%b %d, %Y", "%B %d, %Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ")


class ValueError_(ValueError):
    """A value that cannot be read; its message is shown to the sender."""


def parse_date(value) -> str | None:
    """Any common date format → ISO ``YYYY-MM-DD``.  Day-first for slashed
    dates (``03/04/2025`` is 3 April), as every system here but US CRMs write."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        raise ValueError_(f"'{text}' is not a date (use YYYY-MM-DD)") from None


_THOUSANDS_DOT = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")


def parse_decimal(value) -> str | None:
    """``1,234.50``, ``1.234,50``, ``1234.5`` → ``"1234.50"`` (2 places)."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = Decimal(str(value))
    else:
        text = str(value).strip().replace(" ", "").replace("\u00a0", "")
        for symbol in ("€", "$", "£", "EUR", "USD", "GBP"):
            text = text.replace(symbol, "")
        if _THOUSANDS_DOT.match(text) or ("," in text and "." not in text and re.match(r"^-?\d+,\d{1,2}$", text)):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError_(f"'{value}' is not a number") from None
    if not number.is_finite() or abs(number) >= Decimal("1e14"):
        raise ValueError_(f"'{value}' is out of range")
    return str(number.quantize(Decimal("0.01")))


def parse_domain(value) -> str:
    """A URL or e-mail → its host name without ``www.`` (``https://www.acme.co.uk/x`` → ``acme.co.uk``)."""
    text = str(value or "").strip().lower()
    if not text:
        return ""
    if "@" in text and "/" not in text:
        text = text.rsplit("@", 1)[1]
    if "://" not in text:
        text = "http://" + text
    host = (urlsplit(text).hostname or "").strip(".")
    if host.startswith("www."):
        host = host[4:]
    return host


def valid_country(code: str) -> bool:
    return bool(code) and len(code) == 2 and pycountry.countries.get(alpha_2=code.upper()) is not None


def valid_currency(code: str) -> bool:
    return bool(code) and len(code) == 3 and pycountry.currencies.get(alpha_3=code.upper()) is not None


_COUNTRY_NAMES: dict[str, str] = {}


def country_code(value: str) -> str:
    """``GB``, ``gb``, ``United Kingdom``, ``Deutschland`` → ISO alpha-2 where it can be told; else as given."""
    text = (value or "").strip()
    if not text:
        return ""
    if len(text) == 2:
        return text.upper()
    if not _COUNTRY_NAMES:
        for c in pycountry.countries:
            for name in (c.name, getattr(c, "common_name", None), getattr(c, "official_name", None), c.alpha_3):
                if name:
                    _COUNTRY_NAMES[name.lower()] = c.alpha_2
        _COUNTRY_NAMES.update({"uk": "GB", "england": "GB", "great britain": "GB", "deutschland": "DE",
                               "usa": "US", "united states of america": "US", "nederland": "NL",
                               "españa": "ES", "italia": "IT", "sverige": "SE", "belgique": "BE"})
    return _COUNTRY_NAMES.get(text.lower(), text.upper())
