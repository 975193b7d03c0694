"""Who, why, where from: the audit context every write runs in.

Each entry point (web request, API call, import, sync task, matching run)
opens an ``audit_context``; every history row written inside it carries the
user or service account, the reason, the origin and one correlation id, so
an auditor can see everything one action changed.

    with audit_context(user=request.user, origin=Origin.WEB, reason="fix VAT"):
        services.golden_edit(...)
"""

from __future__ import annotations

import contextvars
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace

from mdm.choices import Origin


@dataclass(frozen=True)
class AuditContext:
    origin: str = Origin.SYSTEM
    reason: str = ""
    user: object | None = None  # django User or None
    actor: str = ""  # display name: username or "svc:<account>"
    correlation_id: str = ""
    request: object | None = None  # the HTTP request, whose user DRF may authenticate later

    def effective_user(self):
        user = self.user
        if (user is None or not getattr(user, "is_authenticated", False)) and self.request is not None:
            user = getattr(self.request, "user", None)
        return user if user is not None and getattr(user, "is_authenticated", False) else None

    def effective_actor(self) -> str:
        return self.actor or actor_name(self.effective_user())


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("mdm_audit", default=None)
_task_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("mdm_task_cid", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current() -> AuditContext | None:
    return _current.get()


def actor_name(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    account = getattr(user, "service_account", None) if hasattr(user, "service_account") else None
    if account is not None:
        return f"svc:{account.name}"
    return user.get_username()


@contextmanager
def audit_context(*, origin: str, reason: str = "", user=None, correlation_id: str | None = None, request=None):
    """Run a block as one audited action.  Nested contexts inherit the
    correlation id (and user) unless they name their own."""
    outer = _current.get()
    cid = correlation_id or (outer.correlation_id if outer else None) or _task_correlation.get() or new_correlation_id()
    if outer is not None:
        user = user if user is not None else outer.user
        request = request if request is not None else outer.request
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    ctx = AuditContext(
        origin=str(origin), reason=reason, user=user, actor=actor_name(user), correlation_id=cid, request=request
    )
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


@contextmanager
def reason(text: str):
    """Refine the reason for a nested step without changing anything else."""
    outer = _current.get() or AuditContext()
    token = _current.set(replace(outer, reason=text))
    try:
        yield
    finally:
        _current.reset(token)


def bind_task_correlation(cid: str | None) -> None:
    _task_correlation.set(cid)


def require_context() -> AuditContext:
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("master data changed outside an audit_context(); every write must say who and why")
    return ctx


def history_attrs() -> dict:
    """Values for the audit columns of a history row (also used by the
    ``*_with_history`` bulk helpers)."""
    ctx = _current.get() or AuditContext()
    return {
        "history_origin": ctx.origin,
        "history_correlation_id": ctx.correlation_id,
        "history_actor": ctx.effective_actor(),
    }
