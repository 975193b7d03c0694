"""Shared fixtures: the seeded systems, an audit context, the demo people."""

from __future__ import annotations

import os

import pytest

from mdm.audit import audit_context
from mdm.choices import Origin

CI = os.environ.get("CI", "").lower() == "true"


def require_service(name: str, available: bool, why: str = "") -> None:
    """Skip a test that needs a service that is not running — except under
    CI=true, where a missing service is a failure."""
    if available:
        return
    message = f"{name} is not available{': ' + why if why else ''}"
    if CI:
        pytest.fail(message + " (CI=true: services are required)")
    pytest.skip(message)


@pytest.fixture
def seeded(db):
    from mdm.services.setup import seed_defaults

    seed_defaults()
    from mdm.models import SourceSystem

    return {s.code: s for s in SourceSystem.objects.all()}


@pytest.fixture
def ctx(db):
    with audit_context(origin=Origin.IMPORT, reason="test") as c:
        yield c


@pytest.fixture
def people(db):
    from mdm.services.accounts import ensure_groups

    ensure_groups()
    from django.contrib.auth.models import Group, User

    out = {}
    for name, group in (("alice", "steward"), ("bob", "approver"), ("carol", "auditor"), ("dave", "admin")):
        user = User.objects.create_user(name, password="pw-" + name, is_staff=(group == "admin"),
                                        is_superuser=(group == "admin"))
        user.groups.add(Group.objects.get(name=group))
        out[name] = user
    return out


def pytest_collection_modifyitems(config, items):
    """Integration, browser and Tryton tests need real services; they run when
    MDM_INTEGRATION=1 (as ``.ci/run`` does) and are left out otherwise."""
    if os.environ.get("MDM_INTEGRATION") == "1":
        return
    keep, drop = [], []
    for item in items:
        (drop if any(item.get_closest_marker(m) for m in ("integration", "browser", "tryton")) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
