"""A local fake of the Salesforce endpoints the connector uses.  It checks the
shape of every request against the REST API developer guide and answers in
the documented formats; any request that breaks the documented shape is
recorded in ``violations`` and answered 400, so a test cannot pass by accident."""

from __future__ import annotations

import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

API = "v62.0"
ID_FIELD = "MDM_Id__c"


class FakeSalesforce:
    def __init__(self, *, client_id="3MVG9-test", client_secret="s3cr3t"):
        self.client_id, self.client_secret = client_id, client_secret
        self.records: dict[str, dict[str, dict]] = {}  # sobject -> external id -> fields
        self.ids: dict[tuple[str, str], str] = {}
        self.valid_tokens: set[str] = set()
        self.tokens_issued = 0
        self.requests: list[dict] = []
        self.violations: list[str] = []
        self.required: dict[str, list[str]] = {"Account": ["Name"]}
        self.fail_next: list[tuple[int, object]] = []  # (status, body) answered to the next data requests
        self._seq = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def expire_tokens(self):
        self.valid_tokens.clear()

    # --- behaviour ---------------------------------------------------------------
    def _token(self, form: dict):
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
        if form.get("client_id") != [self.client_id] or form.get("client_secret") != [self.client_secret]:
            return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
        token = f"00Dfake!{next(self._seq)}"
        self.valid_tokens.add(token)
        self.tokens_issued += 1
        return 200, {"access_token": token, "instance_url": self.url, "id": f"{self.url}/id/00D/005",
                     "token_type": "Bearer", "issued_at": "1700000000000", "signature": "sig"}

    def _upsert_one(self, sobject: str, ext: str, fields: dict) -> tuple[int, dict | list]:
        missing = [f for f in self.required.get(sobject, []) if not fields.get(f) and
                   ext not in self.records.get(sobject, {})]
        if missing:
            return 400, [{"message": f"Required fields are missing: [{', '.join(missing)}]",
                          "errorCode": "REQUIRED_FIELD_MISSING", "fields": missing}]
        table = self.records.setdefault(sobject, {})
        created = ext not in table
        table.setdefault(ext, {}).update(fields)
        rid = self.ids.setdefault((sobject, ext), f"001{next(self._seq):015d}")
        return (201 if created else 200), {"id": rid, "success": True, "errors": [], "created": created}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _bad(self, why):
                fake.violations.append(f"{self.command} {self.path}: {why}")
                self._send(400, [{"message": why, "errorCode": "JSON_PARSER_ERROR"}])

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                fake.requests.append({"method": "POST", "path": self.path, "body": raw,
                                      "content_type": self.headers.get("Content-Type")})
                if self.path != "/services/oauth2/token":
                    return self._bad("unexpected POST")
                if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                    return self._bad("the token request must be form-encoded")
                self._send(*fake._token(parse_qs(raw)))

            def do_PATCH(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                auth = self.headers.get("Authorization") or ""
                fake.requests.append({"method": "PATCH", "path": self.path, "body": raw, "auth": auth})
                if not auth.startswith("Bearer ") or auth[7:] not in fake.valid_tokens:
                    return self._send(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
                if (self.headers.get("Content-Type") or "").split(";")[0] != "application/json":
                    return self._bad("Content-Type must be application/json")
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._bad("body is not JSON")
                if fake.fail_next:
                    return self._send(*fake.fail_next.pop(0))
                one = re.fullmatch(rf"/services/data/{API}/sobjects/(\w+)/(\w+)/([^/]+)", self.path)
                many = re.fullmatch(rf"/services/data/{API}/composite/sobjects/(\w+)/(\w+)", self.path)
                if one:
                    sobject, field, ext = one.group(1), one.group(2), unquote(one.group(3))
                    if field != ID_FIELD:
                        return self._send(404, [{"message": f"Provided external ID field does not exist or is not "
                                                 f"accessible: {field}", "errorCode": "NOT_FOUND"}])
                    if not isinstance(body, dict) or "Id" in body or field in body or "attributes" in body:
                        return self._bad("a single upsert sends only the fields (no Id, no external id, no attributes)")
                    return self._send(*fake._upsert_one(sobject, ext, body))
                if many:
                    sobject, field = many.group(1), many.group(2)
                    recs = body.get("records") if isinstance(body, dict) else None
                    if not isinstance(recs, list) or not isinstance(body.get("allOrNone"), bool):
                        return self._bad("composite upsert needs {allOrNone: bool, records: [...]}")
                    if len(recs) > 200:
                        return self._bad("more than 200 records")
                    results = []
                    for rec in recs:
                        if (rec.get("attributes") or {}).get("type") != sobject or "Id" in rec or not rec.get(field):
                            return self._bad("each record needs attributes.type, its external id and no Id")
                        fields = {k: v for k, v in rec.items() if k not in ("attributes", field)}
                        status, res = fake._upsert_one(sobject, rec[field], fields)
                        if status >= 400:
                            results.append({"success": False, "errors": [
                                {"statusCode": e["errorCode"], "message": e["message"], "fields": e["fields"]}
                                for e in res]})
                        else:
                            results.append(res)
                    return self._send(200, results)
                return self._bad("unknown resource")

        return Handler
