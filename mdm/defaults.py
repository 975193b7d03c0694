"""Shipped configuration: the demo source systems, their field mappings and
the default survivorship rules.  ``seed_defaults()`` writes them as data the
first time (an admin edits them afterwards; nothing here is read at run time
once seeded)."""

from __future__ import annotations

from mdm.choices import EntityType, SurvivorshipRuleType, SystemKind

C, LE, K, P = EntityType.CUSTOMER, EntityType.LEGAL_ENTITY, EntityType.CONTRACT, EntityType.PROJECT

# code -> (name, kind, trust rank: lower is more trusted when no rule says otherwise)
SYSTEMS = {
    "erp": ("Finance ERP", SystemKind.ERP, 10),
    "crm": ("Sales CRM", SystemKind.CRM, 20),
    "psa": ("Delivery PSA", SystemKind.PSA, 30),
}

# system -> entity type -> {source field: (canonical field, transform)}
# transforms: "" (strip), "upper", "lower", "date", "decimal", "domain"
MAPPINGS: dict[str, dict[str, dict[str, tuple[str, str]]]] = {
    "crm": {
        C: {
            "AccountName": ("trading_name", ""),
            "LegalName": ("legal_name", ""),
            "VATNumber": ("tax_id", "upper"),
            "CompanyRegNo": ("registration_number", ""),
            "Website": ("website", "domain"),
            "Phone": ("phone", ""),
            "BillingStreet": ("address_line", ""),
            "BillingCity": ("city", ""),
            "BillingPostalCode": ("postcode", "upper"),
            "BillingCountry": ("country", "upper"),
            "CurrencyIsoCode": ("currency", "upper"),
            "Industry": ("industry", ""),
            "OwnerName": ("account_owner", ""),
            "ParentId": ("parent", ""),
            "AccountStatus": ("status", "lower"),
        },
        K: {
            "ContractNumber": ("number", ""),
            "AccountId": ("customer", ""),
            "LegalEntityCode": ("legal_entity", "upper"),
            "Name": ("title", ""),
            "BillingModel": ("billing_model", "lower"),
            "Amount": ("value", "decimal"),
            "CurrencyIsoCode": ("currency", "upper"),
            "StartDate": ("start_date", "date"),
            "EndDate": ("end_date", "date"),
            "Status": ("status", "lower"),
            "OpportunityId": ("opportunity_id", ""),
        },
    },
    "erp": {
        C: {
            "customer_name": ("legal_name", ""),
            "vat_id": ("tax_id", "upper"),
            "reg_no": ("registration_number", ""),
            "lei": ("lei", "upper"),
            "duns": ("duns", ""),
            "street": ("address_line", ""),
            "city": ("city", ""),
            "zip": ("postcode", "upper"),
            "country_code": ("country", "upper"),
            "currency": ("currency", "upper"),
            "payment_terms": ("payment_terms", "upper"),
            "email": ("email", "lower"),
            "phone": ("phone", ""),
            "parent_customer_no": ("parent", ""),
            "company_code": ("legal_entity", "upper"),
            "status": ("status", "lower"),
        },
        LE: {
            "company_code": ("code", "upper"),
            "company_name": ("name", ""),
            "country_code": ("country", "upper"),
            "base_currency": ("base_currency", "upper"),
            "tax_registration": ("tax_registration", "upper"),
        },
        K: {
            "contract_no": ("number", ""),
            "customer_no": ("customer", ""),
            "company_code": ("legal_entity", "upper"),
            "description": ("title", ""),
            "contract_value": ("value", "decimal"),
            "currency": ("currency", "upper"),
            "payment_terms": ("payment_terms", "upper"),
            "valid_from": ("start_date", "date"),
            "valid_to": ("end_date", "date"),
            "status": ("status", "lower"),
        },
    },
    "psa": {
        C: {
            "client_name": ("trading_name", ""),
            "website": ("website", "domain"),
            "country": ("country", "upper"),
            "city": ("city", ""),
            "industry": ("industry", ""),
            "status": ("status", "lower"),
        },
        P: {
            "project_code": ("code", "upper"),
            "project_name": ("name", ""),
            "client_id": ("customer", ""),
            "contract_ref": ("contract", ""),
            "entity_code": ("legal_entity", "upper"),
            "manager": ("manager", ""),
            "billing_type": ("billing_model", "lower"),
            "budget": ("budget", "decimal"),
            "currency": ("currency", "upper"),
            "start": ("start_date", "date"),
            "end": ("end_date", "date"),
            "status": ("status", "lower"),
        },
    },
}

