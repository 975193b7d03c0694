"""JSON POST with an HMAC-SHA256 signature over timestamp and body, the
Idempotency-Key and correlation id in headers, timeouts and no redirects.

Response handling: 2xx delivered (the target's id is read from the JSON
body's ``id``, or ``config["id_field"]``, and kept as a cross-reference);
408, 425, 429, 5xx, 401/403 (credentials being fixed), timeouts and
connection errors are transient; any other 4xx is a business rejection
carrying the target's message; a 3xx is refused (redirects are not followed)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from urllib.parse import urlsplit

import certifi
import urllib3

from sync.connectors.base import BaseConnector, Envelope, PermanentError, Result, TransientError

SIGNATURE_HEADER = "X-MDM-Signature"
TRANSIENT_STATUSES = {401, 403, 408, 425, 429}
DEFAULT_TIMEOUT = 10.0
MAX_BODY_KEPT = 2000

_local = threading.local()


def _pool() -> urllib3.PoolManager:
    """Keep-alive connections per worker thread.  urllib3 itself rather than
    requests on top of it (a third of the CPU per POST): no retries, no
    redirects, no proxies from the environment, the same CA bundle."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = urllib3.PoolManager(num_pools=16, maxsize=1, retries=False,
                                                 cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
    return pool


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-MDM-Signature`` value: ``t=<unix ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance: int = 300, now: float | None = None) -> bool:
    """The receiving side's check (also used by the tests): right MAC, fresh timestamp."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _message(resp: urllib3.BaseHTTPResponse, text: str) -> str:
    try:
        data = json.loads(resp.data)
    except ValueError:
        return text.strip()[:500] or resp.reason or ""
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "errors"):
            if data.get(key):
                val = data[key]
                return val if isinstance(val, str) else json.dumps(val, ensure_ascii=False)[:500]
    return json.dumps(data, ensure_ascii=False)[:500]


class Connector(BaseConnector):
    name = "webhook"

    @classmethod
    def check_config(cls, config: dict) -> list[str]:
        problems = []
        url = config.get("url") or ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append("config.url must be an http(s) URL")
        timeout = config.get("timeout", DEFAULT_TIMEOUT)
        if not isinstance(timeout, (int, float)) or not 0 < timeout <= 30:
            problems.append("config.timeout must be a number of seconds between 0 and 30")
        return problems

    def send(self, envelope: Envelope) -> Result:
        secret = self.subscription_secret()
        body = json.dumps(envelope.as_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "mdm-hub-sync/1",
            "Idempotency-Key": envelope.delivery_id,
            "X-Correlation-ID": envelope.correlation_id or envelope.delivery_id,
            "X-MDM-Event": envelope.event,
            SIGNATURE_HEADER: sign(secret, body),
        }
        timeout = float(self.config.get("timeout", DEFAULT_TIMEOUT))
        try:
            resp = _pool().request("POST", self.config["url"], body=body, headers=headers, redirect=False,
                                   timeout=urllib3.Timeout(connect=min(3.05, timeout), read=timeout))
        except urllib3.exceptions.NewConnectionError as exc:  # (a ConnectTimeoutError subclass: refused first)
            raise TransientError(f"connection failed: {exc.__class__.__name__}: {str(exc)[:300]}") from None
        except urllib3.exceptions.TimeoutError as exc:
            raise TransientError(f"timed out after {timeout:g} s: {exc.__class__.__name__}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise TransientError(f"connection failed: {exc.__class__.__name__}: {str(exc)[:300]}") from None
        status = resp.status
        text = resp.data[:MAX_BODY_KEPT * 4].decode("utf-8", "replace")[:MAX_BODY_KEPT]
        if 200 <= status < 300:
            target_id = None
            try:
                data = json.loads(resp.data)
                if isinstance(data, dict):
                    raw = data.get(self.config.get("id_field", "id"))
                    target_id = str(raw) if raw not in (None, "") else None
            except ValueError:
                pass
            return Result(status=status, body=text, target_id=target_id)
        if 300 <= status < 400:
            raise PermanentError(f"HTTP {status}: redirect to {resp.headers.get('Location', '?')} "
                                 "refused (fix the subscription URL)", status=status, body=text,
                                 category="technical")
        if status >= 500 or status in TRANSIENT_STATUSES:
            raise TransientError(f"HTTP {status}: {_message(resp, text)}", status=status, body=text,
                                 retry_after=_retry_after(resp.headers.get("Retry-After")))
        raise PermanentError(f"HTTP {status}: {_message(resp, text)}", status=status, body=text)

    def subscription_secret(self) -> str:
        """Decrypted once per connector (one per batch of deliveries)."""
        secret = getattr(self, "_secret", "")
        if not secret:
            from sync.services import subscription_secret

            secret = self._secret = subscription_secret(self.subscription)
        if not secret:
            raise PermanentError("no signing secret configured (add_subscription --secret)", category="technical")
        return secret
