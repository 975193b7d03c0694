"""The connector interface.  A new target system is one package
``sync/connectors/<name>/`` whose ``__init__.py`` exposes ``Connector``, a
subclass of :class:`BaseConnector` with ``send()``.

A connector gets a ready :class:`Envelope` (already mapped to the target's
field names) and either returns a :class:`Result` or raises
:class:`PermanentError` (the target refused the content: a business rule, no
retry, straight to the exception queue) or :class:`TransientError`
(timeout, 5xx, 429, connection refused: retried with backoff).  Anything
else it raises counts as transient and technical.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class DeliveryError(Exception):
    category = "technical"

    def __init__(self, message: str, *, status: int | None = None, body: str = "", category: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        if category:
            self.category = category


class TransientError(DeliveryError):
    """Worth another try later.  ``retry_after`` (seconds) is the target's
    own wish (HTTP Retry-After) and is honoured within the backoff cap."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Retrying the same content cannot succeed (a business rejection such as
    a missing tax code, by default).  Fix the data or the mapping, then replay."""

    category = "business"


@dataclass
class Envelope:
    """What goes out: one version of one record for one system."""

    delivery_id: str  # also the Idempotency-Key
    event: str  # approved | retired | merged | unmerged | repointed
    entity_type: str
    golden_id: str
    version: int
    state: str
    occurred_at: str
    data: dict
    target_id: str | None = None  # the id this system gave the record earlier (write-back)
    survivor_id: str | None = None  # for "merged": re-point to this golden record
    survivor_target_id: str | None = None
    correlation_id: str = ""
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        body = {
            "id": self.delivery_id,
            "event": self.event,
            "entity_type": self.entity_type,
            "golden_id": self.golden_id,
            "version": self.version,
            "state": self.state,
            "occurred_at": self.occurred_at,
            "target_id": self.target_id,
            "data": self.data,
        }
        if self.survivor_id:
            body["survivor_id"] = self.survivor_id
            body["survivor_target_id"] = self.survivor_target_id
        if self.extra:
            body["extra"] = self.extra
        return body


@dataclass
class Result:
    status: int | None = None
    body: str = ""
    target_id: str | None = None  # the target's own id for the record, if it told us


class BaseConnector:
    """Subclass per target.  ``subscription`` gives ``config``, ``mapping``
    and ``secret()``; keep per-process resources (HTTP sessions) on the class."""

    name = ""

    def __init__(self, subscription):
        self.subscription = subscription
        self.config = subscription.config or {}

    @classmethod
    def check_config(cls, config: dict) -> list[str]:
        """Problems with ``config`` as human-readable messages (empty = fine)."""
        return []

    def send(self, envelope: Envelope) -> Result:  # pragma: no cover - interface
        raise NotImplementedError