# The source id column for each system's records (used by imports and the demo).
ID_FIELDS = {
    "crm": {C: "Id", K: "Id"},
    "erp": {C: "customer_no", LE: "company_code", K: "contract_no"},
    "psa": {C: "client_id", P: "project_code"},
}

SP, MR, MC, MF = (
    SurvivorshipRuleType.SOURCE_PRIORITY,
    SurvivorshipRuleType.MOST_RECENT,
    SurvivorshipRuleType.MOST_COMPLETE,
    SurvivorshipRuleType.MOST_FREQUENT,
)
CRM_FIRST = ["crm", "psa", "erp"]
ERP_FIRST = ["erp", "crm", "psa"]
PSA_FIRST = ["psa", "erp", "crm"]

# entity type -> field -> (rule type, system order)
RULES: dict[str, dict[str, tuple[str, list[str]]]] = {
    C: {
        # CRM owns the commercial context.
        "trading_name": (SP, CRM_FIRST),
        "website": (SP, CRM_FIRST),
        "industry": (SP, CRM_FIRST),
        "account_owner": (SP, CRM_FIRST),
        "phone": (MR, []),
        # ERP owns the legal and financial facts.
        "legal_name": (SP, ERP_FIRST),
        "tax_id": (SP, ERP_FIRST),
        "registration_number": (SP, ERP_FIRST),
        "lei": (SP, ERP_FIRST),
        "duns": (SP, ERP_FIRST),
        "email": (SP, ERP_FIRST),
        "address_line": (SP, ERP_FIRST),
        "city": (SP, ERP_FIRST),
        "postcode": (SP, ERP_FIRST),
        "country": (MF, ERP_FIRST),
        "currency": (SP, ERP_FIRST),
        "payment_terms": (SP, ERP_FIRST),
        "parent": (SP, ERP_FIRST),
        "legal_entity": (SP, ERP_FIRST),
        "status": (SP, ERP_FIRST),
    },
    LE: {name: (SP, ERP_FIRST) for name in ("code", "name", "country", "base_currency", "tax_registration")},
    K: {
        # Commercial terms follow CRM, financial ones ERP.
        "title": (SP, CRM_FIRST),
        "billing_model": (SP, CRM_FIRST),
        "opportunity_id": (SP, CRM_FIRST),
        "start_date": (SP, CRM_FIRST),
        "end_date": (SP, CRM_FIRST),
        "number": (SP, ERP_FIRST),
        "customer": (SP, ERP_FIRST),
        "legal_entity": (SP, ERP_FIRST),
        "value": (SP, ERP_FIRST),
        "currency": (SP, ERP_FIRST),
        "payment_terms": (SP, ERP_FIRST),
        "status": (SP, ERP_FIRST),
    },
    P: {
        # PSA owns project structure, manager, dates and status.
        **{name: (SP, PSA_FIRST) for name in (
            "code", "name", "customer", "contract", "manager", "billing_model",
            "budget", "start_date", "end_date", "status",
        )},
        "legal_entity": (SP, ERP_FIRST),
        "currency": (SP, ERP_FIRST),
    },
}

# Coded values as each system writes them -> canonical values (FieldMapping.value_map).
VALUE_MAPS: dict[str, dict[str, dict[str, dict[str, str]]]] = {
    "crm": {
        C: {"AccountStatus": {"Active": "active", "Prospect": "prospect", "Inactive": "inactive"}},
        K: {
            "BillingModel": {"Time & Materials": "time_and_materials", "Fixed Fee": "fixed_fee",
                             "Retainer": "retainer", "Milestone": "milestone"},
            "Status": {"Draft": "draft", "Activated": "active", "Expired": "expired", "Terminated": "terminated"},
        },
    },
    "erp": {
        C: {"status": {"ACTIVE": "active", "BLOCKED": "blocked", "ARCHIVED": "inactive"}},
        K: {"status": {"RELEASED": "active", "CLOSED": "expired", "CANCELLED": "terminated", "OPEN": "draft"},
            "valid_to": {"31.12.9999": ""}},
    },
    "psa": {
        C: {"status": {"Active": "active", "Inactive": "inactive"}},
        P: {
            "billing_type": {"T&M": "time_and_materials", "Fixed Price": "fixed_fee", "Retainer": "retainer",
                             "Milestone Billing": "milestone"},
            "status": {"Planned": "planned", "In Progress": "active", "On Hold": "on_hold",
                       "Completed": "completed", "Cancelled": "cancelled"},
        },
    },
}
