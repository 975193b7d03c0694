"""The seam between the hub and the matching engine (``mdm.matching``).

Ingest asks ``find_candidates`` for golden records that may be the same
thing as an incoming record; the golden build keeps each golden's blocking
keys in ``BlockingKey`` so that look-up is an indexed query, not a rescan."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from dataclasses import dataclass, field

from mdm.choices import MatchDecision
from mdm.models import BlockingKey, MatchParams, golden_model
from mdm.services.identifier_matcher import IdentifierMatcher

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


SHIPPED_PARAMS = Path(__file__).resolve().parent.parent / "matching" / "params"


def matcher_for(entity_type: str):
    """The engine for an entity type: the newest active learned parameters
    (``fit_matching``, stewards' labels), else the shipped defaults, else
    deterministic identifier matching (entity types too small to learn from)."""
    from mdm.matching import Matcher

    now = time.monotonic()
    hit = _matchers.get(entity_type)
    if hit and now - hit[0] < _TTL:
        return hit[1]
    row = MatchParams.objects.filter(entity_type=entity_type, active=True).order_by("-created_at").first()
    shipped = SHIPPED_PARAMS / f"{entity_type}.json"
    if row is not None:
        matcher = Matcher.from_dict(row.params)
    elif shipped.exists():
        matcher = Matcher.from_dict(json.loads(shipped.read_text()))
    else:
        matcher = IdentifierMatcher(entity_type)
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
