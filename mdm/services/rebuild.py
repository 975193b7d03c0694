"""Recomputing golden records after a rule change, in chunks with progress."""

from __future__ import annotations

from typing import Callable

from django.db import transaction

from mdm.audit import audit_context
from mdm.choices import LifecycleState, Origin
from mdm.models import golden_model
from mdm.services.batch import rebuild_goldens

CHUNK = 500


def rebuild_entity_type(entity_type: str, *, reason: str = "survivorship rules changed", user=None,
                        progress: Callable[[int, int], None] | None = None, chunk: int = CHUNK) -> dict:
    """Rebuild every live golden record of ``entity_type`` under the current
    rules.  Each chunk commits on its own, so a long run makes steady progress
    and a failure loses at most one chunk of work (which a re-run redoes:
    the build is deterministic)."""
    model = golden_model(entity_type)
    ids = list(model.objects.filter(state__in=(LifecycleState.PENDING, LifecycleState.APPROVED))
               .order_by("pk").values_list("pk", flat=True))
    total, done, changed = len(ids), 0, 0
    with audit_context(origin=Origin.SYSTEM, reason=reason, user=user):
        for start in range(0, total, chunk):
            part = ids[start:start + chunk]
            with transaction.atomic():
                changed += rebuild_goldens(entity_type, part)
            done += len(part)
            if progress:
                progress(done, total)
    return {"total": total, "changed": changed}
