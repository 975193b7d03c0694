"""Inbound from Tryton: read companies, parties and projects and feed them
through the hub's one ingest path as source records of the ``tryton`` system.

Records the hub itself delivered to Tryton (a target cross-reference holds
their Tryton id) are echoes of golden records and are skipped, so a round
trip never turns the hub's own output into a second source.  Companies come
first (as legal entities) and parties before projects, so references
resolve.  ``since`` limits the read to records created or written after it;
re-reading a record is harmless (same content → "unchanged")."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from mdm.audit import audit_context
from mdm.choices import EntityType, Origin, XrefRole
from mdm.models import CrossReference, SourceRecord
from mdm.services.ingest import IngestError, ingest_many

CHUNK = 500  # records ingested together
from sync.connectors.tryton.client import TrytonClient
from sync.connectors.tryton.setup import ensure_tryton_system

PAGE = 200
PARTY_FIELDS = ["name", "code", "active", "write_date", "create_date", "identifiers.type", "identifiers.code",
                "addresses.street", "addresses.postal_code", "addresses.city", "addresses.country.code",
                "contact_mechanisms.type", "contact_mechanisms.value"]
COMPANY_FIELDS = ["party", "party.name", "party.code", "currency.code", "write_date", "create_date",
                  "party.identifiers.type", "party.identifiers.code", "party.addresses.country.code"]
PROJECT_FIELDS = ["name", "number", "type", "party", "company", "company.currency.code", "status.name",
                  "write_date", "create_date"]
TAX_TYPES = ("eu_vat", "gb_vat", "ch_vat", "de_vat", "fr_tva", "nl_btw", "be_vat", "es_nif", "it_iva")


@dataclass
class PullReport:
    counts: Counter = field(default_factory=Counter)  # "<entity>:<outcome>" -> n
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (entity, source id, message)
    skipped_echoes: int = 0
    seconds: float = 0.0
    newest_write: dt.datetime | None = None

    @property
    def records(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        parts = [f"{k} {v}" for k, v in sorted(self.counts.items())]
        rate = self.records / self.seconds if self.seconds else 0.0
        return (f"{self.records} records in {self.seconds:.1f} s ({rate:.1f} records/s): {', '.join(parts) or '-'}; "
                f"{self.skipped_echoes} hub deliveries skipped; {len(self.errors)} refused")


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _first_tax_id(identifiers: list[dict]) -> str | None:
    for ident in identifiers or []:
        if ident.get("type") in TAX_TYPES or (ident.get("type") or "").endswith(("_vat", "_tva")):
            return ident.get("code")
    return None


def flatten_party(row: dict) -> dict:
    """A Tryton party (with its first address, tax identifier and contact
    mechanisms) as the flat payload the ``tryton`` mapping reads."""
    address = (row.get("addresses.") or [{}])[0] or {}
    contacts = {}
    for cm in row.get("contact_mechanisms.") or []:
        contacts.setdefault(cm.get("type"), cm.get("value"))
    data = {
        "id": row["id"],
        "code": row.get("code"),
        "name": row.get("name"),
        "vat": _first_tax_id(row.get("identifiers.")),
        "street": address.get("street"),
        "postal_code": address.get("postal_code"),
        "city": address.get("city"),
        "country": (address.get("country.") or {}).get("code"),
        "email": contacts.get("email"),
        "phone": contacts.get("phone") or contacts.get("mobile"),
        "website": contacts.get("website"),
        "active": bool(row.get("active", True)),
        "write_date": _iso(row.get("write_date") or row.get("create_date")),
    }
    return {k: v for k, v in data.items() if v not in (None, "")}


def flatten_company(row: dict) -> dict:
    party = row.get("party.") or {}
    addresses = party.get("addresses.") or [{}]
    data = {
        "id": row["id"],
        "code": party.get("code"),
        "name": party.get("name"),
        "currency": (row.get("currency.") or {}).get("code"),
        "country": ((addresses[0] or {}).get("country.") or {}).get("code"),
        "vat": _first_tax_id(party.get("identifiers.")),
        "write_date": _iso(row.get("write_date") or row.get("create_date")),
    }
    return {k: v for k, v in data.items() if v not in (None, "")}


def flatten_project(row: dict) -> dict:
    data = {
        "id": row["id"],
        "number": row.get("number") or f"TRY-{row['id']}",
        "name": row.get("name"),
        "party": str(row["party"]) if row.get("party") else None,
        "company": str(row["company"]) if row.get("company") else None,
        "currency": ((row.get("company.") or {}).get("currency.") or {}).get("code"),
        "status": (row.get("status.") or {}).get("name"),
        "write_date": _iso(row.get("write_date") or row.get("create_date")),
    }
    return {k: v for k, v in data.items() if v not in (None, "")}


def _since_domain(since: dt.datetime | None) -> list:
    if since is None:
        return []
    since = since.astimezone(dt.timezone.utc).replace(tzinfo=None) if since.tzinfo else since
    return [["OR", ["write_date", ">=", since], ["create_date", ">=", since]]]


def _echo_ids(system, entity_type: str) -> set[str]:
    return set(CrossReference.objects.filter(system=system, entity_type=entity_type, role=XrefRole.TARGET)
               .values_list("external_id", flat=True))


def _pages(client: TrytonClient, model: str, domain: list, fields: list[str], context=None):
    offset = 0
    while True:
        rows = client.search_read(model, domain, fields, offset=offset, limit=PAGE, order=[["id", "ASC"]],
                                  context=context)
        yield from rows
        if len(rows) < PAGE:
            return
        offset += PAGE


def count_pending(client: TrytonClient, since: dt.datetime | None = None) -> int:
    """How many records a pull would read (for a progress bar)."""
    domain = _since_domain(since)
    return (client.search_count("company.company", domain)
            + client.search_count("party.party", domain + [["active", "in", [True, False]]])
            + client.search_count("project.work", domain + [["type", "=", "project"]]))


def pull(client: TrytonClient, *, since: dt.datetime | None = None, system_code: str = "tryton",
         progress=None, entity_types=("legal_entity", "customer", "project")) -> PullReport:
    """Read Tryton and ingest what it holds.  ``progress(n)`` is called after
    each record (for a progress bar)."""
    import time

    started = time.monotonic()
    system = ensure_tryton_system(system_code)
    report = PullReport()
    domain = _since_domain(since)
    tick = progress or (lambda n: None)

    buffer: list[tuple[str, dict]] = []

    def flush(entity_type: str) -> None:
        """Ingest the buffered records as one chunk through the ingest path."""
        if not buffer:
            return
        with audit_context(origin=Origin.SYNC, reason=f"sync:{system.code} pull"):
            results = ingest_many(system=system, entity_type=entity_type, items=list(buffer))
        for (sid, _), result in zip(buffer, results):
            if isinstance(result, IngestError):
                report.errors.append((entity_type, sid, str(result)))
                report.counts[f"{entity_type}:rejected"] += 1
            else:
                report.counts[f"{entity_type}:{result.outcome}"] += 1
        buffer.clear()

    def feed(entity_type: str, data: dict) -> None:
        sid = str(data["id"])
        write = data.get("write_date")
        if write:
            stamp = dt.datetime.fromisoformat(write)
            report.newest_write = max(report.newest_write or stamp, stamp)
        buffer.append((sid, data))
        if len(buffer) >= CHUNK:
            flush(entity_type)

    companies = list(_pages(client, "company.company", [], ["party"]))
    company_parties = {c["party"] for c in companies}
    plan = (
        (EntityType.LEGAL_ENTITY, "company.company", domain, COMPANY_FIELDS, flatten_company),
        (EntityType.CUSTOMER, "party.party", domain + [["active", "in", [True, False]]], PARTY_FIELDS,
         flatten_party),
        (EntityType.PROJECT, "project.work", domain + [["type", "=", "project"]], PROJECT_FIELDS, flatten_project),
    )
    for entity_type, model, dom, fields, flatten in plan:
        if entity_type not in entity_types:
            continue
        echoes = _echo_ids(system, entity_type)
        for row in _pages(client, model, dom, fields, context={"active_test": False}):
            tick(1)
            if entity_type == EntityType.CUSTOMER and row["id"] in company_parties:
                continue  # the firm's own companies come in as legal entities
            if str(row["id"]) in echoes:
                report.skipped_echoes += 1
                continue
            feed(entity_type, flatten(row))
        flush(entity_type)
    report.seconds = time.monotonic() - started
    return report


def last_pulled_at(system_code: str = "tryton") -> dt.datetime | None:
    """The newest Tryton ``write_date`` among the records already pulled
    (the periodic pull's resume point)."""
    newest = None
    for payload in (SourceRecord.objects.filter(system__code=system_code).order_by("-updated_at")
                    .values_list("payload", flat=True)[:500]):
        stamp = (payload or {}).get("write_date")
        if stamp:
            value = dt.datetime.fromisoformat(stamp)
            newest = max(newest or value, value)
    return newest
