"""How each demo source system spells coded values and dates.

The hub maps these to canonical values; the demo writes them exactly as the
source systems below would.  Values are shown as the systems write them — the
field mappings in ``mdm.defaults`` lower-case some of them on the way in
(``BillingModel``, ``billing_type`` and all ``status`` fields use the
``lower`` transform), so the ``*_ALIASES`` dicts are keyed by the lower-cased
spelling.
"""

from __future__ import annotations

# Canonical billing model (mdm.choices.BillingModel) -> how the system writes it.
# ERP contracts carry no billing model (not in MAPPINGS["erp"]["contract"]).
BILLING_MODEL_SPELLINGS: dict[str, dict[str, str]] = {
    "crm": {  # Salesforce picklist labels on the Contract object (BillingModel)
        "time_and_materials": "Time & Materials",
        "fixed_fee": "Fixed Fee",
        "retainer": "Retainer",
        "milestone": "Milestone",
    },
    "psa": {  # PSA project billing type (billing_type)
        "time_and_materials": "T&M",
        "fixed_fee": "Fixed Price",
        "retainer": "Retainer",
        "milestone": "Milestone Billing",
    },
}

# Canonical status -> system spelling, per system and entity type.
STATUS_SPELLINGS: dict[str, dict[str, dict[str, str]]] = {
    "crm": {
        "customer": {"active": "Active", "prospect": "Prospect", "inactive": "Inactive", "blocked": "Active"},
        "contract": {"draft": "Draft", "active": "Activated", "expired": "Expired", "terminated": "Terminated"},
    },
    "erp": {
        "customer": {"active": "ACTIVE", "blocked": "BLOCKED", "inactive": "ARCHIVED"},
        "contract": {"active": "RELEASED", "expired": "CLOSED", "terminated": "CANCELLED", "draft": "OPEN"},
    },
    "psa": {
        "customer": {"active": "Active", "prospect": "Active", "inactive": "Inactive", "blocked": "Active"},
        "project": {"planned": "Planned", "active": "In Progress", "on_hold": "On Hold",
                    "completed": "Completed", "cancelled": "Cancelled"},
    },
}

# strftime/strptime formats of date fields (C locale for %b).  ERP writes an
# open-ended contract's valid_to as 31.12.9999 (SAP style); CRM leaves EndDate
# empty; PSA always has an end date.
DATE_FORMATS = {"crm": "%Y-%m-%d", "erp": "%d.%m.%Y", "psa": "%d-%b-%Y"}
ERP_OPEN_END = "31.12.9999"

# Amounts: plain decimal strings with a dot, no thousands separator, no
# currency symbol ("125000.00" ERP; "125000" or "125000.00" CRM; PSA budgets
# "98500" or "98500.00").
# ERP customer/contract payment terms codes.
PAYMENT_TERMS = ("NET14", "NET30", "NET45", "NET60", "NET90")

# Lower-cased spelling -> canonical value, for whoever normalises these.
BILLING_MODEL_ALIASES: dict[str, str] = {
    spelling.lower(): canonical
    for per_system in BILLING_MODEL_SPELLINGS.values()
    for canonical, spelling in per_system.items()
}
STATUS_ALIASES: dict[str, dict[str, str]] = {}
for _system, _by_type in STATUS_SPELLINGS.items():
    for _etype, _mapping in _by_type.items():
        for _canonical, _spelling in _mapping.items():
            STATUS_ALIASES.setdefault(_etype, {}).setdefault(_spelling.lower(), _canonical)
# "Active" in the CRM/PSA means active (not blocked/prospect) when read back.
STATUS_ALIASES["customer"]["active"] = "active"
