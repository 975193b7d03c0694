"""Delivering golden records to Salesforce by upsert on an external id field.

Config (``add_subscription crm --connector salesforce``)::

    {"login_url": "https://acme.my.salesforce.com", "client_id": "3MVG9…",
     "api_version": "v62.0", "external_id_field": "MDM_Id__c",
     "sobjects": {"customer": "Account"}}

The client secret is the subscription's secret.  The hub's golden id is the
external id, so a retry, a replay or a lost write-back never creates a
second record.  Canonical fields are renamed with the subscription's
mapping first (the engine does that); fields still in canonical names get
the defaults below, and canonical fields without a Salesforce name are
left out (Salesforce refuses unknown fields).  Merges and retirements set
``status_field`` ("merged"/"retired") and, for a merge, ``survivor_field``
to the survivor's hub id, so Salesforce users and flows see what happened.

``send_batch`` sends up to 200 envelopes in one composite call."""

from __future__ import annotations

import threading

from mdm import canonical
from sync.connectors.base import BaseConnector, Envelope, PermanentError, Result, TransientError
from sync.connectors.salesforce.client import MAX_BATCH, SalesforceClient, SalesforceError

DEFAULT_SOBJECTS = {"customer": "Account", "contract": "Contract", "project": "MDM_Project__c",
                    "legal_entity": "MDM_Legal_Entity__c"}
DEFAULT_FIELDS = {
    "customer": {"legal_name": "Name", "website": "Website", "phone": "Phone", "address_line": "BillingStreet",
                 "city": "BillingCity", "postcode": "BillingPostalCode", "country": "BillingCountryCode",
                 "industry": "Industry", "tax_id": "MDM_Tax_Id__c", "currency": "CurrencyIsoCode"},
    "contract": {"number": "MDM_Number__c", "title": "Name", "start_date": "StartDate", "end_date": "EndDate",
                 "currency": "CurrencyIsoCode"},
    "project": {"name": "Name", "code": "MDM_Code__c", "start_date": "MDM_Start__c", "end_date": "MDM_End__c"},
    "legal_entity": {"name": "Name", "code": "MDM_Code__c", "country": "MDM_Country__c"},
}
REF_FIELDS = {"customer": {"parent": "ParentId"}, "contract": {"customer": "AccountId"},
              "project": {"customer": "MDM_Account__c"}}

_local = threading.local()


def _to_delivery_error(exc: SalesforceError):
    if exc.business:
        return PermanentError(f"Salesforce refused: {exc.message}", status=exc.status, body=exc.body)
    return TransientError(f"Salesforce: {exc.message}", status=exc.status, body=exc.body)


class Connector(BaseConnector):
    name = "salesforce"

    @classmethod
    def check_config(cls, config: dict) -> list[str]:
        problems = []
        if not str(config.get("login_url") or "").startswith(("https://", "http://")):
            problems.append("config.login_url must be the org's https URL (My Domain or login.salesforce.com)")
        if not config.get("client_id"):
            problems.append("config.client_id is the connected app's consumer key")
        if config.get("sobjects") is not None and not isinstance(config.get("sobjects"), dict):
            problems.append("config.sobjects maps entity types to sObject names")
        return problems

    @property
    def id_field(self) -> str:
        return self.config.get("external_id_field", "MDM_Id__c")

    def sobject(self, entity_type: str) -> str:
        return (self.config.get("sobjects") or {}).get(entity_type) or DEFAULT_SOBJECTS[entity_type]

    @property
    def client(self) -> SalesforceClient:
        from sync.services import subscription_secret

        secret = subscription_secret(self.subscription)
        if not secret:
            raise PermanentError("no Salesforce client secret configured (the subscription's secret)",
                                 category="technical")
        key = (self.config["login_url"], self.config["client_id"], secret, self.config.get("api_version", "v62.0"))
        clients = getattr(_local, "clients", None)
        if clients is None:
            clients = _local.clients = {}
        if key not in clients:
            clients[key] = SalesforceClient(key[0], key[1], key[2], api_version=key[3],
                                            timeout=float(self.config.get("timeout", 15)))
        return clients[key]

    def fields_for(self, envelope: Envelope) -> dict:
        """The Salesforce field values for one envelope (without the external id)."""
        et = envelope.entity_type
        defaults = DEFAULT_FIELDS.get(et, {})
        known = set(canonical.field_names(et))
        refs = envelope.extra.get("ref_target_ids") or {}
        out = {}
        for key, value in envelope.data.items():
            if key in known:
                ref = REF_FIELDS.get(et, {}).get(key)
                if ref:
                    if refs.get(key):
                        out[ref] = refs[key]
                    continue
                target = defaults.get(key)
                if not target:
                    continue
                out[target] = value
            else:
                out[key] = value  # already renamed by the subscription's mapping
        status_field = self.config.get("status_field", "MDM_Status__c")
        if envelope.event == "merged":
            out = {status_field: "merged", self.config.get("survivor_field", "MDM_Survivor_Id__c"):
                   envelope.survivor_id}
        elif envelope.event == "retired":
            out = {status_field: "retired"}
        elif status_field:
            out[status_field] = "active"
        return out

    def send(self, envelope: Envelope) -> Result:
        try:
            res = self.client.upsert(self.sobject(envelope.entity_type), self.id_field, envelope.golden_id,
                                     self.fields_for(envelope))
        except SalesforceError as exc:
            raise _to_delivery_error(exc) from None
        return Result(status=res.status, body=f'{{"id": "{res.id}", "created": {str(res.created).lower()}}}',
                      target_id=res.id or envelope.target_id)

    def send_batch(self, envelopes: list[Envelope]) -> list:
        """Up to 200 envelopes of one entity type per composite call; returns a
        ``Result`` or a ``PermanentError``/``TransientError`` per envelope, in order."""
        out: list = []
        for start in range(0, len(envelopes), MAX_BATCH):
            chunk = envelopes[start:start + MAX_BATCH]
            kinds = {e.entity_type for e in chunk}
            if len(kinds) != 1:
                raise ValueError("one entity type per batch")
            records = [{self.id_field: e.golden_id, **self.fields_for(e)} for e in chunk]
            try:
                results = self.client.upsert_many(self.sobject(chunk[0].entity_type), self.id_field, records)
            except SalesforceError as exc:
                out.extend(_to_delivery_error(exc) for _ in chunk)
                continue
            for env, res in zip(chunk, results):
                if res.error is not None:
                    out.append(_to_delivery_error(res.error))
                else:
                    out.append(Result(status=200, body=f'{{"id": "{res.id}", "created": {str(res.created).lower()}}}',
                                      target_id=res.id or env.target_id))
        return out
