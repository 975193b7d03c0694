"""Validation rules that keep a golden record out of *approved*.

Each rule yields ``Issue(rule, field, message, hint)``; the messages are for
stewards, the hints say what would fix it.  Failures land on the exception
queue (``ValidationIssue``) and clear when the data is fixed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import import_module

from stdnum.exceptions import ValidationError as StdnumError

from mdm.choices import BillingModel, EntityType, LifecycleState, SystemKind
from mdm.services import values as v


@dataclass(frozen=True)
class Issue:
    rule: str
    field: str
    message: str
    hint: str = ""


RULE_LABELS = {
    "name_required": "Name missing",
    "tax_id_invalid": "Invalid tax / VAT id",
    "tax_id_required": "Tax id required for ERP",
    "country_invalid": "Invalid country code",
    "currency_invalid": "Invalid currency code",
    "erp_required": "Required for ERP",
    "reference_missing": "Missing reference",
    "reference_retired": "Reference retired or merged",
    "hierarchy_cycle": "Hierarchy cycle",
    "dates_inverted": "End before start",
    "billing_model_invalid": "Unknown billing model",
    "code_required": "Code missing",
    "contract_customer_mismatch": "Contract of another customer",
}

# Countries whose businesses must carry a VAT id on invoices.
VAT_COUNTRIES = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "NO", "CH",
}
# stdnum module per country for VAT/tax ids (note: stdnum.eu.vat no longer covers GB).
_TAX_MODULES = {
    "GB": "stdnum.gb.vat", "DE": "stdnum.de.vat", "FR": "stdnum.fr.tva", "NL": "stdnum.nl.btw",
    "IE": "stdnum.ie.vat", "ES": "stdnum.es.nif", "IT": "stdnum.it.iva", "BE": "stdnum.be.vat",
    "SE": "stdnum.se.vat", "AT": "stdnum.at.uid", "DK": "stdnum.dk.cvr", "FI": "stdnum.fi.alv",
    "PL": "stdnum.pl.nip", "PT": "stdnum.pt.nif", "LU": "stdnum.lu.tva", "CH": "stdnum.ch.vat",
    "NO": "stdnum.no.mva", "US": "stdnum.us.ein", "CZ": "stdnum.cz.dic",
}


def tax_id_problem(tax_id: str, country: str) -> str | None:
    """None if ``tax_id`` is valid for ``country``, else why not."""
    module_name = _TAX_MODULES.get((country or "").upper())
    text = (tax_id or "").strip()
    if not module_name:
        return None  # no checker for this country: accept
    module = import_module(module_name)
    candidates = [text]
    if len(text) > 2 and text[:2].upper() == country.upper():
        candidates.append(text[2:])
    elif country.upper() != "US":
        candidates.append(country.upper() + text)
    for candidate in candidates:
        try:
            module.validate(candidate)
            return None
        except StdnumError:
            continue
        except Exception:  # noqa: BLE001 - a checker must never break validation
            continue
    return f"'{text}' is not a valid {country.upper()} tax id"


def _erp_bound(record) -> bool:
    """Will this record be sent to an ERP?  Yes if an ERP holds it, or a sync
    subscription sends this entity type to an ERP-kind system."""
    from mdm.models import CrossReference

    known = getattr(record, "_mdm_erp_bound", None)
    if known is not None:
        return known
    if CrossReference.objects.filter(
        entity_type=record.entity_type, golden_id=record.pk, system__kind=SystemKind.ERP
    ).exists():
        return True
    try:
        from sync.selectors import erp_subscribed
    except ImportError:
        return False
    return erp_subscribed(record.entity_type)


def _ref_issues(record, field: str, label: str, required: bool):
    ref = getattr(record, field, None)
    if ref is None:
        unresolved = (record.lineage or {}).get(field, {}).get("unresolved")
        if unresolved:
            yield Issue("reference_missing", field, f"{label} '{unresolved}' is not known to the hub",
                        f"Send the {label.lower()} first, or correct the reference")
        elif required:
            yield Issue("reference_missing", field, f"{label} is missing", f"Set the {label.lower()}")
        return
    if ref.state in (LifecycleState.RETIRED, LifecycleState.MERGED):
        yield Issue("reference_retired", field, f"{label} {ref} is {ref.state}",
                    f"Point it at an active {label.lower()}")


def _customer(record):
    if not (record.legal_name or record.trading_name):
        yield Issue("name_required", "legal_name", "The customer has no name", "Enter the legal name")
    if record.country and not v.valid_country(record.country):
        yield Issue("country_invalid", "country", f"'{record.country}' is not an ISO country code",
                    "Use the two-letter code, e.g. GB")
    if record.currency and not v.valid_currency(record.currency):
        yield Issue("currency_invalid", "currency", f"'{record.currency}' is not an ISO currency code",
                    "Use the three-letter code, e.g. EUR")
    if record.tax_id and record.country:
        problem = tax_id_problem(record.tax_id, record.country)
        if problem:
            yield Issue("tax_id_invalid", "tax_id", problem, "Check the VAT id against the registry")
    yield from _ref_issues(record, "parent", "Parent customer", required=False)
    yield from _ref_issues(record, "legal_entity", "Legal entity", required=False)
    seen, node = {record.pk}, record.parent
    while node is not None:
        if node.pk in seen:
            yield Issue("hierarchy_cycle", "parent", "The parent chain loops back to this customer",
                        "Choose a parent outside this customer's own group branch")
            break
        seen.add(node.pk)
        node = node.parent
    if _erp_bound(record):
        if not record.legal_entity_id:
            yield Issue("erp_required", "legal_entity", "ERP needs the billing legal entity",
                        "Set which of the firm's entities bills this customer")
        if not record.currency:
            yield Issue("erp_required", "currency", "ERP needs a currency", "Set the invoicing currency")
        if not record.payment_terms:
            yield Issue("erp_required", "payment_terms", "ERP needs payment terms", "Set payment terms, e.g. NET30")
        if not record.tax_id and (record.country or "").upper() in VAT_COUNTRIES:
            yield Issue("tax_id_required", "tax_id", f"ERP needs a VAT id for customers in {record.country}",
                        "Enter the VAT id")


def _legal_entity(record):
    if not record.code:
        yield Issue("code_required", "code", "The legal entity has no code", "Enter its company code")
    if not record.name:
        yield Issue("name_required", "name", "The legal entity has no name", "Enter its registered name")
    if not v.valid_country(record.country or ""):
        yield Issue("country_invalid", "country", f"'{record.country}' is not an ISO country code",
                    "Use the two-letter code")
    if not v.valid_currency(record.base_currency or ""):
        yield Issue("currency_invalid", "base_currency", f"'{record.base_currency}' is not an ISO currency code",
                    "Use the three-letter code")
    if record.tax_registration and record.country:
        problem = tax_id_problem(record.tax_registration, record.country)
        if problem:
            yield Issue("tax_id_invalid", "tax_registration", problem, "Check the registration number")


def _dates_and_money(record):
    if record.start_date and record.end_date and _as_date(record.end_date) < _as_date(record.start_date):
        yield Issue("dates_inverted", "end_date", "The end date is before the start date", "Correct either date")
    if record.currency and not v.valid_currency(record.currency):
        yield Issue("currency_invalid", "currency", f"'{record.currency}' is not an ISO currency code",
                    "Use the three-letter code")
    if record.billing_model and record.billing_model not in BillingModel.values:
        yield Issue("billing_model_invalid", "billing_model", f"'{record.billing_model}' is not a billing model",
                    "Map it to one of: " + ", ".join(BillingModel.values))


def _as_date(value):
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _contract(record):
    if not record.number:
        yield Issue("code_required", "number", "The contract has no number", "Enter the contract number")
    yield from _ref_issues(record, "customer", "Customer", required=True)
    yield from _ref_issues(record, "legal_entity", "Legal entity", required=True)
    yield from _dates_and_money(record)
    if _erp_bound(record):
        if not record.currency:
            yield Issue("erp_required", "currency", "ERP needs a currency", "Set the contract currency")
        if not record.payment_terms:
            yield Issue("erp_required", "payment_terms", "ERP needs payment terms", "Set payment terms")


def _project(record):
    if not record.code:
        yield Issue("code_required", "code", "The project has no code", "Enter the project code")
    yield from _ref_issues(record, "customer", "Customer", required=True)
    yield from _ref_issues(record, "legal_entity", "Legal entity", required=True)
    yield from _ref_issues(record, "contract", "Contract", required=False)
    if record.contract_id and record.customer_id and record.contract.customer_id not in (None, record.customer_id):
        yield Issue("contract_customer_mismatch", "contract", "The contract belongs to another customer",
                    "Pick a contract of this project's customer")
    yield from _dates_and_money(record)


_VALIDATORS = {
    EntityType.CUSTOMER: _customer,
    EntityType.LEGAL_ENTITY: _legal_entity,
    EntityType.CONTRACT: _contract,
    EntityType.PROJECT: _project,
}


def validate(record) -> list[Issue]:
    return list(_VALIDATORS[record.entity_type](record))
