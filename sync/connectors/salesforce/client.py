"""A small Salesforce REST client: OAuth 2.0 client-credentials token,
upsert by external id (one record, and up to 200 per composite call), and
Salesforce's error format sorted into business and technical errors.

Shapes, from the REST API developer guide:

* token: ``POST {login_url}/services/oauth2/token`` form
  ``grant_type=client_credentials&client_id=…&client_secret=…`` →
  ``{"access_token", "instance_url", "token_type": "Bearer", "issued_at", …}``;
  a failure is 400/401 ``{"error", "error_description"}``.
* one record: ``PATCH {instance}/services/data/vXX.X/sobjects/Account/MDM_Id__c/<id>``
  with the fields (never the external id field itself, never ``Id``) →
  201 ``{"id", "success": true, "errors": [], "created": true}`` when
  created, 200 (``created: false``) or 204 when updated, 300 when the
  external id matches several records.
* many records: ``PATCH …/composite/sobjects/Account/MDM_Id__c`` with
  ``{"allOrNone": false, "records": [{"attributes": {"type": "Account"},
  "MDM_Id__c": "<id>", …}]}`` (at most 200) → 200 and a list of
  ``{"id", "success", "errors": [{"statusCode", "message", "fields"}], "created"}``
  in request order.
* errors: ``[{"message", "errorCode", "fields"}]`` with a 4xx/5xx status;
  ``INVALID_SESSION_ID`` (401) means the token expired: get a new one and
  send again once.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from urllib.parse import quote

import requests

BUSINESS_CODES = {
    "REQUIRED_FIELD_MISSING", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "DUPLICATE_VALUE", "DUPLICATES_DETECTED",
    "DUPLICATE_EXTERNAL_ID", "INVALID_FIELD", "INVALID_TYPE_ON_FIELD_IN_RECORD", "STRING_TOO_LONG",
    "INVALID_EMAIL_ADDRESS", "MALFORMED_ID", "FIELD_INTEGRITY_EXCEPTION", "INVALID_CROSS_REFERENCE_KEY",
    "NOT_FOUND", "ENTITY_IS_DELETED", "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "NUMBER_OUTSIDE_VALID_RANGE", "INVALID_FIELD_FOR_INSERT_UPDATE", "FIELD_FILTER_VALIDATION_EXCEPTION",
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "INVALID_ID_FIELD", "JSON_PARSER_ERROR",
}
TRANSIENT_CODES = {
    "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "API_CURRENTLY_DISABLED",
    "TOO_MANY_APEX_REQUESTS", "QUERY_TIMEOUT", "REQUEST_RUNNING_TOO_LONG", "CONCURRENT_REQUESTS_LIMIT_EXCEEDED",
}
MAX_BATCH = 200


class SalesforceError(Exception):
    """``transient`` says whether a later try may succeed; ``business`` whether
    Salesforce refused the data itself (to be fixed by a person)."""

    transient = False
    business = False

    def __init__(self, message: str, *, status: int | None = None, code: str = "", fields=None, body: str = ""):
        super().__init__(message)
        self.message, self.status, self.code = message, status, code
        self.fields = list(fields or [])
        self.body = body[:2000]


class SalesforceBusinessError(SalesforceError):
    business = True


class SalesforceTransientError(SalesforceError):
    transient = True


class SalesforceAuthError(SalesforceError):
    """The token endpoint refused the client's credentials."""


def _errors_from(body) -> list[dict]:
    if isinstance(body, list):
        return [e for e in body if isinstance(e, dict)]
    if isinstance(body, dict):
        if isinstance(body.get("errors"), list):
            return body["errors"]
        return [body]
    return []


def classify(status: int, errors: list[dict], body: str = "") -> SalesforceError:
    """One Salesforce error list → the most telling error (business wins over technical only
    when every code is a business code)."""
    if not errors:
        errors = [{"message": body[:300] or f"HTTP {status}", "errorCode": ""}]
    codes = [str(e.get("errorCode") or e.get("statusCode") or "") for e in errors]
    message = "; ".join(f"{c + ': ' if c else ''}{e.get('message', '')}".strip()
                        + (f" ({', '.join(e.get('fields') or [])})" if e.get("fields") else "")
                        for c, e in zip(codes, errors))
    fields = [f for e in errors for f in (e.get("fields") or [])]
    code = codes[0]
    if any(c in TRANSIENT_CODES for c in codes) or status >= 500 or status == 429:
        return SalesforceTransientError(message, status=status, code=code, fields=fields, body=body)
    if status == 401:
        return SalesforceAuthError(message, status=status, code=code, fields=fields, body=body)
    if status == 300:
        return SalesforceBusinessError(f"the external id matches several records: {message}", status=status,
                                       code="DUPLICATE_EXTERNAL_ID", fields=fields, body=body)
    if all(c in BUSINESS_CODES for c in codes) or 400 <= status < 500 and status not in (401, 403, 408, 409):
        return SalesforceBusinessError(message, status=status, code=code, fields=fields, body=body)
    return SalesforceTransientError(message, status=status, code=code, fields=fields, body=body)


