"""A small Tryton client over JSON-RPC with a session login.

Tryton speaks JSON-RPC at ``POST /<db>/rpc/`` (the protocol its own desktop
client and ``proteus`` use) and a REST API at ``/<db>/rest/``.  This client
logs in once (``common.db.login`` → user id and session key), sends
``Authorization: Session base64(login:uid:session)`` and re-logs in once when
the session has expired.

Errors are sorted the way the sync engine needs them:

* ``TrytonBusinessError`` (permanent): Tryton refused the data: a
  ``UserError``/``UserWarning``/``AccessError`` over JSON-RPC, or a REST 400
  ``{"message": …}`` (a bad VAT number, a duplicate code).  Retrying the same
  request cannot help; it goes to the exception queue.
* ``TrytonAuthError`` (permanent until someone fixes the credentials): a bad
  login or a 401/403 that a fresh login does not cure.
* ``TrytonTransientError``: connection refused or reset, a timeout, a 5xx,
  a 429, or a concurrent-write conflict.  Retried here a few times with a
  short backoff, then raised for the engine to retry later.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import random
import time
from decimal import Decimal

import requests

log = logging.getLogger(__name__)

BUSINESS_ERRORS = {"UserError", "UserWarning", "AccessError", "DomainValidationError", "RequiredValidationError",
                   "SizeValidationError", "SelectionValidationError", "ForeignKeyError",
                   "SQLConstraintError", "DigitsValidationError", "ImportDataError"}
TRANSIENT_ERRORS = {"ConcurrencyException", "RateLimitException", "DatabaseOperationalError",
                    "TooManyRequests"}


class TrytonError(Exception):
    """Base of the client's errors; ``status`` is the HTTP status if any."""

    transient = False

    def __init__(self, message: str, *, status: int | None = None, kind: str = "", body: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind
        self.body = body[:2000]


class TrytonBusinessError(TrytonError):
    """Tryton refused the data (permanent: retrying cannot help)."""


class TrytonAuthError(TrytonError):
    """Bad credentials or an expired key that a new login does not cure."""


class TrytonConfigError(TrytonError):
    """No such database, model or method at this URL (a setup problem, not the data's)."""


class TrytonTransientError(TrytonError):
    """The server could not be reached or was briefly unable to answer."""

    transient = True


# --- Tryton's JSON encoding of dates, datetimes and decimals -------------------

def encode(value):
    if isinstance(value, dt.datetime):
        return {"__class__": "datetime", "year": value.year, "month": value.month, "day": value.day,
                "hour": value.hour, "minute": value.minute, "second": value.second,
                "microsecond": value.microsecond}
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def _decode_hook(obj: dict):
    cls = obj.get("__class__")
    if cls == "datetime":
        return dt.datetime(obj["year"], obj["month"], obj["day"], obj.get("hour", 0), obj.get("minute", 0),
                           obj.get("second", 0), obj.get("microsecond", 0))
    if cls == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if cls == "Decimal":
        return Decimal(obj["decimal"])
    if cls == "timedelta":
        return dt.timedelta(seconds=obj.get("seconds", 0))
    if cls == "bytes":
        return base64.b64decode(obj.get("base64", ""))
    return obj


def error_from_response(status: int, text: str) -> TrytonError:
    """Classify a non-2xx answer (REST's ``{"status", "message"}`` or plain HTML)."""
    message = ""
    try:
        body = json.loads(text) if text else {}
        if isinstance(body, dict):
            message = str(body.get("message") or body.get("description") or "")
    except ValueError:
        pass
    if status in (401, 403):
        return TrytonAuthError(message or f"Tryton refused the credentials (HTTP {status})", status=status,
                               body=text)
    if status == 404:
        return TrytonConfigError(message or "Tryton has no such database or method at this URL (HTTP 404)",
                                 status=status, body=text)
    if status == 429 or status >= 500:
        return TrytonTransientError(message or f"Tryton answered HTTP {status}", status=status, body=text)
    if status == 409:
        return TrytonTransientError(message or "concurrent change in Tryton", status=status, body=text)
    return TrytonBusinessError(message or f"Tryton refused the request (HTTP {status})", status=status, body=text)


def error_from_rpc(error) -> TrytonError:
    """Classify a JSON-RPC ``error`` member: ``[kind, [message, description, …]]`` or a string."""
    kind, message = "", ""
    if isinstance(error, list) and error:
        kind = str(error[0])
        detail = error[1] if len(error) > 1 else ""
        if kind == "UserWarning" and isinstance(detail, list) and len(detail) > 1:
            # ["UserWarning", [warning name, message, description]]: the name lets a
            # caller acknowledge the warning (res.user.warning) and try again
            exc = TrytonBusinessError(" ".join(str(x) for x in detail[1:3] if x) or str(detail[0]), kind=kind,
                                      body=json.dumps(error, default=str))
            exc.warning_name = str(detail[0])
            return exc
        if isinstance(detail, list) and detail:
            message = str(detail[0])
            if len(detail) > 1 and detail[1]:
                message = f"{message} {detail[1]}".strip()
        elif detail:
            message = str(detail)
    else:
        message = str(error)
    message = message or kind or "Tryton error"
    if kind in TRANSIENT_ERRORS:
        return TrytonTransientError(message, kind=kind, body=json.dumps(error, default=str))
    if kind in ("LoginException", "NotLogged"):
        return TrytonAuthError(message, kind=kind, body=json.dumps(error, default=str))
    return TrytonBusinessError(message, kind=kind, body=json.dumps(error, default=str))


class TrytonClient:
    """Session-authenticated JSON-RPC client for one Tryton database."""

    def __init__(self, url: str, database: str, username: str, password: str, *, timeout: float = 15.0,
                 retries: int = 2, backoff: float = 0.2, context: dict | None = None):
        self.url = url.rstrip("/")
        self.database = database
        self.username = username
        self.password = password
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.base_context = dict(context or {})
        self.http = requests.Session()
        self.http.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
        self._auth: str | None = None
        self.uid: int | None = None
        self._id = 0

    @property
    def rpc_url(self) -> str:
        return f"{self.url}/{self.database}/rpc/"

    # --- transport -------------------------------------------------------------
    def _post(self, method: str, params: list, *, auth: bool = True):
        self._id += 1
        body = json.dumps({"id": self._id, "method": method, "params": encode(params)}, default=str)
        headers = {"Authorization": self._auth} if auth and self._auth else {}
        attempt = 0
        while True:
            try:
                r = self.http.post(self.rpc_url, data=body, headers=headers, timeout=self.timeout,
                                   allow_redirects=False)
                if r.status_code >= 300:
                    raise error_from_response(r.status_code, r.text)
                try:
                    answer = json.loads(r.text, object_hook=_decode_hook)
                except ValueError:
                    raise TrytonTransientError(f"Tryton answered something that is not JSON: {r.text[:200]!r}",
                                               status=r.status_code, body=r.text) from None
                if isinstance(answer, dict) and answer.get("error") is not None:
                    raise error_from_rpc(answer["error"])
                return answer.get("result") if isinstance(answer, dict) else answer
            except (requests.ConnectionError, requests.Timeout) as exc:
                error = TrytonTransientError(f"cannot reach Tryton at {self.url}: {exc.__class__.__name__}")
                error.__cause__ = exc
            except TrytonTransientError as exc:
                error = exc
            if attempt >= self.retries:
                raise error
            attempt += 1
            time.sleep(self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random()))

    def login(self) -> int:
        result = self._post("common.db.login", [self.username, {"password": self.password}, "en"], auth=False)
        if not isinstance(result, list) or len(result) < 2:
            raise TrytonAuthError(f"Tryton refused the login of {self.username!r} on {self.database!r}")
        self.uid, session = result[0], result[1]
        token = base64.b64encode(f"{self.username}:{self.uid}:{session}".encode()).decode()
        self._auth = f"Session {token}"
        return self.uid

    def call(self, method: str, *args, context: dict | None = None):
        """Call a model method; the context (with the client's base context) goes last."""
        if self._auth is None:
            self.login()
        params = [*args, {**self.base_context, **(context or {})}]
        try:
            return self._post(method, params)
        except TrytonAuthError as exc:
            if exc.status != 401:
                raise
            self.login()  # the session expired: log in again once
            return self._post(method, params)

    # --- model helpers -----------------------------------------------------------
    def search(self, model: str, domain: list, *, offset: int = 0, limit: int | None = None, order=None,
               context: dict | None = None) -> list[int]:
        return self.call(f"model.{model}.search", domain, offset, limit, order, context=context)

    def search_read(self, model: str, domain: list, fields: list[str], *, offset: int = 0, limit: int | None = None,
                    order=None, context: dict | None = None) -> list[dict]:
        return self.call(f"model.{model}.search_read", domain, offset, limit, order, fields, context=context)

    def read(self, model: str, ids: list[int], fields: list[str], *, context: dict | None = None) -> list[dict]:
        return self.call(f"model.{model}.read", ids, fields, context=context)

    def create(self, model: str, values: list[dict] | dict, *, context: dict | None = None) -> list[int]:
        rows = [values] if isinstance(values, dict) else values
        return self.call(f"model.{model}.create", rows, context=context)

    def write(self, model: str, ids: list[int], values: dict, *, context: dict | None = None) -> None:
        self.call(f"model.{model}.write", ids, values, context=context)

    def search_count(self, model: str, domain: list, *, context: dict | None = None) -> int:
        return self.call(f"model.{model}.search_count", domain, 0, None, context=context)

    def close(self) -> None:
        self.http.close()
