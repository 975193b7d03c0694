"""People and machines: the four roles and service accounts."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group, User
from django.db import transaction
from knox.models import AuthToken

from mdm.audit import audit_context, reason as audit_reason
from mdm.choices import Origin
from mdm.models import ServiceAccount, SourceSystem

ROLES = ("steward", "approver", "auditor", "admin")


def ensure_groups() -> None:
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def roles_of(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    names = {g.name for g in user.groups.all()}
    if user.is_superuser:
        names.add("admin")
    return names


@transaction.atomic
def create_service_account(*, name: str, system_code: str, entity_types=(), expires_days: int | None = None,
                           can_read_pending: bool = False, actor=None) -> tuple[ServiceAccount, str]:
    """Create (or reuse) a system's service account and issue a new token.
    Returns the account and the token in clear — shown once, stored hashed."""
    system = SourceSystem.objects.get(code=system_code)
    with audit_context(origin=Origin.SYSTEM, reason=f"service account {name} for {system_code}", user=actor):
        account = ServiceAccount.objects.filter(name=name).first()
        if account is None:
            user = User.objects.create_user(username=f"svc-{name}", password=None)
            account = ServiceAccount(name=name, user=user, system=system)
        elif account.system_id != system.pk:
            raise ValueError(f"service account {name} belongs to system {account.system.code}")
        account.entity_types = sorted(set(entity_types))
        account.can_read_pending = can_read_pending
        account.active = True
        with audit_reason(f"service account {name} saved"):
            account.save()
        ttl = dt.timedelta(days=expires_days) if expires_days else None
        _, token = AuthToken.objects.create(user=account.user, expiry=ttl)
    return account, token