@dataclass
class UpsertResult:
    external_id: str
    id: str | None
    created: bool
    status: int
    error: SalesforceError | None = None


class SalesforceClient:
    """Thread-safe enough for one worker: the token is shared and refreshed under a lock."""

    def __init__(self, login_url: str, client_id: str, client_secret: str, *, api_version: str = "v62.0",
                 timeout: float = 15.0):
        self.login_url = login_url.rstrip("/")
        self.client_id, self.client_secret = client_id, client_secret
        self.api_version = api_version if api_version.startswith("v") else f"v{api_version}"
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False
        self.access_token: str | None = None
        self.instance_url: str | None = None
        self.token_fetches = 0
        self._lock = threading.Lock()

    # --- OAuth 2.0 client credentials ------------------------------------------
    def authenticate(self) -> str:
        with self._lock:
            try:
                r = self.http.post(f"{self.login_url}/services/oauth2/token", timeout=self.timeout,
                                   allow_redirects=False,
                                   data={"grant_type": "client_credentials", "client_id": self.client_id,
                                         "client_secret": self.client_secret})
            except requests.RequestException as exc:
                raise SalesforceTransientError(f"cannot reach the Salesforce token endpoint: "
                                               f"{exc.__class__.__name__}") from None
            if r.status_code >= 500 or r.status_code == 429:
                raise SalesforceTransientError(f"token endpoint answered HTTP {r.status_code}", status=r.status_code,
                                               body=r.text)
            try:
                body = r.json()
            except ValueError:
                body = {}
            if r.status_code != 200 or not body.get("access_token"):
                why = body.get("error_description") or body.get("error") or r.text[:200]
                raise SalesforceAuthError(f"Salesforce refused the client credentials: {why}", status=r.status_code,
                                          code=str(body.get("error") or ""), body=r.text)
            self.access_token = body["access_token"]
            self.instance_url = (body.get("instance_url") or self.login_url).rstrip("/")
            self.token_fetches += 1
            return self.access_token

    def _request(self, method: str, path: str, payload) -> requests.Response:
        if not self.access_token:
            self.authenticate()
        for attempt in (1, 2):
            try:
                r = self.http.request(method, f"{self.instance_url}/services/data/{self.api_version}{path}",
                                      data=json.dumps(payload, default=str), timeout=self.timeout,
                                      allow_redirects=False,
                                      headers={"Authorization": f"Bearer {self.access_token}",
                                               "Content-Type": "application/json", "Accept": "application/json"})
            except requests.Timeout:
                raise SalesforceTransientError(f"Salesforce did not answer within {self.timeout:g} s") from None
            except requests.RequestException as exc:
                raise SalesforceTransientError(f"cannot reach Salesforce: {exc.__class__.__name__}") from None
            if r.status_code == 401 and attempt == 1 and "INVALID_SESSION_ID" in r.text:
                self.authenticate()  # the token expired or was revoked: a new one, then once more
                continue
            return r
        return r

    @staticmethod
    def _json(r: requests.Response):
        try:
            return r.json() if r.content else None
        except ValueError:
            return None

    # --- upserts ----------------------------------------------------------------------
    def upsert(self, sobject: str, id_field: str, external_id: str, fields: dict) -> UpsertResult:
        body = {k: v for k, v in fields.items() if k not in (id_field, "Id", "attributes")}
        r = self._request("PATCH", f"/sobjects/{sobject}/{id_field}/{quote(str(external_id), safe='')}", body)
        data = self._json(r)
        if r.status_code in (200, 201):
            data = data or {}
            if data.get("success", True) is False:
                raise classify(400, _errors_from(data), r.text)
            return UpsertResult(str(external_id), data.get("id"), bool(data.get("created", r.status_code == 201)),
                                r.status_code)
        if r.status_code == 204:
            return UpsertResult(str(external_id), None, False, 204)
        raise classify(r.status_code, _errors_from(data), r.text)

    def upsert_many(self, sobject: str, id_field: str, records: list[dict], *, all_or_none: bool = False
                    ) -> list[UpsertResult]:
        """Up to 200 records per call; each record must carry its external id under ``id_field``."""
        if len(records) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} records per composite call")
        body = {"allOrNone": all_or_none, "records": [
            {"attributes": {"type": sobject}, **{k: v for k, v in rec.items() if k not in ("Id", "attributes")}}
            for rec in records]}
        r = self._request("PATCH", f"/composite/sobjects/{sobject}/{id_field}", body)
        data = self._json(r)
        if r.status_code != 200 or not isinstance(data, list):
            raise classify(r.status_code, _errors_from(data), r.text)
        out = []
        for rec, item in zip(records, data):
            ext = str(rec.get(id_field))
            if item.get("success"):
                out.append(UpsertResult(ext, item.get("id"), bool(item.get("created")), 200))
            else:
                out.append(UpsertResult(ext, item.get("id"), False, 200,
                                        error=classify(400, _errors_from(item), json.dumps(item))))
        return out
