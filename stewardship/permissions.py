"""Who may do what in the workbench.

Roles are Django groups (``mdm.services.accounts.ROLES``): stewards decide
duplicates, edit, retire and split; approvers approve; auditors read
everything and change nothing; admins may do all of it.  Every view that
changes data is wrapped in ``requires``: a refused POST answers 403 whatever
the page showed, so hiding a button is never the only protection."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from mdm.services.accounts import roles_of

STEWARD, APPROVER, AUDITOR, ADMIN = "steward", "approver", "auditor", "admin"


@dataclass(frozen=True)
class Abilities:
    """What the signed-in person may do; templates read ``can.steward`` etc."""

    roles: frozenset

    @property
    def steward(self) -> bool:
        return bool(self.roles & {STEWARD, ADMIN})

    @property
    def approve(self) -> bool:
        return bool(self.roles & {APPROVER, ADMIN})

    @property
    def write(self) -> bool:
        return self.steward or self.approve

    @property
    def read_only(self) -> bool:
        return not self.write

    @property
    def label(self) -> str:
        order = (ADMIN, STEWARD, APPROVER, AUDITOR)
        names = [r for r in order if r in self.roles]
        return ", ".join(names) if names else "no role"


def abilities(request) -> Abilities:
    cached = getattr(request, "_mdm_abilities", None)
    if cached is None:
        cached = Abilities(frozenset(roles_of(request.user)))
        request._mdm_abilities = cached
    return cached


def requires(ability: str):
    """Decorator for views that change data: login, then the ability
    (``steward`` or ``approve``), else 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not getattr(abilities(request), ability):
                raise PermissionDenied(f"Your role ({abilities(request).label}) may not do this.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
