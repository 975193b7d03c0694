"""The seam between the hub and the matching engine (``mdm.matching``).

Ingest asks ``find_candidates`` for golden records that may be the same
thing as an incoming record; the golden build keeps each golden's blocking
keys in ``BlockingKey`` so that look-up is an indexed query, not a rescan."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from mdm.choices import MatchDecision
from mdm.models import BlockingKey, MatchParams, golden_model

CANDIDATE_LIMIT = 200  # most golden records scored for one incoming record


@dataclass
class Candidate:
    golden_id: object
    score: float
    decision: str
    explanation: list = field(default_factory=list)


_matchers: dict[str, tuple[float, object]] = {}
_lock = threading.Lock()
_TTL = 30.0


def invalidate_cache(*_args, **_kwargs) -> None:
    with _lock:
        _matchers.clear()


def matcher_for(entity_type: str):
    """The engine for an entity type, with its learned parameters if any."""
    try:
        from mdm.matching.engine import Matcher
        from mdm.matching.spec import builtin_spec
    except ImportError:
        from mdm.services._interim_matcher import Matcher, builtin_spec

    now = time.monotonic()
    hit = _matchers.get(entity_type)
    if hit and now - hit[0] < _TTL:
        return hit[1]
    row = MatchParams.objects.filter(entity_type=entity_type, active=True).order_by("-created_at").first()
    matcher = Matcher(builtin_spec(entity_type), params=row.params if row else None)
    with _lock:
        _matchers[entity_type] = (now, matcher)
    return matcher


def blocking_keys(entity_type: str, values: dict) -> list[str]:
    keys = matcher_for(entity_type).blocking_keys(_as_strings(values))
    return sorted({k[:160] for k in keys if k})


def _as_strings(values: dict) -> dict:
    return {k: (None if val is None else str(val)) for k, val in values.items()}


def find_candidates(entity_type: str, values: dict, *, exclude=()) -> list[Candidate]:
    """Golden records (not merged or retired) sharing a blocking key with
    ``values``, scored and sorted best first; ``new`` decisions are dropped."""
    from mdm.services.golden import golden_values

    keys = blocking_keys(entity_type, values)
    if not keys:
        return []
    ids = list(
        BlockingKey.objects.filter(entity_type=entity_type, key__in=keys)
        .exclude(golden_id__in=list(exclude))
        .values_list("golden_id", flat=True)
        .distinct()[: CANDIDATE_LIMIT * 4]
    )
    if not ids:
        return []
    model = golden_model(entity_type)
    matcher = matcher_for(entity_type)
    record = _as_strings(values)
    out = []
    for golden in model.objects.filter(pk__in=ids, state__in=("pending", "approved"))[:CANDIDATE_LIMIT]:
        score, explanation = matcher.score(record, _as_strings(golden_values(golden)))
        decision = matcher.decide(score)
        if decision != MatchDecision.NEW:
            out.append(Candidate(golden.pk, float(score), decision, _jsonable(explanation)))
    out.sort(key=lambda c: (-c.score, str(c.golden_id)))
    return out


def score_goldens(entity_type: str, a, b) -> tuple[float, list]:
    from mdm.services.golden import golden_values

    matcher = matcher_for(entity_type)
    score, explanation = matcher.score(_as_strings(golden_values(a)), _as_strings(golden_values(b)))
    return float(score), _jsonable(explanation)


def _jsonable(explanation) -> list:
    out = []
    for item in explanation or []:
        if hasattr(item, "to_dict"):
            out.append(item.to_dict())
        elif hasattr(item, "__dataclass_fields__"):
            from dataclasses import asdict

            out.append(asdict(item))
        else:
            out.append(item)
    return out
