"""Synthetic approved golden customers at scale, for ``bench_api`` and
``load_test``.

Writing a million customers through the ingest path would take hours, so
the rows go straight into the tables with PostgreSQL's COPY, shaped as the
ingest path would leave them: each golden has one CRM source record (the
payload in CRM's own field names, mapped to canonical values by the real
field mappings), the cross-reference to it, per-field lineage computed by
the real survivorship build, its blocking keys (so real-time matching has
the index it has in production) and the change-feed event its approval
wrote.  No history rows are written for these synthetic goldens.

Rows already there are reused: a 1,000,000 run after a 100,000 run only
adds the difference."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from django.db import connection
from django.utils import timezone

from mdm.demo.taxids import numbered_tax_id

WORDS_B = ("Analytics Logistics Systems Dynamics Solutions Partners Holdings Industries Consulting Advisory "
           "Engineering Networks Resources Ventures Capital Energy Foods Pharma Robotics Software Media Labs "
           "Health Insurance Finance Textiles Metals Chemicals Plastics Motors Aviation Marine Rail Freight "
           "Construction Realty Interiors Design Print Packaging Water Power Solar Wind Mining Timber Paper "
           "Security Telecom Data Cloud Devices Optics Sensors Tools Machines Instruments Retail Fashion").split()
WORDS_C = ("Group Company Trading Services International Europe Worldwide Technologies Associates Brothers "
           "Enterprises Alliance Collective Works Studio Agency Network Bureau Institute Foundation").split()
FORMS = ("Ltd", "GmbH", "BV", "SAS", "SA", "AB", "plc", "Srl")
COUNTRIES = (("GB", "GBP", "London"), ("DE", "EUR", "Berlin"), ("NL", "EUR", "Amsterdam"), ("FR", "EUR", "Paris"),
             ("SE", "SEK", "Stockholm"), ("ES", "EUR", "Madrid"), ("IT", "EUR", "Milan"), ("IE", "EUR", "Dublin"))
SYLLABLES = ("ka lo mi ra te su no vi da pe ro ze ba li mo tu ne sa fi go ha ju ke la ma ni po qu re si "
             "ta vo wa xe ya zo bri cla dre fro").split()

#: source ids of the synthetic CRM records: ``LT-<index>``
SOURCE_PREFIX = "LT-"
BATCH = 50_000

GOLDEN_COLUMNS = ("id", "state", "version", "lineage", "is_valid", "created_at", "updated_at", "approved_at",
                  "legal_name", "trading_name", "tax_id", "registration_number", "lei", "duns", "website", "phone",
                  "email", "address_line", "city", "postcode", "country", "currency", "payment_terms", "industry",
                  "account_owner", "status")


def company(i: int) -> dict:
    """A deterministic, distinct synthetic company for index ``i`` (brand
    names from syllables, so name blocks stay realistically small)."""
    n_syl = len(SYLLABLES)
    brand = (SYLLABLES[i % n_syl] + SYLLABLES[(i // n_syl) % n_syl] + SYLLABLES[(i // n_syl ** 2) % n_syl]).title()
    rest = i // n_syl ** 3
    b = WORDS_B[rest % len(WORDS_B)]
    c = WORDS_C[(rest // len(WORDS_B)) % len(WORDS_C)]
    country, currency, city = COUNTRIES[(i * 7) % len(COUNTRIES)]
    name = f"{brand} {b} {c} {FORMS[(i * 3) % len(FORMS)]}"
    return {
        "legal_name": name,
        "tax_id": numbered_tax_id(country, i // len(COUNTRIES)),  # valid: an edit can be approved
        "country": country,
        "currency": currency,
        "city": city,
        "postcode": f"{10000 + i % 89999}",
        "website": f"{brand}{b}{i}.example".lower(),
        "payment_terms": "NET30",
        "status": "active",
    }


def crm_payload(c: dict) -> dict:
    """The company as the CRM sends it (its own field names)."""
    return {"LegalName": c["legal_name"], "VATNumber": c["tax_id"], "Website": c["website"],
            "BillingCity": c["city"], "BillingPostalCode": c["postcode"], "BillingCountry": c["country"],
            "CurrencyIsoCode": c["currency"], "AccountStatus": "Active"}


def erp_record(source_id: str, c: dict, **changes) -> dict:
    """A ``POST /api/v1/source-records/`` body for the company as the ERP sends it."""
    data = {"customer_name": c["legal_name"], "vat_id": c["tax_id"], "country_code": c["country"],
            "currency": c["currency"], "city": c["city"], "zip": c["postcode"],
            "payment_terms": c.get("payment_terms") or "NET30", "status": "active"}
    data.update(changes)
    return {"entity_type": "customer", "source_id": source_id, "data": data}


def ensure_customers(target: int, log=print) -> int:
    """Make sure at least ``target`` golden customers exist (PostgreSQL);
    returns how many were added."""
    from mdm.models import Customer, SourceSystem
    from mdm.services.ingest import content_hash
    from mdm.services.mapping import map_payload
    from mdm.services.matching import blocking_keys, stored_form
    from mdm import survivorship

    have = Customer.objects.count()
    if have >= target:
        _ensure_history(log)
        return 0
    crm = SourceSystem.objects.get(code="crm")
    rules = survivorship.rules_for("customer")
    base = timezone.now() - dt.timedelta(days=30)
    rng = random.Random()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for start in range(have, target, BATCH):
            stop = min(target, start + BATCH)
            cursor.execute("SELECT nextval(pg_get_serial_sequence('mdm_sourcerecord', 'id')) "
                           "FROM generate_series(1, %s)", [stop - start])
            sr_ids = [r[0] for r in cursor.fetchall()]
            goldens, sources, xrefs, events, keys = [], [], [], [], []
            # everything is computed first: the matcher may query, which a COPY in flight forbids
            for sr_id, i in zip(sr_ids, range(start, stop)):
                c = company(i)
                gid = uuid.UUID(int=rng.getrandbits(128), version=4)
                at = base + dt.timedelta(milliseconds=i)
                iso = at.isoformat()
                payload = crm_payload(c)
                canonical, errors = map_payload(crm, "customer", payload)
                if errors:
                    raise ValueError(f"synthetic CRM record {i} does not map: {errors}")
                sid = f"{SOURCE_PREFIX}{i}"
                src = survivorship.Source(id=sr_id, system="crm", source_id=sid, trust_rank=crm.trust_rank,
                                          updated_at=at.strftime("%Y-%m-%dT%H:%M:%S.%f"), canonical=canonical)
                values, lineage, _ = survivorship.build("customer", [src], rules, now=iso)
                row = [gid, "approved", 1, _json(lineage), True, at, at, at]
                row += [values.get(col) or "" for col in GOLDEN_COLUMNS[8:]]
                row.append(_json(stored_form("customer", values)))
                goldens.append(row)
                sources.append((sr_id, crm.pk, "customer", sid, _json(payload), _json(canonical),
                                content_hash(payload), at, at))
                xrefs.append(("customer", gid, crm.pk, sid, "source", sr_id, at, at))
                events.append(("customer", gid, 1, "approved", "approved", "{}", "", at))
                keys += [(gid, key) for key in blocking_keys("customer", {k: v for k, v in values.items() if v})]
            copies = (
                (f"mdm_customer ({', '.join(GOLDEN_COLUMNS)}, match_form)", goldens),
                ("mdm_sourcerecord (id, system_id, entity_type, source_id, payload, canonical, content_hash, "
                 "received_at, updated_at)", sources),
                ("mdm_crossreference (entity_type, golden_id, system_id, external_id, role, source_record_id, "
                 "created_at, updated_at)", xrefs),
                ("mdm_changeevent (entity_type, golden_id, version, change, state, extra, correlation_id, "
                 "created_at)", events),
                ("mdm_blockingkey (golden_id, key, entity_type)", [(g, k, "customer") for g, k in keys]),
            )
            for table, rows in copies:
                with raw.copy(f"COPY {table} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            log(f"  … {stop:,} customers")
        for table in ("mdm_customer", "mdm_sourcerecord", "mdm_crossreference", "mdm_changeevent",
                      "mdm_blockingkey"):
            cursor.execute(f"ANALYZE {table}")
    _ensure_history(log)
    return target - have


def _ensure_history(log=print) -> None:
    """Each customer's first history row (created and approved), as the ingest
    and approval paths leave it: a record changed later awaits re-approval and
    is listed at this version, read from history (without it, such records
    would drop out of the lists and the polls would read almost nothing)."""
    columns = ", ".join(GOLDEN_COLUMNS)
    # (a customer changed by an earlier run before its row existed gets one too, at the approval time)
    values = ", ".join("'approved'" if c == "state" else f"c.{c}" for c in GOLDEN_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO mdm_historicalcustomer ({columns}, history_date, history_change_reason, history_type, "
            f"history_origin, history_actor, history_correlation_id) "
            f"SELECT {values}, c.approved_at, 'load test data', '+', 'import', 'load test', '' FROM mdm_customer c "
            f"WHERE c.approved_at IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM mdm_historicalcustomer h WHERE h.id = c.id AND h.state = 'approved')")
        if cursor.rowcount:
            log(f"  … {cursor.rowcount:,} customers' first history rows written")
            cursor.execute("ANALYZE mdm_historicalcustomer")


def _json(value) -> str:
    import orjson

    return orjson.dumps(value).decode()


def approve_earlier_edits(log=print) -> int:
    """Approve the customers earlier runs changed that pass validation, as a
    steward would between two working days, so that each run starts from
    the same state: otherwise every run leaves more records awaiting
    approval, each served from history, and runs stop being comparable.
    New companies posted without a billing legal entity fail validation
    and stay pending, as they would in production.  Returns how many."""
    from mdm.audit import audit_context
    from mdm.choices import LifecycleState, Origin
    from mdm.models import Customer
    from mdm.services import golden as golden_svc

    ids = list(Customer.objects.filter(state=LifecycleState.PENDING, is_valid=True).values_list("pk", flat=True))
    approved = 0
    with audit_context(origin=Origin.SYSTEM, reason="load test: edits of earlier runs approved before the next"):
        for done, pk in enumerate(ids, 1):
            try:
                golden_svc.approve(Customer(pk=pk), actor=None)
                approved += 1
            except golden_svc.ServiceError:  # failed validation since (a rule changed): left for a steward
                pass
            if done % 1000 == 0 or done == len(ids):
                log(f"  … {done:,} of {len(ids):,} changed customers approved")
    return approved
